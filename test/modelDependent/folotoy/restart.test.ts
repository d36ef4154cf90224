// Conversations are stored data: after a restart a toy's conversation continues with its
// history, the console still lists the turns from before, and erasing a toy's history removes it
// from disk. A whole Hearth (startHearth) is restarted on the same state folder.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simulateToy } from "../../../scripts/lib/toy-simulator.ts";
import { startHearth, type Hearth } from "../../../src/app.ts";
import { testConfig } from "../../support/hearth.ts";
import { freePort, REPLY, TEST_ROLES, UTT } from "./helpers.ts";

const stateDir = mkdtempSync(join(tmpdir(), "hearth-restart-"));
let running: Hearth | undefined;
afterAll(async () => {
  await running?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

test("after a restart the toy's conversation continues, old turns are listed, and erasing the toy removes it from disk", async () => {
  const sn = "aabbccddee20";
  const config = testConfig({ HEARTH_STATE_DIR: stateDir, HEARTH_MQTT_PORT: String(await freePort()) });
  writeFileSync(config.toy.roles_file, JSON.stringify(TEST_ROLES));
  const key = { frontEnd: "folotoy", device: sn, role: "1" };

  running = await startHearth(config);
  const mqtt = `mqtt://127.0.0.1:${running.folotoy.mqttPort}`;
  const before = await simulateToy({ mqtt, sn, role: 1, files: [UTT(1)], pace: 4, noDownload: true });
  expect(before.turns[0]!.ok).toBe(true);
  await running.stop();
  running = undefined;

  running = await startHearth(config);
  const listed = (await (await fetch(`${running.url}/api/turns`)).json()).data as any[];
  expect(listed.filter((t) => t.sn === sn).map((t) => t.reply)).toEqual([REPLY]);
  const after = await simulateToy({ mqtt, sn, role: 1, files: [UTT(2)], pace: 4, noDownload: true });
  expect(after.turns[0]!.ok).toBe(true);
  const history = running.pipeline.conversations.history(key);
  expect(history.length).toBe(2);
  expect(history[0]!.user.toLowerCase()).toContain("rabbit"); // utt01, spoken before the restart
  expect(history.map((e) => e.assistant)).toEqual([REPLY, REPLY]);

  const files = () => readdirSync(join(stateDir, "conversations")).filter((f) => f.includes(sn));
  expect(files().length).toBe(1);
  const erased = await fetch(`${running.url}/api/history/folotoy/${sn}`, { method: "DELETE" });
  expect(erased.status).toBe(200);
  expect((await erased.json()).erased).toBeGreaterThanOrEqual(4); // 2 exchanges + 2 turns
  expect(files()).toEqual([]);
  const turnsFile = join(stateDir, "conversations", "turns.jsonl");
  expect(existsSync(turnsFile) ? readFileSync(turnsFile, "utf8") : "").not.toContain(sn);
  const remaining = (await (await fetch(`${running.url}/api/turns`)).json()).data as any[];
  expect(remaining.some((t) => t.sn === sn)).toBe(false);
  expect(running.pipeline.conversations.history(key)).toEqual([]);
}, 120_000);
