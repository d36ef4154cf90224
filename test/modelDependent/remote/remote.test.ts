// A Hearth whose three engines are remote, against real engines: two llama.cpp llama-servers
// (Debian's package, scripts/llama-server.sh) serving the real tiny stories260K model as the LLM,
// and a second Hearth process (test profile) as the STT and TTS. It serves toys (the simulator)
// and the OpenAI API as a local Hearth does, and survives its upstreams dying, hanging, coming back
// and being overloaded: every toy turn is answered or gets the friendly line, none hangs, and no
// conversation gets another's reply.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI, { toFile } from "openai";
import type { Hearth } from "../../../src/app.ts";
import type { UpstreamStatus } from "../../../src/engines/remote/upstream.ts";
import { lineText } from "../../../src/pipeline/lines.ts";
import type { TurnRecord } from "../../../src/pipeline/types.ts";
import { SimToy, type SimTurn } from "../../../scripts/lib/toy-simulator.ts";
import { readAudioFile, transcripts, wordErrorRate } from "../../support/hearth.ts";
import { REPLY, REPLY_SENTENCES, UTT } from "../folotoy/helpers.ts";
import { installLlamaServer, remoteEnv, startFrontHearth, startLlamaServer, startUpstreamHearth, type Proc } from "./helpers.ts";

const PACE = 4; // the toy streams its speech at 4x real time
const TIMEOUT_S = 2; // [*] timeout_seconds of the front Hearth: a silent upstream is down after 2 s

let llamaA: Proc;
let llamaB: Proc;
let speech: Proc;
let front: Hearth;
let client: OpenAI;
let refs: Map<string, string>;
const toys: SimToy[] = [];

