// The Vercel AI SDK (`ai` + `@ai-sdk/openai`) against a real Hearth on the fixture models, on its
// default paths: openai("model") is the Responses API, openai.chat() chat completions, plus
// transcription and speech. Only the base URL changes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createOpenAI } from "@ai-sdk/openai";
import { experimental_generateSpeech as generateSpeech, experimental_transcribe as transcribe, generateText, Output, streamText } from "ai";
import { z } from "zod";
import type { Hearth } from "../../../src/app.ts";
import { decodeWav } from "../../../src/audio/wav.ts";
import type { LlmReservation } from "../../../src/engines/types.ts";
import { readAudioFile, startTestHearth } from "../../support/hearth.ts";

let hearth: Hearth;
let openai: ReturnType<typeof createOpenAI>;

beforeAll(async () => {
  hearth = await startTestHearth();
  openai = createOpenAI({ baseURL: `${hearth.url}/v1`, apiKey: "unused" });
}, 120_000);

afterAll(async () => {
  await hearth?.stop();
});

describe("language model: openai('model') is the Responses API", () => {
  test("generateText: text, usage within maxOutputTokens, finish reason", async () => {
    const result = await generateText({ model: openai("gpt-4o-mini"), system: "You are a rabbit.", prompt: "Say hello.", maxOutputTokens: 8, temperature: 1, maxRetries: 0 });
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeLessThanOrEqual(8);
    expect(result.usage.inputTokens).toBeGreaterThan(5);
    expect(["stop", "length"]).toContain(result.finishReason);
    expect(result.response.id).toMatch(/^resp_/);
  }, 60_000);

  test("a follow-up that carries the earlier answer (an item_reference) continues the conversation", async () => {
    const first = await generateText({ model: openai("gpt-4o-mini"), prompt: "Say hello.", maxOutputTokens: 6, temperature: 1, maxRetries: 0 });
    const second = await generateText({
      model: openai("gpt-4o-mini"),
      messages: [{ role: "user", content: "Say hello." }, ...first.response.messages, { role: "user", content: "Again." }],
      maxOutputTokens: 6,
      temperature: 1,
      maxRetries: 0,
    });
    expect(second.text.length).toBeGreaterThan(0);
    expect(second.usage.inputTokens!).toBeGreaterThan(first.usage.inputTokens! + first.usage.outputTokens! - 1);
  }, 60_000);

  test("streamText: the text streams in deltas that add up to the final text", async () => {
    const result = streamText({ model: openai("gpt-4o-mini"), prompt: "Tell me a story.", maxOutputTokens: 12, temperature: 1, maxRetries: 0 });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(await result.text);
    expect((await result.usage).outputTokens).toBeLessThanOrEqual(12);
    expect(await result.finishReason).toBe("length");
  }, 60_000);

  test("structured output (text.format json_schema) is enforced by the grammar", async () => {
    const { output } = await generateText({
      model: openai("gpt-4o-mini"),
      prompt: "A pet, please.",
      // Enums only: the random fixture model may write a JSON number like 1E400 (valid JSON the
      // grammar allows, which JavaScript reads as Infinity) or a string longer than the token limit.
      output: Output.object({ schema: z.object({ kind: z.enum(["cat", "dog"]), sound: z.enum(["meow", "woof"]) }) }),
      maxOutputTokens: 60,
      maxRetries: 0,
    });
    expect(["cat", "dog"]).toContain(output.kind);
    expect(["meow", "woof"]).toContain(output.sound);
  }, 60_000);

  test("a full queue is a 429 on a stream too (the SDK would retry it)", async () => {
    const held: LlmReservation[] = [];
    try {
      for (;;) held.push(hearth.engines.llm.reserve());
    } catch {}
    try {
      const result = streamText({ model: openai("gpt-4o-mini"), prompt: "hi", maxRetries: 0, onError: () => {} });
      let error: any;
      for await (const part of result.fullStream) if (part.type === "error") error = part.error;
      expect(error?.statusCode).toBe(429);
      expect(error?.isRetryable).toBe(true);
    } finally {
      for (const place of held) place.release();
    }
  }, 30_000);
});

describe("openai.chat(): chat completions", () => {
  test("generateText and streamText", async () => {
    const result = await generateText({ model: openai.chat("gpt-4o-mini"), prompt: "Say hello.", maxOutputTokens: 5, temperature: 1, maxRetries: 0 });
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeLessThanOrEqual(5);
    const stream = streamText({ model: openai.chat("gpt-4o-mini"), prompt: "Say hello.", maxOutputTokens: 5, temperature: 1, maxRetries: 0 });
    let text = "";
    for await (const delta of stream.textStream) text += delta;
    expect(text).toBe(await stream.text);
    expect((await stream.usage).outputTokens).toBeLessThanOrEqual(5);
  }, 60_000);
});

describe("audio", () => {
  test("transcribe: text, and the duration read from usage", async () => {
    const bytes = await readAudioFile("utt03.wav");
    const result = await transcribe({ model: openai.transcription("whisper-1"), audio: bytes, maxRetries: 0 });
    expect(result.text.toLowerCase()).toMatch(/timer/);
    const wav = decodeWav(bytes);
    expect(result.durationInSeconds).toBe(Math.ceil(wav.samples.length / wav.sampleRate));
  }, 30_000);

  test("generateSpeech: mp3 by default, pcm at 24 kHz, the new voices", async () => {
    const mp3 = await generateSpeech({ model: openai.speech("tts-1"), text: "Hello there.", maxRetries: 0 });
    expect(mp3.audio.mediaType).toBe("audio/mpeg");
    expect(mp3.audio.uint8Array.length).toBeGreaterThan(500);
    const pcm = await generateSpeech({ model: openai.speech("gpt-4o-mini-tts"), text: "Hello there.", voice: "marin", outputFormat: "pcm", maxRetries: 0 });
    const wav = await generateSpeech({ model: openai.speech("gpt-4o-mini-tts"), text: "Hello there.", voice: "marin", outputFormat: "wav", maxRetries: 0 });
    const decoded = decodeWav(wav.audio.uint8Array);
    // 2 bytes per sample at 24 kHz: as long as the wav (at the voice's rate), within a sample
    expect(Math.abs(pcm.audio.uint8Array.length / 2 / 24000 - decoded.samples.length / decoded.sampleRate)).toBeLessThan(1 / decoded.sampleRate + 1 / 24000);
  }, 30_000);
});
