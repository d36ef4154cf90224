// The vocabulary of the safety layer: what is checked, what can happen, and what a check returns.
// The categories are config vocabulary too ([safety] categories), so config/schema.ts holds the list.
import { SAFETY_CATEGORIES } from "../../config/schema.ts";

export { SAFETY_CATEGORIES };

export type SafetyCategory = (typeof SAFETY_CATEGORIES)[number];

/**
 * allowed: nothing matched. redirected: a risky request (input) gets a redirect line instead of
 * the model's answer. care: distress or self-harm (input) gets a care line and a parent alert.
 * blocked: an unsafe model sentence (output) is not spoken.
 */
export type SafetyAction = "allowed" | "redirected" | "blocked" | "care";

export type SafetyStage = "input" | "output";

export interface SafetyVerdict {
  verdict: SafetyAction;
  stage: SafetyStage;
  category?: SafetyCategory;
  /** Id of the deciding rule ("fire.ignite", "policy.blocked_phrase"), for logs and tests. */
  rule?: string;
  /** The category's score against the threshold (1 standard, 0.5 strict); absent when allowed. */
  score?: number;
}

export interface SafetyPolicy {
  /** Categories checked; default all. */
  categories?: SafetyCategory[];
  /** "strict" also flags milder matches (a risky word without a request around it); default "standard". */
  level?: "standard" | "strict";
  /** Extra words or phrases a parent or a role blocks (matched after the same normalization). */
  blockedPhrases?: string[];
}
