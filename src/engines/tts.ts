// The one owner of the sherpa-onnx OfflineTts voices: one synthesis at a time, streamed per sentence.
import sherpa from "sherpa-onnx-node";
import { BadRequest, Cancelled, NotReady } from "../errors.ts";
import { logger } from "../log.ts";
import { metrics } from "../metrics.ts";
import type { TtsVoice } from "../models/types.ts";
import { Channel } from "../util/channel.ts";
import { SerialQueue } from "./queue.ts";
import type { AudioChunk, SynthesizeOptions } from "./types.ts";

const log = logger("tts");

export const OPENAI_VOICES = ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"] as const;

export interface TtsSettings {
  threads: number;
  defaultVoice: string;
  voiceMap: Record<string, string>;
  maxQueue: number;
}

export interface VoiceInfo {
  id: string;
  language: string;
  speakers: number;
  sampleRate: number;
}

interface LoadedVoice {
  info: VoiceInfo;
  tts: any;
}

export class TtsEngine {
  private readonly queue: SerialQueue;
  private voiceMap: Record<string, string>;

  private constructor(
    private readonly loaded: Map<string, LoadedVoice>,
    private readonly settings: TtsSettings,
  ) {
    this.queue = new SerialQueue(settings.maxQueue, (n) => metrics.setQueueDepth("tts", n));
    this.voiceMap = {};
    this.setVoiceMap(settings.voiceMap);
    if (settings.defaultVoice) this.resolveVoice(settings.defaultVoice);
  }

  static async load(voices: TtsVoice[], settings: TtsSettings): Promise<TtsEngine> {
    const loaded = new Map<string, LoadedVoice>();
    for (const voice of voices) {
      try {
        const tts = await sherpa.OfflineTts.createAsync({
          model: modelConfig(voice, settings.threads),
          maxNumSentences: 1,
          silenceScale: 0.2,
          ruleFsts: voice.files.ruleFsts ?? "",
          ruleFars: voice.files.ruleFars ?? "",
        });
        loaded.set(voice.id, { tts, info: { id: voice.id, language: voice.language, speakers: tts.numSpeakers, sampleRate: tts.sampleRate } });
        log.info("loaded", { voice: voice.id, speakers: tts.numSpeakers, rate: tts.sampleRate, threads: settings.threads });
      } catch (e) {
        throw new NotReady(`cannot load the voice ${voice.id}: ${(e as Error).message}. Run "bun run setup --verify".`);
      }
    }
    if (loaded.size === 0) throw new NotReady("the model profile has no TTS voice");
    return new TtsEngine(loaded, settings);
  }

  voices(): VoiceInfo[] {
    return [...this.loaded.values()].map((v) => v.info);
  }

  /** Every name /v1/audio/speech accepts, for error messages and GET /v1/audio/voices. */
  voiceNames(): string[] {
    const names: string[] = [];
    for (const v of this.voices()) {
      names.push(v.id);
      for (let s = 1; s < Math.min(v.speakers, 10); s++) names.push(`${v.id}:${s}`);
    }
    return [...OPENAI_VOICES, ...names];
  }

  currentVoiceMap(): Record<string, string> {
    const map: Record<string, string> = {};
    for (const name of OPENAI_VOICES) map[name] = this.voiceMap[name] ?? this.spreadVoice(name);
    return map;
  }

  /** Remaps OpenAI voice names; each target must be an installed voice ("id" or "id:speaker"). */
  setVoiceMap(map: Record<string, string>) {
    for (const [from, to] of Object.entries(map)) this.resolveLocal(to, `voice map entry "${from}"`);
    this.voiceMap = { ...this.voiceMap, ...map };
  }

  /**
   * Canonical "id:speaker" for a voice name: a local voice ("amy", "aishell3:12"), an OpenAI
   * name, or nothing (the default voice, or the first voice of `language`).
   */
  resolveVoice(name?: string | null, language?: string): string {
    if (!name) {
      if (language) {
        const match = this.voices().find((v) => v.language === language.toLowerCase().slice(0, 2));
        if (match) return `${match.id}:0`;
      }
      return this.settings.defaultVoice ? this.resolveLocal(this.settings.defaultVoice, "[tts] default_voice") : `${this.voices()[0]!.id}:0`;
    }
    const lower = name.toLowerCase();
    if ((OPENAI_VOICES as readonly string[]).includes(lower)) return this.resolveLocal(this.voiceMap[lower] ?? this.spreadVoice(lower), "voice");
    return this.resolveLocal(name, "voice");
  }

