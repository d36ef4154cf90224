// The two checks: checkInput on every transcript before the LLM sees it, checkOutput on every
// model sentence before it is spoken or sent. Pure functions: normalize, mask benign idioms,
// match the rules of the enabled categories, score per category, decide.
import { normalize } from "./normalize.ts";
import { ADVICE_CUE, BENIGN_MASK, INSTRUCTION_CUE, REQUEST_CUE, RULES, type Rule } from "./rules.ts";
import { SAFETY_CATEGORIES, type SafetyCategory, type SafetyPolicy, type SafetyStage, type SafetyVerdict } from "./types.ts";

const THRESHOLD = { standard: 1, strict: 0.5 } as const;

/** A topic word plus a request (input) or an instruction (output) counts as much as a full rule. */
const CUE_BONUS = 0.5;

/** Categories where safety advice ("never play with matches", "say no and find your grown-up") excuses a match. */
const ADVICE_EXCUSES = new Set<SafetyCategory>(["fire", "weapons", "poison", "danger", "drugs", "violence", "strangers", "personal_info", "self_harm"]);

// Rules per stage, compiled once.
const BY_STAGE: Record<SafetyStage, Rule[]> = {
  input: RULES.filter((r) => r.stage !== "output"),
  output: RULES.filter((r) => r.stage !== "input"),
};

/**
 * The rules a text matches: `normalized` is what the rules saw (benign idioms masked as "xx"),
 * `unmasked` the normalized text before masking. Exported for debugging and the bench.
 */
export function matchRules(text: string, stage: SafetyStage, categories?: ReadonlySet<SafetyCategory>): { normalized: string; unmasked: string; matches: Rule[] } {
  const unmasked = normalize(text);
  const normalized = unmasked.replace(BENIGN_MASK, " xx ");
  const matches: Rule[] = [];
  for (const r of BY_STAGE[stage]) {
    if (categories && !categories.has(r.category)) continue;
    if (r.patterns.every((p) => p.test(normalized))) matches.push(r);
  }
  return { normalized, unmasked, matches };
}

// Normalized blocked phrases, cached per policy object.
const phraseCache = new WeakMap<string[], RegExp | null>();
function blockedPhraseRe(phrases: string[] | undefined): RegExp | null {
  if (!phrases?.length) return null;
  let re = phraseCache.get(phrases);
  if (re === undefined) {
    const alts = phrases.map((p) => normalize(p)).filter(Boolean).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    // Latin phrases match whole words; Chinese ones anywhere.
    re = alts.length ? new RegExp(alts.map((a) => (/^[a-z0-9 ]+$/.test(a) ? `\\b${a}\\b` : a)).join("|")) : null;
    phraseCache.set(phrases, re);
  }
  return re;
}

function check(text: string, stage: SafetyStage, policy: SafetyPolicy = {}): SafetyVerdict {
  const threshold = THRESHOLD[policy.level ?? "standard"];
  const enabled = policy.categories ? new Set(policy.categories) : undefined;
  const { normalized, unmasked, matches } = matchRules(text, stage, enabled);

  const phrases = blockedPhraseRe(policy.blockedPhrases);
  const blockedByPolicy = phrases !== null && phrases.test(unmasked); // a parent may block "fire truck" too

  if (matches.length === 0) {
    if (blockedByPolicy) return { verdict: stage === "input" ? "redirected" : "blocked", stage, rule: "policy.blocked_phrase", score: 1 };
    return { verdict: "allowed", stage };
  }

  const cue = (stage === "input" ? REQUEST_CUE : INSTRUCTION_CUE).test(normalized);
  // Safety advice excuses a model sentence ("never play with matches"), and a child's sentence
  // only when it asks for nothing ("mom says I shouldn't share my address online").
  const advice = (stage === "output" || !cue) && ADVICE_CUE.test(normalized);

  let best: { category: SafetyCategory; score: number; rule: Rule } | undefined;
  for (const category of SAFETY_CATEGORIES) {
    const own = matches.filter((r) => r.category === category);
    if (own.length === 0) continue;
    // Topic rules often fire on the same word ("kill" and "kill people"), so together they count once.
    const weak = own.filter((r) => r.weight < 1);
    let score = own.reduce((s, r) => s + (r.weight < 1 ? 0 : r.weight), 0) + Math.max(0, ...weak.map((r) => r.weight));
    if (cue && weak.length) score += CUE_BONUS;
    // A child's distress is never excused ("uncle touches me and says I can't tell anyone").
    if (advice && ADVICE_EXCUSES.has(category) && !(stage === "input" && category === "self_harm")) score -= 1;
    if (score < threshold) continue;
    const decisive = own.reduce((a, b) => (b.weight > a.weight ? b : a));
    // Distress always wins: a child who says "I want to die" gets care, whatever else they said.
    if (category === "self_harm" && stage === "input") return { verdict: "care", stage, category, rule: decisive.id, score };
    if (!best || score > best.score) best = { category, score, rule: decisive };
  }
  if (best) return { verdict: stage === "input" ? "redirected" : "blocked", stage, category: best.category, rule: best.rule.id, score: best.score };
  if (blockedByPolicy) return { verdict: stage === "input" ? "redirected" : "blocked", stage, rule: "policy.blocked_phrase", score: 1 };
  return { verdict: "allowed", stage };
}

/** A child's transcript: risky request -> "redirected", distress or self-harm -> "care", else "allowed". */
export function checkInput(text: string, policy?: SafetyPolicy): SafetyVerdict {
  return check(text, "input", policy);
}

/** One model sentence: unsafe -> "blocked" (it must not be spoken or sent), else "allowed". */
export function checkOutput(sentence: string, policy?: SafetyPolicy): SafetyVerdict {
  return check(sentence, "output", policy);
}

/**
 * The first clause of a sentence that is still being written, before it is spoken early: a clause
 * alone can hide where its sentence is going ("A little wine won't hurt you, ..."), so it must pass
 * the strict level (a risky word alone counts). One that fails simply waits for its whole sentence.
 */
export function checkEarlyClause(clause: string, policy?: SafetyPolicy): SafetyVerdict {
  return check(clause, "output", { ...policy, level: "strict" });
}
