// The remote engines' routing rules against real HTTP servers whose behaviour the test switches
// (test/standalone/remote/fake-upstream.ts): backpressure, failover, timeouts, stickiness, feature
// differences. The same engines against llama-server and a second Hearth: test/modelDependent/remote.
import { afterEach, describe, expect, test } from "bun:test";
import { RemoteLlm, type RemoteLlmSettings } from "../../../src/engines/llm/remote.ts";
import { RemoteStt } from "../../../src/engines/stt/remote.ts";
import { RemoteTts } from "../../../src/engines/tts/remote.ts";
import { BadRequest, Busy, NotReady } from "../../../src/errors.ts";
import { setLogLevel } from "../../../src/log.ts";
import { renderMetrics } from "../../../src/metrics.ts";
import { collectAudio } from "../../../src/pipeline/speak.ts";
import { closedPort, fakeUpstream, type FakeUpstream } from "./fake-upstream.ts";

setLogLevel("error");
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function upstreams(n: number, opts: Parameters<typeof fakeUpstream>[0] = {}): FakeUpstream[] {
  const list = Array.from({ length: n }, () => fakeUpstream(opts));
  cleanup.push(() => list.forEach((u) => u.close()));
  return list;
}

async function llm(urls: string[], settings: Partial<RemoteLlmSettings> = {}): Promise<RemoteLlm> {
  const engine = await RemoteLlm.load({ urls, apiKey: "", model: "", timeoutMs: 2000, contextSize: 2048, sequences: 2, maxQueue: 4, maxTokens: 64, temperature: 0.5, ...settings });
  cleanup.push(() => engine.close());
  return engine;
}

async function ask(engine: RemoteLlm, conversationId?: string, extra: object = {}): Promise<string> {
  let text = "";
  await engine.chat([{ role: "user", content: `Hi from ${conversationId ?? "nobody"}!` }], { conversationId, ...extra }, (t) => (text += t));
  return text;
}

const chats = (u: FakeUpstream, conversationId?: string) =>
  u.requests.filter((r) => r.path === "/v1/chat/completions" && (!conversationId || r.body.messages[0].content === `Hi from ${conversationId}!`)).length;

