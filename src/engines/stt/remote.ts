// Speech to text on other machines: POST /v1/audio/transcriptions (another Hearth, LocalAI,
// speaches...) with the audio as 16-bit WAV and response_format verbose_json (text, language,
// segments). Transcription is idempotent, so a request that fails moves to another upstream.
import { encodeWav } from "../../audio/wav.ts";
import { UpstreamFailure } from "../remote/failure.ts";
import { languageCode, WHISPER_LANGUAGES } from "../remote/languages.ts";
import { UpstreamPool } from "../remote/pool.ts";
import type { Stt, Transcript, TranscriptSegment, TranscribeOptions } from "../types.ts";

export interface RemoteSttSettings {
  urls: string[];
  apiKey: string;
  /** "" = "whisper-1". */
  model: string;
  /** [stt] language: the hint when a request has none ("auto" = none). */
  language: string;
  timeoutMs: number;
  maxQueue: number;
  healthIntervalMs?: number;
}

interface VerboseTranscript {
  text?: unknown;
  language?: unknown;
  duration?: unknown;
  segments?: { start?: unknown; end?: unknown; text?: unknown }[];
}

export class RemoteStt implements Stt {
  readonly languages = Object.keys(WHISPER_LANGUAGES);

  private constructor(
    readonly pool: UpstreamPool,
    private readonly settings: RemoteSttSettings,
  ) {}

  static async load(settings: RemoteSttSettings): Promise<RemoteStt> {
    const pool = new UpstreamPool({ engine: "stt", urls: settings.urls, apiKey: settings.apiKey, timeoutMs: settings.timeoutMs, maxQueue: settings.maxQueue, healthIntervalMs: settings.healthIntervalMs });
    await pool.start();
    return new RemoteStt(pool, settings);
  }

  get id(): string {
    return this.settings.model || "whisper-1";
  }

  async transcribe(samples: Float32Array, sampleRate: number, opts: TranscribeOptions = {}): Promise<Transcript> {
    const duration = samples.length / sampleRate;
    const wav = encodeWav(samples, sampleRate);
    const hint = opts.language && opts.language !== "auto" ? opts.language : this.settings.language !== "auto" ? this.settings.language : "";
    const transcript = await this.pool.run(
      async ({ upstream, signal, firstData }) => {
        const form = new FormData();
        form.set("file", new Blob([wav as Uint8Array<ArrayBuffer>], { type: "audio/wav" }), "speech.wav");
        form.set("model", this.id);
        form.set("response_format", "verbose_json");
        if (hint) form.set("language", hint);
        const res = await upstream.fetch("/audio/transcriptions", { body: form, signal });
        let body: VerboseTranscript;
        try {
          body = (await res.json()) as VerboseTranscript;
        } catch {
          throw new UpstreamFailure("down", `${upstream.url} answered a transcription that is not JSON`);
        }
        firstData();
        return toTranscript(body, duration, hint);
      },
      // A slow recognizer says nothing until it is done: allow it the audio's length on top.
      { signal: opts.signal, timeoutMs: this.pool.timeoutMs + duration * 1000 },
    );
    for (const segment of transcript.segments) opts.onSegment?.(segment);
    return transcript;
  }

  close() {
    this.pool.close();
  }
}

function toTranscript(body: VerboseTranscript, duration: number, hint: string): Transcript {
  const text = typeof body.text === "string" ? body.text.trim() : "";
  const segments: TranscriptSegment[] = (Array.isArray(body.segments) ? body.segments : [])
    .map((s) => ({ start: Number(s.start) || 0, end: Number(s.end) || 0, text: typeof s.text === "string" ? s.text.trim() : "" }))
    .filter((s) => s.text);
  return {
    text,
    language: languageCode(body.language) || hint || "en",
    duration: typeof body.duration === "number" ? body.duration : duration,
    segments: segments.length || !text ? segments : [{ start: 0, end: duration, text }],
  };
}
