// Speech to text with the sherpa-onnx OfflineRecognizer: VAD-gated, window-sized pieces, one decode
// at a time; segments and word times follow the speech (see timing.ts).
import sherpa from "sherpa-onnx-node";
import { normalizeLevel } from "../../audio/level.ts";
import { resample } from "../../audio/resample.ts";
import { Cancelled, NotReady } from "../../errors.ts";
import { logger } from "../../log.ts";
import { metrics } from "../../metrics.ts";
import type { SttModel } from "../../models/types.ts";
import { SerialQueue } from "../queue.ts";
import type { Stt, Transcript, TranscriptSegment, TranscribeOptions, Vad } from "../types.ts";
import { stripAnnotations } from "./annotations.ts";
import { splitAtPauses, timeWords, toCues, type PieceResult, type Span } from "./timing.ts";

const log = logger("stt");
const SAMPLE_RATE = 16000;

export interface SherpaSttSettings {
  threads: number;
  language: string;
  maxQueue: number;
}

export class SherpaStt implements Stt {
  private readonly queue: SerialQueue;
  /** Whether Whisper's segment timestamps are switched on in the recognizer now (see decode). */
  private segmentTimes = false;
  /** The language hint the recognizer is configured with now ([stt] language until a turn asks for another). */
  private hint: string;
  private task: "transcribe" | "translate" = "transcribe";

  private constructor(
    readonly model: SttModel,
    private readonly recognizer: any,
    private readonly vad: Vad,
    private readonly settings: SherpaSttSettings,
  ) {
    this.queue = new SerialQueue(settings.maxQueue, (n) => metrics.setQueueDepth("stt", n));
    this.hint = settings.language;
  }

  static async load(model: SttModel, vad: Vad, settings: SherpaSttSettings): Promise<SherpaStt> {
    try {
      const recognizer = await sherpa.OfflineRecognizer.createAsync(recognizerConfig(model, settings));
      log.info("loaded", { model: model.id, type: model.type, threads: settings.threads });
      return new SherpaStt(model, recognizer, vad, settings);
    } catch (e) {
      throw new NotReady(`cannot load the speech recognizer ${model.id}: ${(e as Error).message}. Run "npm run setup -- --verify".`);
    }
  }

  get id(): string {
    return this.model.id;
  }

  get canTranslate(): boolean {
    return this.model.type === "whisper" && this.model.languages.length > 1;
  }

  get languages(): string[] {
    return this.model.languages;
  }

  /**
   * Transcribes mono audio at any rate. Quiet recordings are brought to speech level first
   * (toy microphones record around -50 dBFS). Non-speech gives "" (Whisper would invent text on
   * silence), and so does a transcript of annotations only ("[BLANK_AUDIO]"); audio longer than
   * the model's window is cut at VAD pauses, never truncated. Audio that fits the window is
   * decoded whole (the recognizer hears the whole context). Segments are the speech's own
   * stretches (VAD segments split further at pauses, at most timing.CUE_MAX_SECONDS each), with
   * their words timed inside them: see timing.ts for how, and the README for how precisely.
   */
  async transcribe(samples: Float32Array, sampleRate: number, opts: TranscribeOptions = {}): Promise<Transcript> {
    const input = sampleRate === SAMPLE_RATE ? samples : resample(samples, sampleRate, SAMPLE_RATE);
    const { samples: audio, level, gainDb } = normalizeLevel(input, SAMPLE_RATE);
    if (gainDb > 0) log.debug("level normalized", { gainDb: round(gainDb), speechDb: round(level.speechDb), floorDb: round(level.floorDb) });
    const duration = audio.length / SAMPLE_RATE;
    const speech = await this.vad.segments(audio, { signal: opts.signal });
    if (opts.signal?.aborted) throw new Cancelled();
    const language = opts.language && opts.language !== "auto" ? opts.language : this.model.languages.length === 1 ? this.model.languages[0]! : "";
    if (speech.length === 0) return { text: "", language, duration, segments: [] };
    const regions: Span[] = speech.map((s) => ({ start: s.start, end: s.start + s.samples.length / SAMPLE_RATE }));
    // A second short of the window: sherpa's Whisper drops what is past 29.5 s (3000 - 50 feature frames).
    const window = this.model.windowSeconds - 1;
    const pieces = duration <= window ? [{ start: 0, samples: audio, regions }] : cutAtPauses(audio, regions, window);

    const segments: TranscriptSegment[] = [];
    let detected = language;
    for (const piece of pieces) {
      // Whisper's own segment times say which text goes with which stretch of speech when a piece holds several.
      const result = await this.decode(piece.samples, opts.signal, this.model.type === "whisper" && piece.regions.length > 1, language, opts.task === "translate" && this.canTranslate ? "translate" : "transcribe");
      if (result.lang) detected ||= normalizeLanguageTag(result.lang);
      const spans = splitAtPauses(audio, SAMPLE_RATE, piece.regions);
      const words = timeWords(pieceResult(result), piece.start, spans, stripAnnotations);
      for (const cue of toCues(words)) {
        const segment: TranscriptSegment = { start: cue.start, end: cue.end, text: cue.text, words: cue.words.map(({ word, start, end }) => ({ word, start, end })) };
        segments.push(segment);
        opts.onSegment?.(segment);
      }
    }
    return { text: segments.map((s) => s.text).join(" "), language: detected || "en", duration, segments };
  }

