// [toy] first_clause_words in the turn (fake engines): a long first sentence starts speaking at
// its first clause while the model is still writing it, the clause must pass the strict check
// alone, and the sentence is still checked whole before its rest is spoken.
import { afterAll, expect, test } from "bun:test";
import { setLogLevel } from "../../../src/log.ts";
import type { TurnEvent, TurnRequest } from "../../../src/pipeline/types.ts";
import { someAudio } from "../../support/fake-engines.ts";
import { fakePipeline } from "../../support/fake-pipeline.ts";

setLogLevel("error");
const fake = fakePipeline({ separators: "，！。？,!.?", firstClauseWords: 6, roles: { "1": { prompt: "You are a rabbit.", language: "en" } } });
afterAll(() => fake.cleanup());

let n = 0;
async function say(reply: string) {
  fake.stt.transcripts = ["tell me a story"];
  fake.llm.reply = reply;
  const request: TurnRequest = { key: { frontEnd: "folotoy", device: `aabbccee${String(++n).padStart(4, "0")}`, role: "1" }, input: { kind: "audio", ...someAudio() }, endedAt: Date.now() };
  const turn = fake.pipeline.turns.start(request);
  const sentences: (Extract<TurnEvent, { type: "sentence" }> & { wordsStreamed: number })[] = [];
  for await (const e of turn.events) if (e.type === "sentence") sentences.push({ ...e, wordsStreamed: streamed });
  return { sentences, record: await turn.finished };
}

// Words the fake model has written so far (it streams a word per token).
let streamed = 0;
const chat = fake.llm.chat.bind(fake.llm);
fake.llm.chat = (messages, opts, onText) => {
  streamed = 0;
  return chat(messages, opts, (chunk) => {
    streamed++;
    onText(chunk);
  });
};
fake.llm.tokenDelayMs = 15;

test("the first clause is spoken while the model is still writing the rest of its sentence", async () => {
  const reply = "Once upon a time in a big green forest, there lived a brave little rabbit who loved carrots. The end.";
  const { sentences, record } = await say(reply);
  expect(sentences.map((s) => s.text)).toEqual(["Once upon a time in a big green forest,", "there lived a brave little rabbit who loved carrots.", "The end."]);
  // the clause was out after ~9 of the sentence's 17 words, not after the sentence's end
  expect(sentences[0]!.wordsStreamed).toBeLessThan(14);
  expect(record.safety?.verdict).toBe("allowed");
  expect(record.reply).toBe(reply);
});

test("a clause that only passes the standard check waits, and its unsafe sentence is never spoken", async () => {
  const { sentences, record } = await say("A little wine won't hurt you at all my friend, try a sip from the glass. Then go to bed.");
  expect(sentences.map((s) => s.text).join(" ")).not.toMatch(/wine|sip/);
  expect(sentences.length).toBe(1); // only the friendly line
  expect(record.safety).toMatchObject({ verdict: "blocked", stage: "output", category: "drugs" });
});

test("a spoken clause whose sentence turns out unsafe: the rest is never spoken, the friendly line follows", async () => {
  const { sentences, record } = await say("We can play a fun game together right now, let's find the lighter in the kitchen drawer. Yay.");
  const texts = sentences.map((s) => s.text);
  expect(texts[0]).toBe("We can play a fun game together right now,");
  expect(texts.join(" ")).not.toMatch(/lighter|drawer|Yay/);
  expect(texts.length).toBe(2);
  expect(record.safety).toMatchObject({ verdict: "blocked", category: "fire" });
  expect(fake.pipeline.conversations.history(record.key)).toEqual([]);
});

test("a held clause that turns out safe is spoken with its sentence", async () => {
  // "candles" alone is a risky word at the strict level: the clause waits; the whole sentence passes.
  const { sentences, record } = await say("The candles on the birthday cake were very pretty, and everyone sang a song. Bye.");
  expect(sentences.map((s) => s.text)).toEqual(["The candles on the birthday cake were very pretty,", "and everyone sang a song.", "Bye."]);
  expect(record.safety?.verdict).toBe("allowed");
  // nothing was spoken before the sentence was complete
  expect(sentences[0]!.wordsStreamed).toBeGreaterThanOrEqual(14); // all 14 words of the sentence
});
