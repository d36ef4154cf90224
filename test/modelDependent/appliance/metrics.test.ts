// /metrics, scraped over HTTP from the whole app, reflects a conversation held by the toy simulator.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Hearth } from "../../../src/app.ts";
import { simulateToy } from "../../../scripts/lib/toy-simulator.ts";
import { AUDIO, startTestHearth } from "../../support/hearth.ts";

let hearth: Hearth;

beforeAll(async () => {
  hearth = await startTestHearth();
  // pin the random test model's reply to two sentences
  writeFileSync(hearth.config.toy.roles_file, JSON.stringify({ "1": { start_text: "Hi.", prompt: "You are a rabbit.", grammar: 'root ::= "I hop. I eat carrots."' } }));
  hearth.pipeline.roles.reload();
}, 120_000);

afterAll(async () => {
  await hearth?.stop();
});

function sample(text: string, name: string, labels: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

test("/metrics counts the simulated toy's turns and their stage latencies", async () => {
  const before = await (await fetch(`${hearth.url}/metrics`)).text();
  const result = await simulateToy({ mqtt: `mqtt://127.0.0.1:${hearth.folotoy.mqttPort}`, sn: "e465b82b9ec8", files: [join(AUDIO, "utt01.wav"), join(AUDIO, "utt04.wav")], pace: 0, noDownload: true });
  expect(result.ok).toBe(true);
  expect(result.turns.map((t) => t.audioplays.length)).toEqual([2, 2]);
  const after = await (await fetch(`${hearth.url}/metrics`)).text();
  expect(sample(after, "hearth_turns_total", 'source="folotoy"') - sample(before, "hearth_turns_total", 'source="folotoy"')).toBe(2);
  for (const stage of ["stt", "llm_first_token", "first_audio", "total"]) {
    const count = `hearth_stage_seconds_count`;
    expect(sample(after, count, `stage="${stage}",source="folotoy"`) - sample(before, count, `stage="${stage}",source="folotoy"`)).toBe(2);
  }
  expect(after).toMatch(/^hearth_process_resident_memory_bytes \d+/m);
  expect(after).toMatch(/^hearth_queue_depth\{engine="llm"\} \d+/m);
}, 60_000);
