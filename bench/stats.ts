// Small statistics for a noisy machine: medians with min/max, paired (same-round) ratios and
// differences, and the A B A B interleaving every server-vs-floor comparison uses.

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stat(values: number[]): Stat {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

/** Per-round ratios a[i] / b[i]: both sides of a round ran back to back, under the same load. */
export function pairedRatios(a: number[], b: number[]): number[] {
  return a.map((x, i) => x / b[i]!);
}

export function pairedDiffs(a: number[], b: number[]): number[] {
  return a.map((x, i) => x - b[i]!);
}

/**
 * Runs `warmup` unrecorded rounds, then `runs` rounds of A then B (A B A B ...), so both sides
 * of each pair see the same moment of this shared machine's load.
 */
export async function interleave<A, B>(runs: number, warmup: number, a: (round: number) => Promise<A>, b: (round: number) => Promise<B>): Promise<{ a: A[]; b: B[] }> {
  for (let i = 0; i < warmup; i++) {
    await a(-1 - i);
    await b(-1 - i);
  }
  const as: A[] = [];
  const bs: B[] = [];
  for (let i = 0; i < runs; i++) {
    as.push(await a(i));
    bs.push(await b(i));
  }
  return { a: as, b: bs };
}

export const now = () => performance.now();

export function round(n: number, digits = 1): number {
  if (!Number.isFinite(n)) return n;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** "412 (380–455)" with a sensible number of digits for the magnitude. */
export function fmt(s: Stat | undefined, unit = ""): string {
  if (!s || s.n === 0) return "-";
  const one = (x: number) => fmtNumber(x);
  const u = unit ? ` ${unit}` : "";
  return s.n === 1 ? `${one(s.median)}${u}` : `${one(s.median)}${u} (${one(s.min)}–${one(s.max)})`;
}

export function fmtNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

/** A JSON-friendly copy with rounded numbers. */
export function statJson(s: Stat | undefined, digits = 3) {
  if (!s) return undefined;
  return { median: round(s.median, digits), min: round(s.min, digits), max: round(s.max, digits), n: s.n };
}
