// The turn runner with fake engines: event order, history that survives a restart, a newer turn
// cancelling the older, the reply timeout, a full LLM queue, a device that goes away.
import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Busy } from "../../../src/errors.ts";
import { setLogLevel } from "../../../src/log.ts";
import type { TurnEvent, TurnRequest } from "../../../src/pipeline/types.ts";
import { someAudio } from "../../support/fake-engines.ts";
import { fakePipeline } from "../../support/fake-pipeline.ts";

setLogLevel("error");

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function setup(stateDir?: string, replyTimeoutMs = 10_000) {
  const fake = fakePipeline({ stateDir, replyTimeoutMs });
  if (!stateDir) cleanups.push(fake.cleanup);
  return { ...fake, runner: fake.pipeline.turns, conversations: fake.pipeline.conversations };
}

const request = (over: Partial<TurnRequest> = {}): TurnRequest => ({
  key: { frontEnd: "folotoy", device: "aabbccddee01", role: "1" },
  input: { kind: "audio", ...someAudio() },
  endedAt: Date.now(),
  ...over,
});

async function collect(events: AsyncIterable<TurnEvent>): Promise<TurnEvent[]> {
  const out: TurnEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe("a turn", () => {
  test("heard, each sentence in order with its audio, then done; the exchange and the turn are stored", async () => {
    const { runner, conversations } = setup();
    const turn = runner.start(request());
    const events = await collect(turn.events);
    expect(events.map((e) => e.type)).toEqual(["heard", "sentence", "sentence", "sentence", "done"]);
    expect(events[0]).toEqual({ type: "heard", text: "hello there" });
    const sentences = events.filter((e) => e.type === "sentence");
    expect(sentences.map((s) => [s.order, s.text])).toEqual([
      [1, "Once upon a time."],
      [2, "There was a rabbit."],
      [3, "The end."],
    ]);
    for (const s of sentences) expect(s.audio!.samples.length).toBeGreaterThan(1000);
    const record = await turn.finished;
    expect(record).toMatchObject({ outcome: "replied", transcript: "hello there", reply: "Once upon a time. There was a rabbit. The end.", role: "1", source: "folotoy" });
    expect(record.timings.sttMs).toBeGreaterThanOrEqual(0);
    expect(record.timings.firstAudioMs).toBeGreaterThanOrEqual(record.timings.firstTokenMs!);
    expect(conversations.history(turn.key).map((e) => e.user)).toEqual(["hello there"]);
    expect(conversations.turn(turn.id)).toMatchObject({ id: turn.id, outcome: "replied" });
  });

  test("the prompt is persona + history + transcript, and the history survives a restart", async () => {
    const first = setup();
    first.stt.transcripts = ["what is your name"];
    await collect(first.runner.start(request()).events);
    await first.pipeline.stop();

    const again = setup(first.stateDir);
    cleanups.push(again.cleanup);
    again.stt.transcripts = ["and where do you live"];
    await collect(again.runner.start(request()).events);
    expect(again.llm.seen[0]!.map((m) => `${m.role}: ${m.content}`)).toEqual([
      "system: Be kind.",
      "user: You are a rabbit.",
      "assistant: Hi, I am a rabbit.",
      "user: what is your name",
      "assistant: Once upon a time. There was a rabbit. The end.",
      "user: and where do you live",
    ]);
    expect(again.conversations.turns().length).toBe(2);
  });

  test("text turns without speech: sentences carry no audio (the chat API's personas)", async () => {
    const { runner, tts } = setup();
    const events = await collect(runner.start(request({ input: { kind: "text", text: "hi" }, speak: false })).events);
    const sentences = events.filter((e) => e.type === "sentence");
    expect(sentences.length).toBe(3);
    expect(sentences.every((s) => s.audio === undefined)).toBe(true);
    expect(tts.spoken).toEqual([]);
  });

  test("nothing heard: the toy asks to hear it again in the role's language, and the LLM never runs", async () => {
    const { runner, stt, llm, conversations } = setup();
    stt.transcripts = [""];
    const events = await collect(runner.start(request({ key: { frontEnd: "folotoy", device: "aabbccddee01", role: "2" } })).events);
    expect(events.map((e) => e.type)).toEqual(["sentence", "done"]);
    expect(events[0]).toMatchObject({ order: 1, text: "我没有听清楚，你能再说一遍吗？" });
    const record = (events[1] as Extract<TurnEvent, { type: "done" }>).record;
    expect(record.outcome).toBe("heard_nothing");
    expect(record.transcript).toBe("");
    expect(llm.seen.length).toBe(0);
    expect(conversations.history(record.key)).toEqual([]);
  });
});

describe("the runner", () => {
  test("a newer turn of the same device cancels the older one, which says nothing more", async () => {
    const { runner, llm } = setup();
    llm.tokenDelayMs = 30;
    const old = runner.start(request());
    const oldEvents = collect(old.events);
    await Bun.sleep(60);
    const next = runner.start(request({ endedAt: Date.now() }));
    const [a, b] = await Promise.all([oldEvents, collect(next.events)]);
    expect(a.at(-1)).toMatchObject({ type: "failed" });
    expect((await old.finished).outcome).toBe("cancelled");
    expect(a.some((e) => e.type === "sentence" && e.fallback)).toBe(false);
    expect(b.at(-1)).toMatchObject({ type: "done" });
    expect(llm.aborted[0]).toBe(true);
  });

  test("another device's turn runs alongside and is not cancelled", async () => {
    const { runner } = setup();
    const a = runner.start(request());
    const b = runner.start(request({ key: { frontEnd: "folotoy", device: "aabbccddee02", role: "1" } }));
    const [ea, eb] = await Promise.all([collect(a.events), collect(b.events)]);
    expect(ea.at(-1)!.type).toBe("done");
    expect(eb.at(-1)!.type).toBe("done");
  });

  test("the reply timeout ends a slow turn with the friendly line in the role's voice and language", async () => {
    const { runner, llm, tts } = setup(undefined, 300);
    llm.promptDelayMs = 2000;
    const turn = runner.start(request({ key: { frontEnd: "folotoy", device: "aabbccddee01", role: "2" } }));
    const events = await collect(turn.events);
    expect(events.map((e) => e.type)).toEqual(["heard", "sentence", "failed"]);
    expect(events[1]).toMatchObject({ type: "sentence", order: 1, fallback: true, text: "嗯，我刚才走神了，你能再问我一次吗？" });
    expect((events[1] as Extract<TurnEvent, { type: "sentence" }>).audio!.samples.length).toBeGreaterThan(0);
    const record = await turn.finished;
    expect(record.outcome).toBe("timeout");
    expect(record.explanation).toContain("too long");
    expect(tts.spoken).toContain("嗯，我刚才走神了，你能再问我一次吗？");
    expect(llm.aborted[0]).toBe(true);
  });

  test("a runaway reply is stopped at max_turn_seconds, keeping what was already said", async () => {
    const fake = fakePipeline({ maxTurnMs: 400 });
    cleanups.push(fake.cleanup);
    fake.llm.reply = Array.from({ length: 40 }, (_, i) => `Sentence ${i}.`).join(" ");
    fake.llm.tokenDelayMs = 40;
    const turn = fake.pipeline.turns.start(request());
    const events = await collect(turn.events);
    const record = await turn.finished;
    expect(events.at(-1)!.type).toBe("failed");
    expect(record.outcome).toBe("cancelled");
    expect(record.error).toContain("max_turn_seconds");
    expect(record.sentences.length).toBeGreaterThan(0);
    expect(record.sentences.length).toBeLessThan(40);
    expect(fake.llm.aborted[0]).toBe(true);
  });

  test("a full LLM queue: the toy hears the friendly line, the record says Hearth was busy", async () => {
    const { runner, llm } = setup();
    llm.failWith = new Busy("the language model is busy (4 requests waiting)");
    const turn = runner.start(request());
    const events = await collect(turn.events);
    expect(events.map((e) => e.type)).toEqual(["heard", "sentence", "failed"]);
    expect((events.at(-1) as Extract<TurnEvent, { type: "failed" }>).error).toBeInstanceOf(Busy);
    const record = await turn.finished;
    expect(record).toMatchObject({ outcome: "failed", explanation: "Hearth was too busy to answer just then." });
  });

  test("a failing voice: no audio can be made, the turn fails without hanging", async () => {
    const { runner, tts } = setup();
    tts.failWith = new Error("voice model crashed");
    const events = await collect(runner.start(request()).events);
    expect(events.at(-1)).toMatchObject({ type: "failed" });
    expect(events.some((e) => e.type === "sentence")).toBe(false);
  });

  test("a front end that stops reading (the device went away) stops the engines and the turn is still logged", async () => {
    const { runner, llm, conversations } = setup();
    llm.tokenDelayMs = 50;
    const turn = runner.start(request());
    for await (const e of turn.events) if (e.type === "sentence") break;
    const record = await turn.finished;
    expect(llm.aborted[0]).toBe(true);
    expect(record.outcome).toBe("cancelled");
    expect(conversations.turn(turn.id)).toBeDefined();
    expect(conversations.history(turn.key)).toEqual([]); // an unfinished reply is not history
  });

  test("forget() erases the conversation from disk and the LLM's cached context", async () => {
    const { runner, llm, conversations, stateDir } = setup();
    await collect(runner.start(request()).events);
    const files = () => readdirSync(join(stateDir, "conversations")).filter((f) => f.startsWith("folotoy."));
    expect(files().length).toBe(1);
    runner.forget({ frontEnd: "folotoy", device: "aabbccddee01", role: "1" });
    expect(files()).toEqual([]);
    expect(conversations.history({ frontEnd: "folotoy", device: "aabbccddee01", role: "1" })).toEqual([]);
    expect(llm.forgotten).toEqual(["folotoy.aabbccddee01.1"]);
  });
});
