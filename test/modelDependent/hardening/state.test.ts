// Issue 11, items 9 and 10: state written by a power cut in the middle of a write (torn JSON,
// half a line, an empty password file, stale temporary files) never stops a start, and /health
// stops saying "ok" once the state folder cannot be written.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_ROLES } from "../folotoy/helpers.ts";
import { expectStillServing, startChildHearth, type ChildHearth } from "./helpers.ts";

const SN = "e465b82b9ec8";
let h: ChildHearth | undefined;
afterAll(() => h?.stop());

test("a start after a power cut mid-write: torn tokens.json, roles.json, history and password file are set aside or skipped", async () => {
  const state = mkdtempSync(join(tmpdir(), "hearth-torn-"));
  const tokens = JSON.stringify({ version: 1, toys: { [SN]: { token: "00112233445566778899aabbccddeeff", role: 2, issuedAt: 1 } } });
  writeFileSync(join(state, "tokens.json"), tokens.slice(0, tokens.length / 2)); // cut mid-write
  writeFileSync(join(state, "tokens.json.tmp-4242-abcdefgh"), tokens); // the temporary file of a write that never got renamed
  writeFileSync(join(state, "roles.json"), JSON.stringify(TEST_ROLES).slice(0, 40));
  writeFileSync(join(state, "mqtt-password"), "");
  mkdirSync(join(state, "conversations"));
  const header = JSON.stringify({ v: 1, conversation: { frontEnd: "folotoy", device: SN, role: "1" } });
  const exchange = JSON.stringify({ at: Date.now(), user: "hello", assistant: "hi there" });
  writeFileSync(join(state, "conversations", `folotoy.${SN}.1.jsonl`), `${header}\n${exchange}\n{"at":17`);
  writeFileSync(join(state, "conversations", "turns.jsonl"), `{"id":"t1","at":${Date.now()},"key":{"frontEnd":"folotoy","device":"${SN}","role":"1"},"outcome":"replied"}\n\u0000\u0000garbage`);

  h = await startChildHearth({}, { stateDir: state, roles: null });
  expect((await h.health()).status).toBe(200);
  const names = readdirSync(state);
  expect(names.some((n) => n.startsWith("tokens.json.corrupt-"))).toBe(true); // kept aside for a person to look at
  expect(names.some((n) => n.includes(".tmp-"))).toBe(false);
  expect(h.integrationPassword().length).toBeGreaterThanOrEqual(20); // a new one instead of the empty file
  const turns = (await (await fetch(`${h.url}/api/turns`)).json()).data as { id: string }[];
  expect(turns.map((t) => t.id)).toContain("t1"); // the intact line survived, the torn one is skipped
  // the roles file is broken: the built-in roles answer, so any reply will do
  await expectStillServing(h, 900, { sn: SN, anyReply: true });
  expect(Object.keys(JSON.parse(readFileSync(join(state, "tokens.json"), "utf8")).toys)).toContain(SN); // written whole again
}, 120_000);

test("/health says 503 (not 200) once the state folder cannot be written", async () => {
  const state = h!.stateDir;
  const moved = `${state}-moved`;
  renameSync(state, moved);
  writeFileSync(state, "not a folder"); // every write under it now fails (even for root)
  try {
    await Bun.sleep(5_500); // the probe's answer is kept for 5 s
    const health = await h!.health();
    expect(health.status).toBe(503);
    expect(health.body.status).toBe("degraded");
    expect(health.body.reasons.join(" ")).toContain(`the state folder ${state} cannot be written`);
  } finally {
    rmSync(state, { force: true });
    renameSync(moved, state);
  }
  expect(existsSync(join(state, "tokens.json"))).toBe(true);
}, 30_000);