  /**
   * One decode. `segmentTimes` switches Whisper's timestamp tokens on for this decode only
   * (setConfig is cheap; decodes take turns): they tell where each sentence of a multi-sentence
   * piece is, but they slightly change what tiny models write, so a piece of one stretch of
   * speech is decoded exactly as without them.
   */
  private decode(samples: Float32Array, signal: AbortSignal | undefined, segmentTimes: boolean, language: string, task: "transcribe" | "translate"): Promise<SherpaResult> {
    // A role's or a request's language steers models that take a hint (SenseVoice, multilingual Whisper).
    const hint = this.model.languages.length > 1 && this.model.languages.includes(language) ? language : this.settings.language;
    return this.queue.run(async () => {
      if (signal?.aborted) throw new Cancelled();
      if (segmentTimes !== this.segmentTimes || hint !== this.hint || task !== this.task) {
        const config = recognizerConfig(this.model, { ...this.settings, language: hint }, task);
        if (config.modelConfig.whisper) (config.modelConfig.whisper as Record<string, unknown>).enableSegmentTimestamps = segmentTimes ? 1 : 0;
        this.recognizer.setConfig(config);
        this.segmentTimes = segmentTimes;
        this.hint = hint;
        this.task = task;
      }
      const stream = this.recognizer.createStream();
      stream.acceptWaveform({ sampleRate: SAMPLE_RATE, samples });
      await this.recognizer.decodeAsync(stream);
      return this.recognizer.getResult(stream);
    }, signal);
  }

  close() {
    this.queue.close();
  }
}

/** What the recognizer returns (getResult's JSON); the timestamp fields only for some model types. */
interface SherpaResult {
  text: string;
  lang?: string;
  tokens?: string[];
  timestamps?: number[];
  segment_timestamps?: number[];
  segment_durations?: number[];
  segment_texts?: string[];
}

function pieceResult(r: SherpaResult): PieceResult {
  return {
    text: r.text,
    tokens: r.tokens,
    timestamps: r.timestamps,
    segmentTexts: r.segment_texts,
    segmentStarts: r.segment_timestamps,
    segmentDurations: r.segment_durations,
  };
}

/**
 * Cuts the audio at pauses between speech segments into pieces no longer than the model's
 * window. Each piece is the original audio from its first segment's start to its last
 * segment's end, inner pauses included, so the model hears natural speech and times are true.
 */
function cutAtPauses(audio: Float32Array, regions: Span[], windowSeconds: number) {
  const pad = 0.2 * SAMPLE_RATE; // keep a little of the pause on each side of the cut
  const groups: { from: number; to: number; regions: Span[] }[] = [];
  for (const region of regions) {
    const from = Math.round(region.start * SAMPLE_RATE);
    const to = Math.round(region.end * SAMPLE_RATE);
    const last = groups.at(-1);
    if (last && to - last.from <= windowSeconds * SAMPLE_RATE - 2 * pad) {
      last.to = to;
      last.regions.push(region);
    } else groups.push({ from, to, regions: [region] });
  }
  return groups.map(({ from, to, regions }) => {
    const a = Math.max(0, from - pad);
    return { start: a / SAMPLE_RATE, samples: audio.subarray(a, Math.min(audio.length, to + pad)), regions };
  });
}

const round = (db: number) => Math.round(db * 10) / 10;

/** SenseVoice reports "<|en|>"; keep the bare ISO code. */
function normalizeLanguageTag(tag: string): string {
  return tag.replace(/[<|>]/g, "");
}

export function recognizerConfig(model: SttModel, settings: Pick<SherpaSttSettings, "threads" | "language">, task: "transcribe" | "translate" = "transcribe") {
  const f = model.files;
  const hint = settings.language !== "auto" ? settings.language : "";
  const modelConfig: Record<string, unknown> = { tokens: f.tokens, numThreads: settings.threads, provider: "cpu", debug: 0 };
  switch (model.type) {
    case "whisper":
      modelConfig.whisper = { encoder: f.encoder, decoder: f.decoder, language: hint || (model.languages.length === 1 ? model.languages[0] : ""), task };
      break;
    case "sense_voice":
      modelConfig.senseVoice = { model: f.model, language: hint, useInverseTextNormalization: 1 };
      break;
    case "moonshine":
      modelConfig.moonshine = { preprocessor: f.preprocessor, encoder: f.encoder, uncachedDecoder: f.uncachedDecoder, cachedDecoder: f.cachedDecoder };
      break;
    case "paraformer":
      modelConfig.paraformer = { model: f.model };
      break;
    case "transducer":
      modelConfig.transducer = { encoder: f.encoder, decoder: f.decoder, joiner: f.joiner };
      break;
    case "nemo_ctc":
      modelConfig.nemoCtc = { model: f.model };
      break;
    case "fire_red_asr":
      modelConfig.fireRedAsr = { encoder: f.encoder, decoder: f.decoder };
      break;
  }
  return { featConfig: { sampleRate: SAMPLE_RATE, featureDim: 80 }, modelConfig, decodingMethod: "greedy_search" };
}

