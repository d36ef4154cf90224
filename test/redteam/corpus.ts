// The red-team corpus: loading (with a schema check) and the rates the tests and the bench report.
//   prompts.jsonl / holdout.jsonl               {text, lang, category, style, expect}   -> checkInput
//   unsafe-outputs.jsonl / holdout-outputs.jsonl {text, lang, category, expect}          -> checkOutput
// The holdout files were split off (seeded, 25 % per language x category) before any rule was
// written, and no rule was changed because of them: see SAFETY.md.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkEarlyClause, checkInput, checkOutput } from "../../src/pipeline/safety/check.ts";
import { firstClauseOf, type FirstClause } from "../../src/pipeline/sentences.ts";
import { SAFETY_CATEGORIES, type SafetyCategory, type SafetyPolicy, type SafetyVerdict } from "../../src/pipeline/safety/types.ts";

export const REDTEAM_DIR = import.meta.dir;

export interface Prompt {
  text: string;
  lang: "en" | "zh";
  category: SafetyCategory | "benign";
  style: "direct" | "indirect" | "roleplay" | "stt" | "near_miss";
  expect: "redirected" | "care" | "allowed";
}

export interface ModelSentence {
  text: string;
  lang: "en" | "zh";
  category: SafetyCategory | "safe";
  expect: "blocked" | "allowed";
}

const STYLES = new Set(["direct", "indirect", "roleplay", "stt", "near_miss"]);
const CATEGORIES = new Set<string>(SAFETY_CATEGORIES);

function readJsonl(file: string): unknown[] {
  return readFileSync(join(REDTEAM_DIR, file), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l);
      } catch {
        throw new Error(`${file}:${i + 1}: not JSON`);
      }
    });
}

export function loadPrompts(file: string): Prompt[] {
  return readJsonl(file).map((x, i) => {
    const p = x as Prompt;
    const where = `${file}:${i + 1}`;
    if (typeof p.text !== "string" || !p.text.trim()) throw new Error(`${where}: text`);
    if (p.lang !== "en" && p.lang !== "zh") throw new Error(`${where}: lang ${p.lang}`);
    if (p.category !== "benign" && !CATEGORIES.has(p.category)) throw new Error(`${where}: category ${p.category}`);
    if (!STYLES.has(p.style)) throw new Error(`${where}: style ${p.style}`);
    const expect = p.category === "benign" ? "allowed" : p.category === "self_harm" ? "care" : "redirected";
    if (p.expect !== expect) throw new Error(`${where}: expect ${p.expect}, category ${p.category} needs ${expect}`);
    return p;
  });
}

export function loadModelSentences(file: string): ModelSentence[] {
  return readJsonl(file).map((x, i) => {
    const s = x as ModelSentence;
    const where = `${file}:${i + 1}`;
    if (typeof s.text !== "string" || !s.text.trim()) throw new Error(`${where}: text`);
    if (s.lang !== "en" && s.lang !== "zh") throw new Error(`${where}: lang ${s.lang}`);
    if (s.category !== "safe" && !CATEGORIES.has(s.category)) throw new Error(`${where}: category ${s.category}`);
    if (s.expect !== (s.category === "safe" ? "allowed" : "blocked")) throw new Error(`${where}: expect ${s.expect}`);
    return s;
  });
}

export interface Count {
  total: number;
  hit: number;
}
const rate = (c: Count) => (c.total ? c.hit / c.total : NaN);

export interface PromptRates {
  /** Risky prompts given the right action: "care" for self-harm, "redirected" for the rest. */
  risky: Count;
  /** Risky prompts not allowed, whatever the action. */
  riskyFlagged: Count;
  /** Benign prompts flagged (any verdict but "allowed"). */
  benignFlagged: Count;
  /** Self-harm prompts answered with "care". */
  selfHarmCare: Count;
  /** Risky prompts handled with the labelled category (the category picks the redirect line). */
  categoryRight: Count;
  byCategory: Record<SafetyCategory, Count>;
  byStyle: Record<string, Count>;
  misses: { text: string; category: string; expect: string; got: SafetyVerdict }[];
}

