// POST /v1/audio/speech: the body streams out sentence by sentence as it is synthesized.
import { z } from "zod";
import { checkSpeechFormat, checkSpeechRate, createSpeechEncoder } from "../audio/encode.ts";
import { isOpusRate } from "../audio/opus.ts";
import type { AudioChunk } from "../engines/types.ts";
import { Cancelled } from "../errors.ts";
import { logger } from "../log.ts";
import { metrics } from "../metrics.ts";
import { readJson } from "../http/body.ts";
import type { ApiDeps } from "./deps.ts";
import { sseResponseAfterFirstEvent } from "../http/sse.ts";

const log = logger("speech");

const speechRequest = z
  .object({
    model: z.string().min(1),
    input: z.string().min(1).max(4096).refine((text) => text.trim().length > 0, "must contain some text, not only whitespace"),
    voice: z.union([z.string().min(1), z.object({ id: z.string().min(1) }).transform((v) => v.id)]),
    response_format: z.enum(["mp3", "wav", "pcm", "opus", "flac", "aac"]).default("mp3"),
    speed: z.number().min(0.25).max(4).default(1),
    stream_format: z.enum(["audio", "sse"]).default("audio"),
    instructions: z.string().optional(),
    /** Not an OpenAI field: the rate of the audio sent back (pcm defaults to OpenAI's 24 kHz). */
    sample_rate: z.number().int().optional(),
  })
  .loose();

/** OpenAI's `pcm` is 24 kHz; clients play it at that rate without reading any header. */
const PCM_RATE = 24000;
/**
 * MP3 below 16 kHz is MPEG-2.5, which many players and toy firmware do not play (a FoloToy server
 * pointed at Hearth hands these files to toys): an 8 kHz voice is sent as 16 kHz MP3.
 */
const MP3_MIN_RATE = 16000;
/** Opus encodes at 8, 12, 16, 24 or 48 kHz: a voice at another rate (Piper's 22050) is sent at 24 kHz. */
const opusRate = (rate: number) => (isOpusRate(rate) ? rate : 24000);

export async function speech(req: Request, deps: ApiDeps): Promise<Response> {
  const body = await readJson(req, speechRequest);
  const { engines, voices } = deps.pipeline();
  const tts = engines.tts;
  // A voice that can speak the input's language: 400 listing valid voices when unknown, and
  // naming the voices that can when the one asked for cannot (never a 200 of near-silence).
  const voice = voices.forText(body.voice, body.input);
  const sampleRate = voices.sampleRateOf(voice);
  const format = checkSpeechFormat(body.response_format); // 400 for a format with no encoder, before any work
  const outputRate = body.sample_rate ?? (format === "pcm" ? PCM_RATE : format === "mp3" ? Math.max(sampleRate, MP3_MIN_RATE) : format === "opus" ? opusRate(sampleRate) : sampleRate);
  if (outputRate !== sampleRate) checkSpeechRate(format, outputRate);
  const started = performance.now();
  const abort = new AbortController();
  req.signal.addEventListener("abort", () => abort.abort(), { once: true });
  const chunks = tts.synthesize(body.input, { voice, speed: body.speed, signal: abort.signal });
  const iterator = chunks[Symbol.asyncIterator]();
  const firstChunk = iterator.next(); // synthesis starts now, while the encoder is set up
  const encoder = await createSpeechEncoder(format, sampleRate, { mp3Kbps: 64, outputRate }).catch((e) => {
    abort.abort();
    firstChunk.catch(() => {});
    throw e;
  });
  const recordFirstAudio = once(() => metrics.observeStage("first_audio", (performance.now() - started) / 1000, "api"));

  if (body.stream_format === "sse") {
    // As with stream_format audio, the 200 waits for the first audio, so a failure there (a full
    // synthesis queue) is still an error status.
    return sseResponseAfterFirstEvent(
      req,
      async (sse) => {
        let bytes = 0;
        for (let next = await firstChunk; !next.done; next = await iterator.next()) {
          const chunk = next.value;
          const encoded = await encoder.encode(chunk.samples);
          bytes += encoded.length;
          if (encoded.length) sse.send({ type: "speech.audio.delta", audio: Buffer.from(encoded).toString("base64") });
          recordFirstAudio();
        }
        const tail = await encoder.finish();
        if (tail.length) sse.send({ type: "speech.audio.delta", audio: Buffer.from(tail).toString("base64") });
        sse.send({ type: "speech.audio.done", usage: { input_tokens: body.input.length, output_tokens: bytes + tail.length, total_tokens: body.input.length + bytes + tail.length } });
      },
    );
  }

  // Wait for the first sentence before answering, so a failure there is still a proper error status.
  const first = await firstChunk;
  let pending: IteratorResult<AudioChunk> | undefined = first;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = pending ?? (await iterator.next());
        pending = undefined;
        if (next.done) {
          controller.enqueue(await encoder.finish());
          controller.close();
          return;
        }
        controller.enqueue(await encoder.encode(next.value.samples));
        recordFirstAudio();
        // When synthesis runs ahead of encoding, the next chunks resolve in microtasks only;
        // a macrotask turn lets Bun write this chunk to the socket before encoding the next.
        await new Promise((resolve) => setImmediate(resolve));
      } catch (e) {
        if (!(e instanceof Cancelled)) log.error("speech stream failed", { error: String(e) });
        controller.error(e);
      }
    },
    cancel() {
      abort.abort();
      void iterator.return?.();
    },
  });
  const headers: Record<string, string> = { "Content-Type": encoder.contentType, "Transfer-Encoding": "chunked" };
  if (format === "pcm") headers["X-Sample-Rate"] = String(encoder.sampleRate);
  return new Response(stream, { headers });
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}
