// Warm prompts at the engine (the real llama.cpp on the test model): a preloaded conversation's
// next request evaluates only its new words, and a preload never stands in a request's way — it
// is skipped while one is under way and stops for one that comes, which is then answered as usual.
import { beforeAll, expect, test } from "bun:test";
import type { ChatMessage, ChatOptions, Engines, Llm } from "../../../src/engines/types.ts";
import { testEngines } from "../folotoy/helpers.ts";

let engines: Engines;
let llm: Llm;
beforeAll(async () => {
  engines = await testEngines();
  llm = engines.llm;
}, 120_000);

const REPLY = "The sky is blue because of the air.";
const prefix = (persona = "You are a rabbit who lives in the woods and likes carrots."): ChatMessage[] => [
  { role: "system", content: "You are a friendly talking toy for children. Answer in short, simple sentences." },
  { role: "user", content: persona },
  { role: "assistant", content: "Hello friend." },
];
const question: ChatMessage = { role: "user", content: "Why is the sky blue?" };
let conversations = 0;
const newConversation = () => `test.preload${++conversations}.1`;
const ask = (messages: ChatMessage[], conversationId: string, opts: Partial<ChatOptions> = {}) => {
  let text = "";
  return llm
    .chat(messages, { conversationId, maxTokens: 40, grammar: `root ::= ${JSON.stringify(REPLY)}`, priority: "device", ...opts }, (t) => (text += t))
    .then((result) => ({ ...result, text }));
};

test("after a preload, the conversation's first request evaluates only its new words", async () => {
  const id = newConversation();
  const preloaded = await llm.preloadConversation!(prefix(), { conversationId: id });
  expect(preloaded.outcome).toBe("done");
  // the whole prompt before the question: more than the messages' text alone (the chat template's markers too)
  const prefixText = prefix().reduce((n, m) => n + llm.countTokens(m.content), 0);
  expect(preloaded.cachedTokens).toBeGreaterThan(prefixText);
  expect(preloaded.evaluatedTokens).toBe(preloaded.cachedTokens);

  const warm = await ask([...prefix(), question], id);
  expect(warm.text).toBe(REPLY);
  expect(warm.cachedPromptTokens).toBe(preloaded.cachedTokens);
  const newTokens = warm.promptTokens - warm.cachedPromptTokens!;
  // the question and the template around it, nothing of the prefix
  expect(newTokens).toBeGreaterThanOrEqual(llm.countTokens(question.content));
  expect(newTokens).toBeLessThan(llm.countTokens(question.content) + 12);

  // the same request on a conversation never preloaded evaluates everything
  const cold = await ask([...prefix(), question], newConversation());
  expect(cold.promptTokens).toBe(warm.promptTokens);
  expect(cold.cachedPromptTokens).toBe(0);
}, 60_000);

test("preloading what the context holds already evaluates nothing; with history it adds only the history", async () => {
  const id = newConversation();
  const first = await llm.preloadConversation!(prefix(), { conversationId: id });
  const again = await llm.preloadConversation!(prefix(), { conversationId: id });
  expect(again).toEqual({ outcome: "done", cachedTokens: first.cachedTokens, evaluatedTokens: 0 });

  const turn1 = await ask([...prefix(), question], id);
  const history: ChatMessage[] = [...prefix(), question, { role: "assistant", content: turn1.text }];
  const withHistory = await llm.preloadConversation!(history, { conversationId: id });
  expect(withHistory.outcome).toBe("done");
  expect(withHistory.cachedTokens).toBeGreaterThan(first.cachedTokens + llm.countTokens(REPLY));
  // the first turn's prompt was there; only (part of) its reply and what follows it is new
  expect(withHistory.evaluatedTokens).toBeLessThan(withHistory.cachedTokens - first.cachedTokens);
  const turn2 = await ask([...history, { role: "user", content: "And the sea?" }], id);
  expect(turn2.cachedPromptTokens).toBe(withHistory.cachedTokens);
}, 60_000);

test("a preload is skipped while a request is under way, and does not hold it up", async () => {
  const running = ask([...prefix(), question], newConversation());
  const preloaded = await llm.preloadConversation!(prefix(), { conversationId: newConversation() });
  expect(preloaded.outcome).toBe("skipped");
  expect(preloaded.reason).toContain("busy");
  expect((await running).text).toBe(REPLY);

  const place = llm.reserve({ priority: "device" }); // a toy's turn on its way (its speech being recognized)
  try {
    expect((await llm.preloadConversation!(prefix(), { conversationId: newConversation() })).outcome).toBe("skipped");
  } finally {
    place.release();
  }
}, 60_000);

test("a request of the same conversation arriving mid-preload gets the sequence and is answered", async () => {
  const id = newConversation();
  const long = prefix("You are a rabbit. ".repeat(120));
  const preload = llm.preloadConversation!(long, { conversationId: id });
  const answer = await ask([...long, question], id); // the preload holds the conversation's sequence now
  const preloaded = await preload;
  expect(preloaded.outcome).toBe("stopped");
  expect(answer.text).toBe(REPLY);
  expect(answer.cachedPromptTokens).toBe(preloaded.cachedTokens); // whatever it had evaluated is used
  // and the conversation goes on normally
  const next = await ask([...long, question, { role: "assistant", content: answer.text }, { role: "user", content: "And the sea?" }], id);
  expect(next.text).toBe(REPLY);
  expect(next.cachedPromptTokens).toBeGreaterThan(answer.promptTokens - 2);
}, 60_000);

test("a request of another conversation arriving mid-preload stops it", async () => {
  const id = newConversation();
  const long = prefix("You are an owl. ".repeat(150));
  const preload = llm.preloadConversation!(long, { conversationId: id });
  await Bun.sleep(5); // somewhere in the middle, or already done on a fast machine
  const other = await ask([...prefix(), question], newConversation());
  const preloaded = await preload;
  expect(other.text).toBe(REPLY);
  expect(["stopped", "done"]).toContain(preloaded.outcome);
  // what it evaluated is really there: the conversation's request reuses exactly that
  const answer = await ask([...long, question], id);
  expect(answer.cachedPromptTokens).toBe(Math.min(preloaded.cachedTokens, answer.promptTokens - 1));
}, 60_000);

test("a preload stops when its signal is aborted; waiting preloads of the same conversation are replaced", async () => {
  const aborted = new AbortController();
  aborted.abort();
  expect((await llm.preloadConversation!(prefix(), { conversationId: newConversation(), signal: aborted.signal })).outcome).toBe("skipped");

  const stop = new AbortController();
  const running = llm.preloadConversation!(prefix("You are a fox. ".repeat(150)), { conversationId: newConversation(), signal: stop.signal });
  stop.abort();
  expect((await running).outcome).toBe("stopped");

  // one runs; of two waiting for the same conversation, the newer replaces the older
  const id = newConversation();
  const first = llm.preloadConversation!(prefix("You are a bear. ".repeat(100)), { conversationId: newConversation() });
  const older = llm.preloadConversation!(prefix("You are a cat."), { conversationId: id });
  const newer = llm.preloadConversation!(prefix("You are a dog."), { conversationId: id });
  expect((await older).outcome).toBe("skipped");
  expect((await older).reason).toContain("replaced");
  expect((await newer).outcome).toBe("done");
  expect((await first).outcome).toBe("done");
  const answer = await ask([...prefix("You are a dog."), question], id);
  expect(answer.cachedPromptTokens).toBe((await newer).cachedTokens);
}, 60_000);
