// Whose settings apply to a turn. The parent's configuration is the only one that may relax
// the defaults; a role (a persona, a toy's character) may only make them stricter.
import { SAFETY_CATEGORIES, type SafetyPolicy } from "./types.ts";

/**
 * The policy for one turn: the parent's settings (default: every category, standard level),
 * made stricter by the role's. A role can add categories back, raise the level to "strict" and
 * add blocked phrases; it can never remove a category or lower the level the parent chose.
 */
export function effectivePolicy(parent: SafetyPolicy = {}, role: SafetyPolicy = {}): SafetyPolicy {
  const fromParent = parent.categories ?? [...SAFETY_CATEGORIES];
  const categories = SAFETY_CATEGORIES.filter((c) => fromParent.includes(c) || (role.categories ?? []).includes(c));
  const level = parent.level === "strict" || role.level === "strict" ? "strict" : "standard";
  const blockedPhrases = [...new Set([...(parent.blockedPhrases ?? []), ...(role.blockedPhrases ?? [])])];
  return { categories, level, blockedPhrases };
}
