// Text to speech on other machines: POST /v1/audio/speech with response_format "pcm" (s16le mono,
// 24 kHz as OpenAI's, or the rate X-Sample-Rate says), read as it streams so a sentence's audio
// flows on while the rest is synthesized. Voices are the first reachable server's GET
// /v1/audio/voices (Hearth's list: ids, languages, speakers, rates; or a plain list of names);
// a server without that list gets the OpenAI voice names. Until it has spoken, a request that
// fails moves to another upstream.
import { s16leToFloat } from "../../audio/pcm.ts";
import { StreamingResampler } from "../../audio/resample.ts";
import { BadRequest, Cancelled } from "../../errors.ts";
import { logger } from "../../log.ts";
import { Channel } from "../../util/channel.ts";
import { UpstreamPool } from "../remote/pool.ts";
import { chunksOf } from "../remote/sse.ts";
import type { Upstream } from "../remote/upstream.ts";
import type { AudioChunk, SynthesizeOptions, Tts, VoiceInfo } from "../types.ts";

const log = logger("tts");

/** OpenAI's `pcm` rate, assumed when a server does not say. */
const OPENAI_PCM_RATE = 24000;
const OPENAI_VOICES = ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"];
/** While no server is reachable at start, look again this often. */
const VOICE_RETRY_MS = 2000;

export interface RemoteTtsSettings {
  urls: string[];
  apiKey: string;
  /** "" = "tts-1". */
  model: string;
  timeoutMs: number;
  maxQueue: number;
  healthIntervalMs?: number;
}

interface RemoteVoice {
  info: VoiceInfo;
  /** The server gave the voice's own rate (Hearth): ask for it with `sample_rate`. */
  nativeRate: boolean;
}

export class RemoteTts implements Tts {
  private constructor(
    readonly pool: UpstreamPool,
    private readonly settings: RemoteTtsSettings,
    private readonly remoteVoices: Map<string, RemoteVoice>,
  ) {}

  /** Resolves once a server has listed its voices (the pipeline needs them to start). */
  static async load(settings: RemoteTtsSettings): Promise<RemoteTts> {
    const pool = new UpstreamPool({ engine: "tts", urls: settings.urls, apiKey: settings.apiKey, timeoutMs: settings.timeoutMs, maxQueue: settings.maxQueue, healthIntervalMs: settings.healthIntervalMs });
    await pool.start();
    for (let warned = false; ; warned = true) {
      for (const upstream of pool.upstreams.filter((u) => u.state === "up")) {
        const voices = await listVoices(upstream).catch((e) => {
          log.warn("cannot list the voices of a TTS server", { upstream: upstream.url, error: (e as Error).message });
          return undefined;
        });
        if (voices) return new RemoteTts(pool, settings, voices);
      }
      if (!warned) log.warn(`waiting for a TTS server to list its voices (${settings.urls.join(", ")})`);
      await Bun.sleep(VOICE_RETRY_MS);
    }
  }

  voices(): VoiceInfo[] {
    return [...this.remoteVoices.values()].map((v) => v.info);
  }

  async *synthesize(text: string, opts: SynthesizeOptions): AsyncIterable<AudioChunk> {
    const [id, speakerText] = opts.voice.split(":");
    const voice = this.remoteVoices.get(id!);
    const speaker = Number(speakerText ?? 0);
    if (!voice || !Number.isInteger(speaker) || speaker < 0 || speaker >= voice.info.speakers) {
      throw new BadRequest(`unknown voice "${opts.voice}"`, "voice");
    }
    if (!text.trim()) return;
    const rate = voice.info.sampleRate;
    const body: Record<string, unknown> = {
      model: this.settings.model || "tts-1",
      input: text,
      voice: voice.info.speakers > 1 ? `${id}:${speaker}` : id,
      response_format: "pcm",
      speed: opts.speed ?? 1,
    };
    if (voice.nativeRate) body.sample_rate = rate;
    const chunks = new Channel<AudioChunk>();
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    let spoken = false;
    const job = this.pool.run(
      async ({ upstream, signal, alive, firstData }) => {
        const res = await upstream.fetch("/audio/speech", { json: body, signal });
        const serverRate = Number(res.headers.get("x-sample-rate")) || OPENAI_PCM_RATE;
        const resampler = serverRate === rate ? undefined : new StreamingResampler(serverRate, rate);
        let odd: Uint8Array | undefined; // half a sample carried to the next network chunk
        for await (const received of chunksOf(res.body!)) {
          alive();
          let bytes = received;
          if (odd) {
            bytes = new Uint8Array(odd.length + received.length);
            bytes.set(odd);
            bytes.set(received, odd.length);
            odd = undefined;
          }
          if (bytes.length % 2) odd = bytes.slice(-1);
          const samples = resampler ? resampler.push(s16leToFloat(bytes)) : s16leToFloat(bytes);
          if (!samples.length) continue;
          firstData();
          spoken = true;
          chunks.push({ samples, sampleRate: rate });
        }
        const tail = resampler?.flush();
        if (tail?.length) chunks.push({ samples: tail, sampleRate: rate });
      },
      { signal: stop.signal, canRetry: () => !spoken },
    );
    job.then(() => chunks.close(), (e) => chunks.close(e));
    try {
      for await (const chunk of chunks) yield chunk;
      if (opts.signal?.aborted) throw new Cancelled();
    } finally {
      stop.abort(); // the consumer stopped early: end the request
      opts.signal?.removeEventListener("abort", onAbort);
      await job.catch(() => {});
    }
  }

  close() {
    this.pool.close();
  }
}

/** GET /v1/audio/voices: Hearth's objects, a list of names, or (404) OpenAI's names. */
async function listVoices(upstream: Upstream): Promise<Map<string, RemoteVoice>> {
  const voices = new Map<string, RemoteVoice>();
  const add = (id: string, language: string, speakers: number, sampleRate?: number) =>
    voices.set(id, { info: { id, language, speakers: Math.max(1, speakers), sampleRate: sampleRate ?? OPENAI_PCM_RATE }, nativeRate: sampleRate !== undefined });
  let body: { voices?: unknown[] } | undefined;
  try {
    const res = await upstream.fetch("/audio/voices", { signal: AbortSignal.timeout(5000) });
    body = (await res.json()) as { voices?: unknown[] };
  } catch (e) {
    if (!(e instanceof Error && / answered 404\b/.test(e.message))) throw e; // no voice list: OpenAI's names below
  }
  for (const v of Array.isArray(body?.voices) ? body.voices : []) {
    if (typeof v === "string") add(v, "en", 1);
    else if (v && typeof v === "object" && typeof (v as any).id === "string") {
      const o = v as { id: string; language?: unknown; speakers?: unknown; sample_rate?: unknown };
      add(o.id, typeof o.language === "string" ? o.language : "en", Number(o.speakers) || 1, Number(o.sample_rate) || undefined);
    }
  }
  if (voices.size === 0) for (const name of OPENAI_VOICES) add(name, "en", 1);
  return voices;
}