describe("remote LLM with several upstreams", () => {
  test("a 429 moves the request to another upstream; with every upstream full it waits in the queue; the refusals are counted", async () => {
    const [a, b] = upstreams(2);
    const engine = await llm([a!.url, b!.url]);
    a!.behaviour = "busy";
    for (let i = 0; i < 2; i++) expect(await ask(engine, `c${i}`)).toBe("Hello there. How are you?");
    expect(chats(a!)).toBeLessThanOrEqual(1); // asked at most once, then left alone for its Retry-After
    expect(chats(b!)).toBe(2);
    b!.behaviour = "busy";
    const waiting = ask(engine, "c9");
    await Bun.sleep(300);
    expect(engine.queueDepth).toBe(1); // both refused: waiting for room, not failed
    b!.behaviour = "ok";
    expect(await waiting).toBe("Hello there. How are you?");
    const status = engine.pool.status();
    expect(status.find((s) => s.url === a!.url)!.errors).toBeGreaterThanOrEqual(1);
    expect(status.find((s) => s.url === a!.url)!.lastError).toContain("429");
    const metrics = (await renderMetrics()).body;
    expect(metrics).toContain(`hearth_upstream_requests_total{engine="llm",upstream="${a!.url}",outcome="busy"}`);
    expect(metrics).toContain(`hearth_upstream_requests_total{engine="llm",upstream="${b!.url}",outcome="ok"}`);
  });

  test("every upstream refusing for longer than the timeout is a 429 (Busy), not a hang", async () => {
    const [a] = upstreams(1);
    const engine = await llm([a!.url], { timeoutMs: 1500 });
    a!.behaviour = "busy";
    const started = performance.now();
    const error = await ask(engine).catch((e) => e);
    expect(error).toBeInstanceOf(Busy);
    expect(performance.now() - started).toBeLessThan(4000);
  });

  test("an unreachable upstream is marked down, requests go to the others, and a health check brings it back", async () => {
    const port = closedPort();
    const [b] = upstreams(1);
    const down = `http://127.0.0.1:${port}/v1`;
    const engine = await llm([down, b!.url]);
    expect(engine.pool.status()[0]).toMatchObject({ url: down, state: "down" });
    expect(await ask(engine)).toBe("Hello there. How are you?");
    const revived = fakeUpstream({ port });
    cleanup.push(() => revived.close());
    const until = Date.now() + 4000;
    while (engine.pool.status()[0]!.state !== "up" && Date.now() < until) await Bun.sleep(50);
    expect(engine.pool.status()[0]!.state).toBe("up");
  });

  test("a server that stops answering is treated as down after the timeout, and the request moves on", async () => {
    const [a, b] = upstreams(2);
    const engine = await llm([a!.url, b!.url], { timeoutMs: 400 });
    await ask(engine, "toy-1");
    const own = chats(a!) === 1 ? a! : b!; // the conversation's upstream: asked first next time
    own.behaviour = "hang";
    const started = performance.now();
    expect(await ask(engine, "toy-1")).toBe("Hello there. How are you?");
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(1500);
    expect(chats(own)).toBe(2);
    expect(engine.pool.status().find((s) => s.url === own.url)).toMatchObject({ state: "down", lastError: `${own.url} sent nothing for 0.4 s` });
  });

  test("a 500 fails over to another upstream before anything was said", async () => {
    const [a, b] = upstreams(2);
    const engine = await llm([a!.url, b!.url]);
    a!.behaviour = "error";
    b!.behaviour = "error";
    expect(await ask(engine).catch((e) => e)).toBeInstanceOf(NotReady); // both broken: 503 at once
    a!.behaviour = "ok";
    b!.behaviour = "ok";
    await engine.pool.checkNow(); // (instead of waiting a second for the next health check)
    a!.behaviour = "error";
    expect(await ask(engine)).toBe("Hello there. How are you?");
    expect(chats(a!) + chats(b!)).toBeGreaterThanOrEqual(3);
    expect(engine.pool.status().find((s) => s.url === a!.url)!.state).toBe("down");
  });

  test("a stream that breaks after text was passed on is not retried elsewhere: the caller gets a 503", async () => {
    const [a, b] = upstreams(2);
    const engine = await llm([a!.url, b!.url]);
    a!.behaviour = "break-mid-stream";
    b!.behaviour = "break-mid-stream";
    let text = "";
    const error = await engine.chat([{ role: "user", content: "Hi" }], {}, (t) => (text += t)).catch((e) => e);
    expect(error).toBeInstanceOf(NotReady);
    expect(error.message).toContain("mid-answer");
    expect(text).toBe("Hell"); // what was said stays said; nothing was said twice
    expect(chats(a!) + chats(b!)).toBe(1);
  });

  test("a 400 about the request is the caller's 400 (context_length_exceeded) and is not retried", async () => {
    const [a, b] = upstreams(2);
    const engine = await llm([a!.url, b!.url]);
    a!.behaviour = "bad-request";
    b!.behaviour = "bad-request";
    const error = await ask(engine).catch((e) => e);
    expect(error).toBeInstanceOf(BadRequest);
    expect(error.code).toBe("context_length_exceeded");
    expect(chats(a!) + chats(b!)).toBe(1);
  });

  test("a conversation sticks to its upstream; new conversations go to the least busy", async () => {
    const [a, b] = upstreams(2);
    const engine = await llm([a!.url, b!.url]);
    await ask(engine, "toy-1");
    const first = chats(a!) === 1 ? a! : b!;
    const other = first === a ? b! : a!;
    await ask(engine, "toy-2"); // both idle: the turn rotates to the other one
    expect(chats(other, "toy-2")).toBe(1);
    for (const id of ["toy-1", "toy-1", "toy-2", "toy-1", "toy-2", "toy-2"]) await ask(engine, id);
    expect([chats(first, "toy-1"), chats(other, "toy-1"), chats(other, "toy-2"), chats(first, "toy-2")]).toEqual([4, 0, 4, 0]);
    // with its upstream busy, a conversation moves and stays on the new one
    first.behaviour = "busy";
    await ask(engine, "toy-1");
    first.behaviour = "ok";
    await ask(engine, "toy-1");
    expect(chats(other, "toy-1")).toBe(2);
  });

  test("feature differences: GBNF only to servers that take it (else a clear 400), JSON schema as response_format, llama.cpp fields only to llama.cpp", async () => {
    const [plain] = upstreams(1);
    const engine = await llm([plain!.url]);
    const refused = await ask(engine, undefined, { grammar: 'root ::= "yes"' }).catch((e) => e);
    expect(refused).toBeInstanceOf(BadRequest);
    expect(refused.message).toContain("GBNF");
    expect(chats(plain!)).toBe(0);
    await ask(engine, undefined, { jsonSchema: { type: "object" } });
    await ask(engine, undefined, { grammar: "json" });
    expect(plain!.requests[0]!.body.response_format).toEqual({ type: "json_schema", json_schema: { name: "response", schema: { type: "object" }, strict: true } });
    expect(plain!.requests[1]!.body.response_format).toEqual({ type: "json_object" });
    expect(plain!.requests[0]!.body).not.toHaveProperty("cache_prompt");
    expect(plain!.requests[0]!.body).not.toHaveProperty("grammar");

    const [llamacpp] = upstreams(1, { ownedBy: "llamacpp" });
    const mixed = await llm([plain!.url, llamacpp!.url]);
    for (let i = 0; i < 2; i++) await ask(mixed, "toy-9", { grammar: 'root ::= "yes"' }); // only the server that takes grammars
    expect(chats(llamacpp!)).toBe(2);
    expect(llamacpp!.requests[0]!.body).toMatchObject({ grammar: 'root ::= "yes"', cache_prompt: true, stream: true });
  });

  test("a full queue is a 429 before any work (reserve), and the place comes back; toys have places of their own", async () => {
    const [a] = upstreams(1);
    const engine = await llm([a!.url], { maxQueue: 1, sequences: 1 });
    const r1 = engine.reserve();
    const r2 = engine.reserve();
    expect(() => engine.reserve()).toThrow(Busy);
    const d1 = engine.reserve({ priority: "device" }); // HTTP load never leaves a toy without a place
    const d2 = engine.reserve({ priority: "device" });
    expect(() => engine.reserve({ priority: "device" })).toThrow(Busy);
    r1.release();
    const r3 = engine.reserve();
    for (const r of [r2, r3, d1, d2]) r.release();
  });

  test("llama-server: never more requests than its slots; a toy's turn waiting for a slot goes before HTTP requests", async () => {
    const [server] = upstreams(1, { ownedBy: "llamacpp", slots: 1 });
    server!.delayMs = 150;
    const engine = await llm([server!.url]);
    expect(engine.tokensPerConversation).toBe(1024); // the slot's context, from /props
    const first = ask(engine, "http-1");
    await Bun.sleep(20);
    const http = ask(engine, "http-2");
    await Bun.sleep(20);
    const toy = ask(engine, "toy-1", { priority: "device" });
    await Promise.all([first, http, toy]);
    expect(server!.requests.map((r) => r.body.messages[0].content)).toEqual(["Hi from http-1!", "Hi from toy-1!", "Hi from http-2!"]);
    expect(server!.requests.map((r) => r.body.id_slot)).toEqual([0, 0, 0]);
  });
});

