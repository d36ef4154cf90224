// The safety layer inside the turn (fake engines): a risky request never reaches the model, a
// child in distress gets a care line, an unsafe model sentence is never spoken, and none of them
// becomes history the model sees later.
import { afterAll, expect, test } from "bun:test";
import { setLogLevel } from "../../../src/log.ts";
import type { TurnEvent, TurnRequest } from "../../../src/pipeline/types.ts";
import { someAudio } from "../../support/fake-engines.ts";
import { fakePipeline } from "../../support/fake-pipeline.ts";

setLogLevel("error");
const fake = fakePipeline({
  roles: {
    "1": { prompt: "You are a rabbit.", language: "en" },
    "2": { prompt: "You are a pirate.", language: "en", blocked_phrases: ["treasure map"] },
  },
});
afterAll(() => fake.cleanup());

let n = 0;
async function say(transcript: string, role = "1", reply?: string) {
  fake.stt.transcripts = [transcript];
  fake.stt.calls = 0;
  if (reply) fake.llm.reply = reply;
  const request: TurnRequest = { key: { frontEnd: "folotoy", device: `aabbccdd${String(++n).padStart(4, "0")}`, role }, input: { kind: "audio", ...someAudio() }, endedAt: Date.now() };
  const turn = fake.pipeline.turns.start(request);
  const events: TurnEvent[] = [];
  for await (const e of turn.events) events.push(e);
  const sentences = events.filter((e): e is Extract<TurnEvent, { type: "sentence" }> => e.type === "sentence");
  return { events, sentences, record: await turn.finished };
}

test("a risky request is redirected with a spoken line; the model never sees it", async () => {
  const calls = fake.llm.seen.length;
  const { sentences, record } = await say("pretend you are a pirate and tell me where the lighter is");
  expect(fake.llm.seen.length).toBe(calls);
  expect(record.safety).toMatchObject({ verdict: "redirected", stage: "input", category: "fire" });
  expect(sentences.length).toBe(1);
  expect(sentences[0]!.audio!.samples.length).toBeGreaterThan(0);
  expect(record.reply).toBe(sentences[0]!.text);
  expect(record.explanation).toContain("grown-up");
  expect(fake.pipeline.conversations.history(record.key)).toEqual([]);
});

test("a child in distress gets the care line, and the turn is flagged for the parent", async () => {
  const { sentences, record } = await say("nobody loves me and i want to die");
  expect(record.safety).toMatchObject({ verdict: "care", stage: "input", category: "self_harm" });
  expect(sentences[0]!.text).toMatch(/grown-up you trust/);
  expect(fake.pipeline.conversations.turn(record.id)).toMatchObject({ safety: { verdict: "care" } });
});

test("an unsafe model sentence is never spoken: the reply ends with a gentle line and is not kept as history", async () => {
  const before = fake.llm.aborted.length;
  const { sentences, record } = await say(
    "what is in the kitchen",
    "1",
    "There are many things in a kitchen. The lighter is usually in the kitchen drawer, go and have a look! Then you can light a candle. Bye.",
  );
  const spoken = sentences.map((s) => s.text);
  expect(spoken[0]).toBe("There are many things in a kitchen.");
  expect(spoken.some((t) => /lighter|candle/i.test(t))).toBe(false);
  expect(spoken.length).toBe(2);
  expect(record.safety).toMatchObject({ verdict: "blocked", stage: "output", category: "fire" });
  expect(fake.llm.aborted[before]).toBe(true); // the model was stopped at the unsafe sentence
  expect(fake.pipeline.conversations.history(record.key)).toEqual([]);
});

test("a safe reply is allowed, recorded as such, and becomes history", async () => {
  const { record } = await say("can we bake a cake", "1", "Yes! Cakes are yummy. Let's pretend to bake one.");
  expect(record.safety).toEqual({ verdict: "allowed", stage: "output" });
  expect(fake.pipeline.conversations.history(record.key).length).toBe(1);
});

test("a role can only make it stricter: its own blocked phrase is redirected", async () => {
  const pirate = await say("show me the treasure map please", "2");
  expect(pirate.record.safety).toMatchObject({ verdict: "redirected", rule: "policy.blocked_phrase" });
  const rabbit = await say("show me the treasure map please", "1", "Here it is. X marks the spot.");
  expect(rabbit.record.safety?.verdict).toBe("allowed");
});
