// A reply as a stream: LLM text -> sentences -> speech, each sentence handed on as soon as it is
// complete, while the model keeps generating and the voice keeps speaking the next ones.
import { concatSamples } from "../audio/bytes.ts";
import type { AudioChunk, ChatMessage, ChatOptions, ChatResult, Llm, Tts } from "../engines/types.ts";
import { Channel } from "../util/channel.ts";
import { splitReply, type FirstClause, type ReplyPiece } from "./sentences.ts";

export interface ReplyText {
  /** Complete sentences in order, the first possibly preceded by its early first clause. */
  pieces: AsyncIterable<ReplyPiece>;
  /** The LLM's result once generation has finished. */
  result: Promise<ChatResult>;
}

/** Starts generating now; the sentences come out as the text streams in. Aborting `signal` stops the model. */
export function replySentences(llm: Llm, messages: ChatMessage[], chat: ChatOptions, separators: string, signal: AbortSignal, firstClause?: FirstClause): ReplyText {
  const text = new Channel<string>();
  const result = llm.chat(messages, { ...chat, signal }, (chunk) => text.push(chunk));
  result.then(() => text.close(), (e) => text.close(e));
  return { pieces: splitReply(text, separators, firstClause), result };
}

export interface Voiced {
  audio: AudioChunk;
  /** Epoch ms when its audio was ready. */
  readyAt: number;
}

/**
 * Speaks each item's text as it arrives, running ahead of the consumer: item k+1 is synthesized
 * while item k is encoded and sent. Items whose text produces no audio are skipped.
 */
export async function* synthesizeAhead<T extends { text: string }>(
  items: AsyncIterable<T>,
  tts: Tts,
  opts: { voice: string; speed?: number; signal: AbortSignal },
): AsyncIterable<T & Voiced> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal.addEventListener("abort", onAbort, { once: true });
  const spoken = new Channel<T & Voiced>();
  (async () => {
    for await (const item of items) {
      const audio = await collectAudio(tts.synthesize(item.text, { voice: opts.voice, speed: opts.speed, signal: stop.signal }));
      if (audio) spoken.push({ ...item, audio, readyAt: Date.now() });
    }
  })().then(() => spoken.close(), (e) => spoken.close(e));
  try {
    yield* spoken;
  } finally {
    stop.abort(); // consumer stopped early or failed: stop synthesizing
    opts.signal.removeEventListener("abort", onAbort);
  }
}

/** Joins a sentence's chunks into one buffer; undefined when the text produced no audio. */
export async function collectAudio(chunks: AsyncIterable<AudioChunk>): Promise<AudioChunk | undefined> {
  const parts: Float32Array[] = [];
  let sampleRate = 0;
  for await (const c of chunks) {
    parts.push(c.samples);
    sampleRate = c.sampleRate;
  }
  const samples = concatSamples(parts);
  return samples.length ? { samples, sampleRate } : undefined;
}
