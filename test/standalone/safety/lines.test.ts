import { describe, expect, test } from "bun:test";
import { allSafetyLines, checkInput, checkOutput, SAFETY_CATEGORIES, safetyLine } from "../../../src/pipeline/safety/index.ts";

const HAN = /\p{Script=Han}/u;

describe("safety lines", () => {
  for (const lang of ["en", "zh"]) {
    test(`${lang}: a redirect line for every category, and care and blocked lines`, () => {
      for (const c of SAFETY_CATEGORIES) {
        const line = safetyLine("redirect", c, lang);
        expect(line.length).toBeGreaterThan(10);
        expect(HAN.test(line)).toBe(lang === "zh");
      }
      for (const kind of ["care", "blocked"] as const) {
        const line = safetyLine(kind, undefined, lang);
        expect(line.length).toBeGreaterThan(10);
        expect(HAN.test(line)).toBe(lang === "zh");
      }
      expect(allSafetyLines(lang)).toContain(safetyLine("redirect", undefined, lang)); // the default, for blocked phrases
    });

    test(`${lang}: the lines are short, and never trip the checks themselves`, () => {
      for (const line of allSafetyLines(lang)) {
        expect(line.length).toBeLessThanOrEqual(lang === "zh" ? 50 : 130);
        expect({ line, v: checkOutput(line).verdict }).toEqual({ line, v: "allowed" });
        expect({ line, v: checkInput(line).verdict }).toEqual({ line, v: "allowed" });
      }
    });
  }

  test("care points to a trusted grown-up, in both languages", () => {
    expect(safetyLine("care", "self_harm", "en")).toContain("grown-up you trust");
    expect(safetyLine("care", "self_harm", "zh")).toContain("信任的大人");
  });

  test("pick chooses among variants and wraps; unknown languages get English; zh-TW gets Chinese", () => {
    const a = safetyLine("blocked", undefined, "en", 0);
    const b = safetyLine("blocked", undefined, "en", 1);
    expect(a).not.toBe(b);
    expect(safetyLine("blocked", undefined, "en", 3)).toBe(a);
    expect(safetyLine("blocked", undefined, "en", -1)).toBe(b);
    expect(safetyLine("redirect", "fire", "fr")).toBe(safetyLine("redirect", "fire", "en"));
    expect(safetyLine("redirect", "fire", "zh-TW")).toBe(safetyLine("redirect", "fire", "zh"));
  });

  test("allSafetyLines lists every line once, including each category's variants", () => {
    for (const lang of ["en", "zh"]) {
      const all = allSafetyLines(lang);
      expect(new Set(all).size).toBe(all.length);
      for (const c of SAFETY_CATEGORIES) for (let i = 0; i < 3; i++) expect(all).toContain(safetyLine("redirect", c, lang, i));
      for (let i = 0; i < 3; i++) {
        expect(all).toContain(safetyLine("care", undefined, lang, i));
        expect(all).toContain(safetyLine("blocked", undefined, lang, i));
      }
    }
  });
});
