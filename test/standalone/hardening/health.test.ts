// Issue 11, item 9: /health's extra checks (state can be written, turns are not all failing) and
// who may read /metrics, as pure functions; test/modelDependent/hardening covers them over HTTP.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Unauthorized } from "../../../src/errors.ts";
import { checkMetricsAccess, FAILED_TURNS_IN_A_ROW, failingTurns, StateProbe } from "../../../src/health.ts";

test("the state probe writes a file, and says so when it cannot", () => {
  const dir = mkdtempSync(join(tmpdir(), "hearth-probe-"));
  try {
    expect(new StateProbe(dir).problem()).toBeUndefined();
    const broken = join(dir, "state-is-a-file");
    writeFileSync(broken, "");
    expect(new StateProbe(broken).problem()).toContain(`the state folder ${broken} cannot be written`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${FAILED_TURNS_IN_A_ROW} recent turns failing in a row (not for load) make Hearth not ready`, () => {
  const now = 1_700_000_000_000;
  const failed = (ago: number, error = "decode failed: model file missing") => ({ at: now - ago, outcome: "failed", error });
  expect(failingTurns([failed(1000), failed(2000), failed(3000)], now)).toContain("the last 3 turns failed (the latest: decode failed");
  expect(failingTurns([{ at: now, outcome: "replied" }, failed(2000), failed(3000)], now)).toBeUndefined();
  expect(failingTurns([failed(1000, "the language model is busy (16 requests waiting)"), failed(2000), failed(3000)], now)).toBeUndefined();
  expect(failingTurns([failed(1000), failed(2000)], now)).toBeUndefined();
  expect(failingTurns([failed(3600_000), failed(3600_001), failed(3600_002)], now)).toBeUndefined(); // long ago: nothing recent to judge
});

test("/metrics: open without keys; with a metrics token or API keys, one of them is needed", () => {
  const req = (key?: string) => new Request("http://x/metrics", { headers: key ? { authorization: `Bearer ${key}` } : {} });
  expect(() => checkMetricsAccess(req(), [], "")).not.toThrow();
  expect(() => checkMetricsAccess(req(), [], "scrape")).toThrow(Unauthorized);
  expect(() => checkMetricsAccess(req("scrape"), [], "scrape")).not.toThrow();
  expect(() => checkMetricsAccess(req(), ["api-key"], "")).toThrow(Unauthorized);
  expect(() => checkMetricsAccess(req("api-key"), ["api-key"], "scrape")).not.toThrow();
  expect(() => checkMetricsAccess(req("nope"), ["api-key"], "scrape")).toThrow(Unauthorized);
});
