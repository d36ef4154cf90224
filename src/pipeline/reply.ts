// One spoken reply: LLM stream -> sentences -> TTS, each sentence yielded as soon as it is spoken,
// while the model keeps generating and the voice keeps speaking the next ones.
import type { Engines } from "../engines/index.ts";
import type { AudioChunk, ChatMessage, ChatOptions, ChatResult } from "../engines/types.ts";
import { Channel } from "../util/channel.ts";
import { splitSentences } from "./sentences.ts";
import type { SpokenSentence } from "./types.ts";
import { concatSamples } from "../audio/bytes.ts";

export interface SpeakReplyOptions {
  chat: ChatOptions;
  voice?: string;
  speed?: number;
  separators: string;
  signal?: AbortSignal;
  /** Called with the LLM's result once generation has finished. */
  onChatDone?: (result: ChatResult) => void;
}

export async function* speakReply(
  engines: Pick<Engines, "llm" | "tts">,
  messages: ChatMessage[],
  opts: SpeakReplyOptions,
): AsyncIterable<SpokenSentence> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const text = new Channel<string>();
  engines.llm
    .chat(messages, { ...opts.chat, signal: stop.signal }, (chunk) => text.push(chunk))
    .then((result) => {
      opts.onChatDone?.(result);
      text.close();
    }, (e) => text.close(e));
  // Synthesis runs ahead of the consumer, so sentence k+1 is spoken while sentence k is encoded and sent.
  const spoken = new Channel<SpokenSentence>();
  (async () => {
    let order = 0;
    for await (const sentence of splitSentences(text, opts.separators)) {
      const audio = await collectAudio(engines.tts.synthesize(sentence, { voice: opts.voice, speed: opts.speed, signal: stop.signal }));
      if (audio) spoken.push({ order: ++order, text: sentence, audio, readyAt: Date.now() });
    }
  })().then(() => spoken.close(), (e) => spoken.close(e));
  try {
    yield* spoken;
  } finally {
    stop.abort(); // consumer stopped early or failed: stop generating and synthesizing
    opts.signal?.removeEventListener("abort", onAbort);
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
