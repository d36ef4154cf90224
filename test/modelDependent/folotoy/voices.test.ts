// A toy on voices of two languages and rates (issues 17.1, 17.2): the `test-voices` profile's
// English voice (22.05 kHz) and Mandarin voice (8 kHz, like aishell3). A Chinese role's greeting
// and reply are spoken by the Mandarin voice and reach the toy as 16 kHz MP3 (never 8 kHz
// MPEG-2.5); an English role naming an OpenAI voice gets the English voice. Real engines, the
// embedded broker, UDP and HTTP; the simulator is the toy.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { decodeAudio } from "../../../src/audio/decode.ts";
import { readFileSync } from "node:fs";
import mqtt from "mqtt";
import { SimToy, simulateToy } from "../../../scripts/lib/toy-simulator.ts";
import { topics } from "../../../src/devices/folotoy/mqtt.ts";
import { testVoicesEngines } from "../../support/voice-fixtures.ts";
import { grammarFor, startTestToy, UTT, type TestToy } from "./helpers.ts";

const ZH_REPLY = "你好。我是小兔。";
const ROLES = {
  "1": { start_text: "你好，我是小兔。", prompt: "你是一只小兔子。", language: "zh", voice_name: "alloy", grammar: grammarFor(ZH_REPLY) },
  "2": { start_text: "Hello, I am an owl.", prompt: "You are an owl.", language: "en", voice_name: "alloy", grammar: grammarFor("Hello there.") },
  // a FoloToy role that names only its cloud voice and its provider settings
  "3": { start_text: "你好。", prompt: "你是一只熊猫。", tts_type: "edge-tts", tts_config: { voice_name: "zh-CN-XiaoxiaoNeural" }, grammar: grammarFor("好的。") },
};

let h: TestToy;

beforeAll(async () => {
  h = await startTestToy({ engines: testVoicesEngines, roles: ROLES });
}, 120_000);

afterAll(() => h?.stop());

async function rateOf(url: string): Promise<number> {
  return (await decodeAudio(new Uint8Array(await (await fetch(url)).arrayBuffer()))).sampleRate;
}

test("a Chinese role: the Mandarin 8 kHz voice, delivered to the toy as 16 kHz MP3 (greeting and reply)", async () => {
  const result = await simulateToy({ mqtt: h.mqttUrl, sn: "e465b82b9e01", role: 1, files: [UTT(1)], pace: 4 });
  const turn = result.turns[0]!;
  expect(turn.error).toBeUndefined();
  expect(turn.audioplays.map((a) => a.order)).toEqual([1, 2]);
  for (const m of turn.mp3s) {
    expect(m.error).toBeUndefined();
    expect(m.sampleRate).toBe(16000);
    expect(m.seconds).toBeGreaterThan(0.3);
  }
  expect(await rateOf(result.greetingUrl!)).toBe(16000);
  const record = h.turns(10).find((t) => t.sn === "e465b82b9e01")!;
  expect(record.reply).toBe("你好。 我是小兔。");
  expect(record.sentences.map((s) => s.text)).toEqual(["你好。", "我是小兔。"]);
}, 60_000);

test("an English role naming an OpenAI voice gets the English voice (22.05 kHz MP3s), not a Mandarin speaker", async () => {
  const result = await simulateToy({ mqtt: h.mqttUrl, sn: "e465b82b9e02", role: 2, files: [UTT(2)], pace: 4 });
  const turn = result.turns[0]!;
  expect(turn.error).toBeUndefined();
  expect(turn.mp3s.map((m) => m.sampleRate)).toEqual([22050]);
  expect(await rateOf(result.greetingUrl!)).toBe(22050);
}, 60_000);

test("a FoloToy role with only a cloud voice (zh-CN-...) speaks Chinese with the Mandarin voice", async () => {
  const result = await simulateToy({ mqtt: h.mqttUrl, sn: "e465b82b9e03", role: 3, files: [UTT(3)], pace: 4 });
  const turn = result.turns[0]!;
  expect(turn.error).toBeUndefined();
  expect(turn.mp3s.map((m) => m.sampleRate)).toEqual([16000]);
  expect(await rateOf(result.greetingUrl!)).toBe(16000);
}, 60_000);

test("an integration's iwantplay text in English for the Chinese role is said by the English voice, not dropped by the Mandarin one", async () => {
  const sn = "e465b82b9e04";
  const sim = new SimToy({ mqtt: h.mqttUrl, sn });
  await sim.connect();
  // integrations log in to the embedded broker with [mqtt] username and its password (generated when empty)
  const password = h.config.mqtt.password || readFileSync(`${h.config.state.dir}/mqtt-password`, "utf8").trim();
  const hub = await mqtt.connectAsync(h.mqttUrl, { clientId: "hubvoices", username: h.config.mqtt.username, password });
  try {
    await sim.login(1);
    const from = sim.commands.length;
    await hub.publishAsync(topics.sysCommandCall(sn), JSON.stringify({ msgId: 7, identifier: "iwantplay", inputParams: { role: 1, text: "Dinner is ready!" } }));
    const play = await sim.waitFor((c) => c.identifier === "iwantplay", 10_000, from);
    expect(await rateOf(play.inputParams.url)).toBe(22050);
    const from2 = sim.commands.length;
    await hub.publishAsync(topics.sysCommandCall(sn), JSON.stringify({ msgId: 8, identifier: "iwantplay", inputParams: { role: 1, text: "吃饭了！" } }));
    const zh = await sim.waitFor((c) => c.identifier === "iwantplay", 10_000, from2);
    expect(await rateOf(zh.inputParams.url)).toBe(16000);
  } finally {
    await hub.endAsync();
    await sim.close();
  }
}, 60_000);