export function promptRates(prompts: Prompt[], policy?: SafetyPolicy): PromptRates {
  const c = (): Count => ({ total: 0, hit: 0 });
  const r: PromptRates = {
    risky: c(),
    riskyFlagged: c(),
    benignFlagged: c(),
    selfHarmCare: c(),
    categoryRight: c(),
    byCategory: Object.fromEntries(SAFETY_CATEGORIES.map((k) => [k, c()])) as Record<SafetyCategory, Count>,
    byStyle: {},
    misses: [],
  };
  for (const p of prompts) {
    const v = checkInput(p.text, policy);
    if (p.category === "benign") {
      r.benignFlagged.total++;
      if (v.verdict !== "allowed") {
        r.benignFlagged.hit++;
        r.misses.push({ text: p.text, category: p.category, expect: p.expect, got: v });
      }
      continue;
    }
    const ok = v.verdict === p.expect;
    r.risky.total++;
    r.riskyFlagged.total++;
    r.categoryRight.total++;
    r.byCategory[p.category].total++;
    const style = (r.byStyle[`${p.lang} ${p.style}`] ??= c());
    style.total++;
    if (ok) {
      r.risky.hit++;
      r.byCategory[p.category].hit++;
      style.hit++;
    } else r.misses.push({ text: p.text, category: p.category, expect: p.expect, got: v });
    if (v.verdict !== "allowed") r.riskyFlagged.hit++;
    if (ok && v.category === p.category) r.categoryRight.hit++;
    if (p.category === "self_harm") {
      r.selfHarmCare.total++;
      if (v.verdict === "care") r.selfHarmCare.hit++;
    }
  }
  return r;
}

export interface OutputRates {
  unsafeBlocked: Count;
  safeBlocked: Count;
  byCategory: Record<SafetyCategory, Count>;
  misses: { text: string; category: string; expect: string; got: SafetyVerdict }[];
}

export function outputRates(sentences: ModelSentence[], policy?: SafetyPolicy): OutputRates {
  const c = (): Count => ({ total: 0, hit: 0 });
  const r: OutputRates = { unsafeBlocked: c(), safeBlocked: c(), byCategory: Object.fromEntries(SAFETY_CATEGORIES.map((k) => [k, c()])) as Record<SafetyCategory, Count>, misses: [] };
  for (const s of sentences) {
    const v = checkOutput(s.text, policy);
    const blocked = v.verdict === "blocked";
    if (s.category === "safe") {
      r.safeBlocked.total++;
      if (blocked) r.safeBlocked.hit++;
    } else {
      r.unsafeBlocked.total++;
      r.byCategory[s.category].total++;
      if (blocked) {
        r.unsafeBlocked.hit++;
        r.byCategory[s.category].hit++;
      }
    }
    if (blocked !== (s.expect === "blocked")) r.misses.push({ text: s.text, category: s.category, expect: s.expect, got: v });
  }
  return r;
}

export interface EarlyClauseRates {
  /** Unsafe sentences (blocked whole) whose first clause would be spoken before the sentence ends. */
  unsafeClauseSpoken: Count;
  /** Safe sentences whose early clause the strict check holds back (they wait for the whole sentence). */
  safeClauseHeld: Count;
  leaks: string[];
}

/** What speaking the first clause early does to each model sentence, with the turn's rules (turn.ts). */
export function earlyClauseRates(sentences: ModelSentence[], firstClause: FirstClause, policy?: SafetyPolicy): EarlyClauseRates {
  const r: EarlyClauseRates = { unsafeClauseSpoken: { total: 0, hit: 0 }, safeClauseHeld: { total: 0, hit: 0 }, leaks: [] };
  for (const s of sentences) {
    const clause = firstClauseOf(s.text, SENTENCE_ENDS, firstClause);
    if (!clause) continue;
    const spoken = checkEarlyClause(clause, policy).verdict === "allowed";
    if (s.category === "safe") {
      r.safeClauseHeld.total++;
      if (!spoken) r.safeClauseHeld.hit++;
    } else if (checkOutput(s.text, policy).verdict === "blocked") {
      r.unsafeClauseSpoken.total++;
      if (spoken) {
        r.unsafeClauseSpoken.hit++;
        r.leaks.push(clause);
      }
    }
  }
  return r;
}

/** Sentence ends of the shipped [toy] sentence_separators (the clause marks are the early cut). */
const SENTENCE_ENDS = "！。？!.?";

export { rate };
export const pct = (c: Count) => `${(100 * rate(c)).toFixed(1)}% (${c.hit}/${c.total})`;
