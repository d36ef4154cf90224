// What the engine asks node-llama-cpp to sample with (the real llama.cpp on the test model): the
// penalties a request gives and nothing more. node-llama-cpp applies a 1.1 repeat penalty over the
// last 64 tokens when `repeatPenalty` is left out; that changes the text and costs ~0.5 ms per token
// over a 151,936-token vocabulary (bench/README.md, stand-in section), so the engine turns it off.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { LlamaChat } from "node-llama-cpp";
import type { ChatOptions, Llm } from "../../../src/engines/types.ts";
import { testEngines } from "../folotoy/helpers.ts";

let llm: Llm;
const seen: Record<string, unknown>[] = [];
const original = LlamaChat.prototype.generateResponse;

beforeAll(async () => {
  llm = (await testEngines()).llm;
  LlamaChat.prototype.generateResponse = function (this: LlamaChat, history, options) {
    seen.push({ ...options });
    return original.call(this, history, options);
  } as typeof original;
}, 120_000);

afterAll(() => {
  LlamaChat.prototype.generateResponse = original;
});

async function optionsFor(opts: Partial<ChatOptions>) {
  seen.length = 0;
  let text = "";
  await llm.chat([{ role: "user", content: "Say something." }], { maxTokens: 8, temperature: 0, ...opts }, (t) => (text += t));
  expect(seen).toHaveLength(1);
  return { options: seen[0]!, text };
}

test("a request without penalties samples without a repeat penalty", async () => {
  const { options } = await optionsFor({});
  expect(options.repeatPenalty).toBe(false);
});

test("zero penalties are no penalties", async () => {
  const { options } = await optionsFor({ frequencyPenalty: 0, presencePenalty: 0 });
  expect(options.repeatPenalty).toBe(false);
});

test("frequency and presence penalties are passed as given, without node-llama-cpp's multiplicative 1.1", async () => {
  const { options } = await optionsFor({ frequencyPenalty: 0.5 });
  expect(options.repeatPenalty).toEqual({ penalty: 1, frequencyPenalty: 0.5, presencePenalty: undefined });
  const both = await optionsFor({ frequencyPenalty: 0.2, presencePenalty: -0.3 });
  expect(both.options.repeatPenalty).toEqual({ penalty: 1, frequencyPenalty: 0.2, presencePenalty: -0.3 });
});

test("the same greedy request twice gives the same text (no penalty state carried between requests)", async () => {
  // The same request twice: deterministic, and no hidden penalty state carried between requests.
  const a = await optionsFor({ maxTokens: 16 });
  const b = await optionsFor({ maxTokens: 16 });
  expect(a.text).toBe(b.text);
});
