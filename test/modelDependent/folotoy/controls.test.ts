// Parental controls end to end: the console's route switches a toy's AI off, and the real toy
// then hears the resting line instead of an answer; a bad setting is a 400 naming the field.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { simulateToy } from "../../../scripts/lib/toy-simulator.ts";
import type { Hearth } from "../../../src/app.ts";
import { startTestHearth } from "../../support/hearth.ts";
import { TEST_ROLES, UTT, waitFor } from "./helpers.ts";

let hearth: Hearth;
beforeAll(async () => {
  hearth = await startTestHearth();
  writeFileSync(hearth.config.toy.roles_file, JSON.stringify(TEST_ROLES));
  hearth.pipeline.roles.reload();
}, 120_000);
afterAll(() => hearth?.stop());

test("a toy whose AI the parent switched off says it is resting, and the turn log says why", async () => {
  const sn = "aabbccddee40";
  const url = `${hearth.url}/api/devices/folotoy/${sn}/controls`;
  const bad = await fetch(url, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ quietHours: [{ from: "8pm", to: "07:00" }] }) });
  expect(bad.status).toBe(400);
  expect((await bad.json()).error.param).toBe("quietHours.0.from");

  const put = await fetch(url, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ nickname: "Bunny", aiEnabled: false }) });
  expect(put.status).toBe(200);
  expect(await put.json()).toMatchObject({ controls: { nickname: "Bunny", aiEnabled: false }, paused: "resting" });

  const result = await simulateToy({ mqtt: `mqtt://127.0.0.1:${hearth.folotoy.mqttPort}`, sn, role: 1, files: [UTT(1)], pace: 4, noDownload: true });
  expect(result.turns[0]!.ok).toBe(true);
  expect(result.turns[0]!.total).toBe(1);
  await waitFor(() => hearth.pipeline.conversations.turns({ device: sn }).length > 0, 10_000, "the turn record");
  const record = hearth.pipeline.conversations.turns({ device: sn })[0] as any;
  expect(record).toMatchObject({ outcome: "paused", transcript: "", sentences: [{ text: "I'm having a little rest right now. Let's talk later!" }] });
  const toys = (await (await fetch(`${hearth.url}/api/toys`)).json()).data as any[];
  expect(toys.find((t) => t.sn === sn)).toMatchObject({ nickname: "Bunny", frontEnd: "folotoy" });
}, 60_000);