describe("remote STT and TTS", () => {
  test("STT: verbose_json becomes a transcript (language code, segments); a failing upstream is skipped", async () => {
    const [a, b] = upstreams(2);
    const stt = await RemoteStt.load({ urls: [a!.url, b!.url], apiKey: "", model: "", language: "auto", timeoutMs: 2000, maxQueue: 8 });
    cleanup.push(() => stt.close());
    a!.behaviour = "error";
    b!.behaviour = "error";
    expect(await stt.transcribe(new Float32Array(16000), 16000).catch((e) => e)).toBeInstanceOf(NotReady);
    b!.behaviour = "ok";
    await stt.pool.checkNow();
    const segments: string[] = [];
    const t = await stt.transcribe(new Float32Array(16000), 16000, { language: "en", onSegment: (s) => segments.push(s.text) });
    expect(t).toEqual({ text: "hello world", language: "en", duration: 1, segments: [{ start: 0, end: 1, text: "hello world" }] });
    expect(segments).toEqual(["hello world"]);
    const sent = b!.requests.at(-1)!.body;
    expect(sent).toMatchObject({ model: "whisper-1", response_format: "verbose_json", language: "en" });
    expect(sent.file).toBeInstanceOf(Blob);
  });

  test("TTS: the server's voices; PCM streamed at the voice's rate; a failing upstream is skipped before the first audio", async () => {
    const [a, b] = upstreams(2);
    const tts = await RemoteTts.load({ urls: [a!.url, b!.url], apiKey: "", model: "", timeoutMs: 2000, maxQueue: 8 });
    cleanup.push(() => tts.close());
    expect(tts.voices()).toEqual([{ id: "amy", language: "en", speakers: 1, sampleRate: 16000 }]);
    a!.behaviour = "error";
    const audio = await collectAudio(tts.synthesize("Hello.", { voice: "amy:0" }));
    expect(audio!.sampleRate).toBe(16000);
    expect(audio!.samples.length).toBe(1600);
    const sent = [...a!.requests, ...b!.requests].map((r) => r.body);
    expect(sent.at(-1)).toMatchObject({ model: "tts-1", voice: "amy", input: "Hello.", response_format: "pcm", sample_rate: 16000 });
    expect(() => tts.synthesize("x", { voice: "nobody:0" })[Symbol.asyncIterator]().next()).toThrow();
  });
});