beforeAll(async () => {
  refs = await transcripts();
  await installLlamaServer();
  [llamaA, llamaB] = await Promise.all([startLlamaServer(), startLlamaServer()]);
  speech = await startUpstreamHearth();
  front = await startFrontHearth(remoteEnv([llamaA.url, llamaB.url], speech.url, TIMEOUT_S));
  client = new OpenAI({ baseURL: `${front.url}/v1`, apiKey: "unused", maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  for (const toy of toys) await toy.close();
  await front?.stop().catch(() => {});
  for (const p of [llamaA, llamaB, speech]) await p?.stop().catch(() => {});
});

async function health(): Promise<{ status: number; body: { status: string; reasons?: string[]; upstreams: Record<string, UpstreamStatus[]> } }> {
  const res = await fetch(`${front.url}/health`);
  return { status: res.status, body: await res.json() };
}

async function llmRequests(): Promise<Map<string, number>> {
  return new Map((await health()).body.upstreams.llm!.map((u) => [u.url, u.requests]));
}

/** Which LLM server got the requests made by `run` (by the per-upstream counts /health shows). */
async function servedBy(run: () => Promise<unknown>): Promise<Map<string, number>> {
  const before = await llmRequests();
  await run();
  const after = await llmRequests();
  return new Map([...after].map(([url, n]) => [url, n - (before.get(url) ?? 0)]));
}

async function toy(sn: string, role = 1): Promise<SimToy> {
  const t = new SimToy({ mqtt: `mqtt://127.0.0.1:${front.folotoy.mqttPort}`, sn });
  toys.push(t);
  await t.connect();
  await t.login(role);
  return t;
}

function lastTurn(sn: string): TurnRecord {
  return front.pipeline.conversations.turns({ limit: 100 }).find((t: any) => t.sn === sn) as unknown as TurnRecord;
}

function expectGoodTurn(turn: SimTurn, sn: string, sentences: string[]) {
  expect(turn.error).toBeUndefined();
  expect(turn.audioplays.map((a) => a.order)).toEqual(sentences.map((_, i) => i + 1));
  expect(turn.mp3s.map((m) => m.seconds > 0.05)).toEqual(sentences.map(() => true));
  const record = lastTurn(sn);
  expect(record.outcome).toBe("replied");
  expect(record.sentences.map((s) => s.text)).toEqual(sentences);
  expect(record.sentences.map((s) => s.url)).toEqual(turn.audioplays.map((a) => a.url)); // this toy got this turn's audio
}

function expectFallback(turn: SimTurn, sn: string) {
  expect(turn.error).toBeUndefined();
  expect(turn.audioplays.length).toBe(1);
  expect(turn.mp3s[0]!.seconds).toBeGreaterThan(0.05);
  const record = lastTurn(sn);
  expect(record.outcome).toBe("failed");
  expect(record.sentences).toMatchObject([{ order: 1, text: lineText("trouble", "en"), fallback: true }]);
}

const grammar = (text: string) => ({ grammar: `root ::= ${JSON.stringify(text)}` }) as {};

describe("a Hearth with remote engines serves what a local one does", () => {
  test("/health shows every upstream and its state; /v1/models names the remote models", async () => {
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(body.status).toBe("ok");
    expect(body.upstreams.llm!.map((u) => [u.url, u.state, u.server])).toEqual([
      [llamaA.url, "up", "llama.cpp"],
      [llamaB.url, "up", "llama.cpp"],
    ]);
    for (const engine of ["stt", "tts"]) expect(body.upstreams[engine]!.map((u) => [u.url, u.state, u.server])).toEqual([[speech.url, "up", "hearth"]]);
    const models = (await client.models.list()).data.map((m) => m.id);
    expect(models).toContain(front.engines.llm.id);
    expect(front.engines.llm.id).toContain("stories260K.gguf"); // what llama-server lists
    const upstreamVoices = ((await (await fetch(`${speech.url}/audio/voices`)).json()) as { voices: { id: string }[] }).voices.map((v) => v.id);
    expect(front.engines.tts.voices().map((v) => v.id)).toEqual(upstreamVoices);
    expect(front.engines.vad).toBeUndefined(); // no local recognizer, no local VAD
    const metrics = await (await fetch(`${front.url}/metrics`)).text();
    expect(metrics).toContain(`hearth_upstream_up{engine="llm",upstream="${llamaA.url}"} 1`);
    expect(metrics).toContain(`hearth_upstream_up{engine="stt",upstream="${speech.url}"} 1`);
  });

  test("chat completions, streamed and not, through llama-server: the grammar pins the text", async () => {
    const text = "Once upon a time, there was a cat.";
    const plain = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Tell me a story." }], max_tokens: 60, ...grammar(text) });
    expect(plain.choices[0]!.message.content).toBe(text);
    expect(plain.choices[0]!.finish_reason).toBe("stop");
    expect(plain.usage!.prompt_tokens).toBeGreaterThan(5);
    const stream = await client.chat.completions.create({ model: "gpt-4o-mini", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "Again!" }], ...grammar(text) });
    const deltas: string[] = [];
    let finish: string | null = null;
    let usage: unknown;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) deltas.push(chunk.choices[0].delta.content);
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage ??= chunk.usage;
    }
    expect(deltas.length).toBeGreaterThan(3); // streamed in pieces, as llama-server streams them
    expect(deltas.join("")).toBe(text);
    expect(finish).toBe("stop");
    expect(usage).toMatchObject({ completion_tokens: expect.any(Number) });
    // JSON schema goes to llama-server as response_format, which enforces it
    const pet = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "A pet" }],
      max_tokens: 80,
      response_format: { type: "json_schema", json_schema: { name: "pet", schema: { type: "object", properties: { pet: { enum: ["cat", "dog"] } }, required: ["pet"], additionalProperties: false } } },
    });
    expect(["cat", "dog"]).toContain(JSON.parse(pet.choices[0]!.message.content!).pet);
  });

  test("transcription and speech through the other Hearth: the same text and audio as asking it directly", async () => {
    const bytes = await readAudioFile("utt01.wav");
    const viaFront = await client.audio.transcriptions.create({ file: await toFile(bytes, "utt01.wav", { type: "audio/wav" }), model: "whisper-1" });
    const direct = new OpenAI({ baseURL: speech.url, apiKey: "unused", maxRetries: 0 });
    const viaUpstream = await direct.audio.transcriptions.create({ file: await toFile(bytes, "utt01.wav", { type: "audio/wav" }), model: "whisper-1" });
    expect(viaFront.text).toBe(viaUpstream.text);
    expect(wordErrorRate(refs.get("utt01.wav")!, viaFront.text)).toBeLessThan(0.25);
    const verbose = await client.audio.transcriptions.create({ file: await toFile(bytes, "utt01.wav", { type: "audio/wav" }), model: "whisper-1", response_format: "verbose_json" });
    expect(verbose.language).toBe("english");
    expect(verbose.segments!.length).toBeGreaterThan(0);

    const input = "Hello there. How are you today?";
    const pcm = async (c: OpenAI) => new Uint8Array(await (await c.audio.speech.create({ model: "tts-1", voice: "alloy", input, response_format: "pcm" })).arrayBuffer());
    const [a, b] = [await pcm(client), await pcm(direct)];
    expect(a.length).toBeGreaterThan(24000); // over half a second at 24 kHz
    expect(Math.abs(a.length - b.length)).toBeLessThanOrEqual(2 * 48); // the same audio, give or take the resampler's edge
    const mp3 = await client.audio.speech.create({ model: "tts-1", voice: "alloy", input });
    expect(mp3.headers.get("content-type")).toBe("audio/mpeg");
    expect((await mp3.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  });

  test("a toy turn through the simulator: transcript, the role's reply sentence by sentence; the conversation stays on one LLM server", async () => {
    const t = await toy("remotetoy0001");
    const served = await servedBy(async () => {
      expectGoodTurn(await t.say(UTT(1), { pace: PACE }), "remotetoy0001", REPLY_SENTENCES);
      const first = lastTurn("remotetoy0001");
      expect(wordErrorRate(refs.get("utt01.wav")!, first.transcript)).toBeLessThan(0.25);
      expect(first.reply).toBe(REPLY);
      expectGoodTurn(await t.say(UTT(2), { pace: PACE }), "remotetoy0001", REPLY_SENTENCES);
    });
    expect([...served.values()].sort()).toEqual([0, 2]); // both turns on the same server (its prompt cache)
    const history = front.pipeline.conversations.history({ frontEnd: "folotoy", device: "remotetoy0001", role: "1" });
    expect(history.map((h) => h.assistant)).toEqual([REPLY, REPLY]);
  }, 60_000);

  test("concurrent requests spread over both LLM servers, and each gets its own answer", async () => {
    const served = await servedBy(async () => {
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Question ${i}` }], user: `kid-${i}`, ...grammar(`Answer number ${i}.`) }),
        ),
      );
      expect(answers.map((a) => a.choices[0]!.message.content)).toEqual(Array.from({ length: 8 }, (_, i) => `Answer number ${i}.`));
    });
    expect([...served.values()].every((n) => n > 0)).toBe(true);
  }, 30_000);
});

describe("upstreams dying, hanging, coming back, overloaded", () => {
  test("the LLM server a conversation is on dies: the next turn moves to the other and is answered; restarted, it is up again", async () => {
    const t = await toy("remotetoy0005");
    const first = await servedBy(async () => expectGoodTurn(await t.say(UTT(3), { pace: PACE }), "remotetoy0005", REPLY_SENTENCES));
    const ownUrl = [...first].find(([, n]) => n > 0)![0];
    const own = ownUrl === llamaA.url ? llamaA : llamaB;
    await own.kill();
    const second = await servedBy(async () => expectGoodTurn(await t.say(UTT(4), { pace: PACE }), "remotetoy0005", REPLY_SENTENCES));
    expect(lastTurn("remotetoy0005").outcome).toBe("replied");
    expect(second.get(own === llamaA ? llamaB.url : llamaA.url)).toBe(1);
    let h = await health();
    expect(h.status).toBe(200); // one LLM server is enough to serve
    expect(h.body.upstreams.llm!.find((u) => u.url === own.url)!.state).toBe("down");
    await own.restart();
    await waitForState(own.url, "up");
    h = await health();
    expect(h.body.upstreams.llm!.every((u) => u.state === "up")).toBe(true);
  }, 60_000);

  test(`a hung LLM server (SIGSTOP): the turn moves to the other one after ${TIMEOUT_S} s of silence`, async () => {
    const t = await toy("remotetoy0006");
    const first = await servedBy(async () => expectGoodTurn(await t.say(UTT(5), { pace: PACE }), "remotetoy0006", REPLY_SENTENCES));
    const own = [...first].find(([, n]) => n > 0)![0] === llamaA.url ? llamaA : llamaB;
    own.pause();
    try {
      const turn = await t.say(UTT(6), { pace: PACE });
      expectGoodTurn(turn, "remotetoy0006", REPLY_SENTENCES);
      expect(turn.timings.firstAudioplayMs!).toBeGreaterThan(TIMEOUT_S * 1000);
      expect(turn.timings.firstAudioplayMs!).toBeLessThan(TIMEOUT_S * 1000 + 8000);
    } finally {
      own.resume();
    }
    await waitForState(own.url, "up");
  }, 60_000);

  test("no LLM server at all: the toy hears the friendly line at once, /health says why; both back, turns are answered again", async () => {
    const t = await toy("remotetoy0007");
    expectGoodTurn(await t.say(UTT(7), { pace: PACE }), "remotetoy0007", REPLY_SENTENCES); // warms the role's fixed lines
    await Promise.all([llamaA.kill(), llamaB.kill()]);
    const turn = await t.say(UTT(8), { pace: PACE });
    expectFallback(turn, "remotetoy0007");
    expect(turn.timings.firstAudioplayMs!).toBeLessThan(4000);
    const h = await health();
    expect(h.status).toBe(503);
    expect(h.body.status).toBe("degraded");
    expect(h.body.reasons!.join(" ")).toContain("llm: no server is up");
    await Promise.all([llamaA.restart(), llamaB.restart()]);
    await waitForState(llamaA.url, "up");
    await waitForState(llamaB.url, "up");
    expectGoodTurn(await t.say(UTT(1), { pace: PACE }), "remotetoy0007", REPLY_SENTENCES);
  }, 60_000);

  test("the speech server (STT and TTS) dies: the friendly line from the cache; it returns: turns are answered again", async () => {
    const t = await toy("remotetoy0008");
    expectGoodTurn(await t.say(UTT(2), { pace: PACE }), "remotetoy0008", REPLY_SENTENCES);
    await speech.kill();
    const turn = await t.say(UTT(3), { pace: PACE });
    expectFallback(turn, "remotetoy0008");
    const h = await health();
    expect(h.status).toBe(503);
    expect(h.body.reasons!.join(" ")).toContain("stt: no server is up"); // (tts: at its next health check or request)
    await speech.restart();
    const until = Date.now() + 10_000;
    while ((await health()).status !== 200 && Date.now() < until) await Bun.sleep(100);
    expect((await health()).body.status).toBe("ok");
    expectGoodTurn(await t.say(UTT(4), { pace: PACE }), "remotetoy0008", REPLY_SENTENCES);
  }, 60_000);

  test("overloaded: six toys at once all get their own role's reply; an API flood past the queue gets 429s, the rest answers", async () => {
    const sns = Array.from({ length: 6 }, (_, i) => `remotetoyload${i}`);
    const all = await Promise.all(sns.map((sn, i) => toy(sn, (i % 2) + 1)));
    const turns = await Promise.all(all.map((t, i) => t.say(UTT((i % 8) + 1), { pace: PACE, replyTimeoutMs: 30_000 })));
    turns.forEach((turn, i) => expectGoodTurn(turn, sns[i]!, i % 2 === 0 ? REPLY_SENTENCES : ["Role two here."]));

    // 2 servers x 2 slots running + [llm] max_queue (16) waiting are admitted; the rest are refused at once
    const flood = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        client.chat.completions
          .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Q${i}` }], ...grammar(`A${i}.`) })
          .then((r) => r.choices[0]!.message.content, (e: InstanceType<typeof OpenAI.APIError>) => e.status),
      ),
    );
    const answered = flood.filter((r) => typeof r === "string");
    expect(flood.filter((r) => r === 429).length).toBeGreaterThan(0);
    expect(answered.length + flood.filter((r) => r === 429).length).toBe(40);
    flood.forEach((r, i) => typeof r === "string" && expect(r).toBe(`A${i}.`));
  }, 90_000);
});

async function waitForState(url: string, state: UpstreamStatus["state"]) {
  const until = Date.now() + 10_000;
  for (;;) {
    const u = Object.values((await health()).body.upstreams).flat().find((x) => x.url === url);
    if (u?.state === state) return;
    if (Date.now() > until) throw new Error(`${url} is ${u?.state}, not ${state}, after 10 s`);
    await Bun.sleep(100);
  }
}