  sampleRateOf(voice: string): number {
    return this.loaded.get(voice.split(":")[0]!)!.info.sampleRate;
  }

  /** Speaks `text`, yielding audio sentence by sentence as soon as each is synthesized. */
  async *synthesize(text: string, opts: SynthesizeOptions = {}): AsyncIterable<AudioChunk> {
    const [id, speaker] = this.resolveVoice(opts.voice).split(":");
    const voice = this.loaded.get(id!)!;
    const speed = opts.speed ?? 1;
    if (!text.trim()) return;
    const chunks = new Channel<AudioChunk>();
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const sampleRate = voice.info.sampleRate;
    const job = this.queue.run(async () => {
      await voice.tts.generateAsync({
        text,
        sid: Number(speaker),
        speed,
        enableExternalBuffer: false,
        onProgress: (info: { samples: Float32Array }) => {
          if (stop.signal.aborted) return 0;
          if (info.samples.length) chunks.push({ samples: Float32Array.from(info.samples), sampleRate });
          return 1;
        },
      });
    }, stop.signal);
    job.then(() => chunks.close(), (e) => chunks.close(e));
    try {
      for await (const chunk of chunks) yield chunk;
      if (opts.signal?.aborted) throw new Cancelled();
    } finally {
      stop.abort(); // consumer stopped early: end the synthesis
      opts.signal?.removeEventListener("abort", onAbort);
      await job.catch(() => {});
    }
  }

  close() {
    this.queue.close();
  }

  private resolveLocal(name: string, what: string): string {
    const [id, speakerText] = name.split(":");
    const voice = this.loaded.get(id!);
    const speaker = speakerText === undefined ? 0 : Number(speakerText);
    if (!voice || !Number.isInteger(speaker) || speaker < 0 || speaker >= voice.info.speakers) {
      throw new BadRequest(
        `${what}: unknown voice "${name}". Valid voices: ${this.voiceNamesForError()}.`,
        "voice",
      );
    }
    return `${id}:${speaker}`;
  }

  private voiceNamesForError(): string {
    const local = this.voices().map((v) => (v.speakers > 1 ? `${v.id} (or ${v.id}:0..${v.speakers - 1})` : v.id));
    return [...OPENAI_VOICES, ...local].join(", ");
  }

  /** Unmapped OpenAI names spread over English voices/speakers first, in a fixed order. */
  private spreadVoice(openaiName: string): string {
    const voices = this.voices().sort((a, b) => Number(b.language === "en") - Number(a.language === "en"));
    const pairs = voices.flatMap((v) => Array.from({ length: Math.min(v.speakers, OPENAI_VOICES.length) }, (_, s) => `${v.id}:${s}`));
    const index = OPENAI_VOICES.indexOf(openaiName as (typeof OPENAI_VOICES)[number]);
    return pairs[index % pairs.length]!;
  }
}

function modelConfig(voice: TtsVoice, threads: number) {
  const f = voice.files;
  const common = { numThreads: threads, debug: 0, provider: "cpu" };
  switch (voice.type) {
    case "vits":
      return { ...common, vits: { model: f.model, tokens: f.tokens, dataDir: f.dataDir ?? "", lexicon: f.lexicon ?? "", dictDir: f.dictDir ?? "" } };
    case "matcha":
      return { ...common, matcha: { acousticModel: f.acousticModel, vocoder: f.vocoder, tokens: f.tokens, dataDir: f.dataDir ?? "", lexicon: f.lexicon ?? "", dictDir: f.dictDir ?? "" } };
    case "kokoro":
      return { ...common, kokoro: { model: f.model, voices: f.voices, tokens: f.tokens, dataDir: f.dataDir ?? "", lexicon: f.lexicon ?? "", dictDir: f.dictDir ?? "" } };
  }
}
