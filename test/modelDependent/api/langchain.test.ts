// LangChain's ChatOpenAI (@langchain/openai) against a real Hearth on the fixture models, on its
// default path (chat completions): only the base URL changes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import type { Hearth } from "../../../src/app.ts";
import type { LlmReservation } from "../../../src/engines/types.ts";
import { startTestHearth } from "../../support/hearth.ts";

const EXACT = "Hello there. I am a little rabbit!";

let hearth: Hearth;
const chat = (fields: ConstructorParameters<typeof ChatOpenAI>[0] = {}) =>
  new ChatOpenAI({ model: "gpt-4o-mini", apiKey: "unused", configuration: { baseURL: `${hearth.url}/v1` }, maxRetries: 0, ...fields });

beforeAll(async () => {
  hearth = await startTestHearth();
}, 120_000);

afterAll(async () => {
  await hearth?.stop();
});

describe("ChatOpenAI", () => {
  test("invoke: the reply, with usage within maxTokens", async () => {
    // modelKwargs passes llama.cpp's `grammar` extension through, to pin the random test model's words
    const pinned = await chat({ modelKwargs: { grammar: `root ::= "${EXACT}"` } }).invoke([new SystemMessage("You are a rabbit."), new HumanMessage("Who are you?")]);
    expect(pinned.content).toBe(EXACT);
    const cut = await chat({ maxTokens: 4, temperature: 1 }).invoke("Tell me everything.");
    expect(cut.usage_metadata!.output_tokens).toBeLessThanOrEqual(4);
    expect(cut.response_metadata.finish_reason).toBe("length");
  }, 60_000);

  test("stream: chunks that add up to the reply, then usage", async () => {
    const stream = await chat({ modelKwargs: { grammar: `root ::= "${EXACT}"` } }).stream("Who are you?");
    const parts: string[] = [];
    let usage: unknown;
    for await (const chunk of stream) {
      if (typeof chunk.content === "string" && chunk.content) parts.push(chunk.content);
      usage = chunk.usage_metadata ?? usage;
    }
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.join("")).toBe(EXACT);
    expect(usage).toMatchObject({ output_tokens: expect.any(Number) });
  }, 60_000);

  test("a full queue is a 429 rate-limit error on a stream, which LangChain marks retryable", async () => {
    const held: LlmReservation[] = [];
    try {
      for (;;) held.push(hearth.engines.llm.reserve());
    } catch {}
    try {
      const error: any = await (async () => {
        for await (const _ of await chat().stream("hi"));
      })().then(() => null, (e) => e);
      expect(error?.status).toBe(429);
      expect(error?.lc_error_code).toBe("MODEL_RATE_LIMIT");
    } finally {
      for (const place of held) place.release();
    }
  }, 30_000);

  test("a prompt longer than the context is LangChain's context overflow, not a silent truncation", async () => {
    const error: any = await chat()
      .invoke("Once upon a time there was a rabbit. ".repeat(400))
      .then(() => null, (e) => e);
    expect(error?.name).toBe("ContextOverflowError");
  }, 30_000);
});
