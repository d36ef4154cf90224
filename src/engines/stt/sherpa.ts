// Speech to text with the sherpa-onnx OfflineRecognizer: VAD-gated, window-sized pieces, one decode at a time.
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

const log = logger("stt");
const SAMPLE_RATE = 16000;

export interface SherpaSttSettings {
  threads: number;
  language: string;
  maxQueue: number;
}

export class SherpaStt implements Stt {
  private readonly queue: SerialQueue;

  private constructor(
    readonly model: SttModel,
    private readonly recognizer: any,
    private readonly vad: Vad,
    private readonly settings: SherpaSttSettings,
  ) {
    this.queue = new SerialQueue(settings.maxQueue, (n) => metrics.setQueueDepth("stt", n));
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

  get languages(): string[] {
    return this.model.languages;
  }

  /**
   * Transcribes mono audio at any rate. Quiet recordings are brought to speech level first
   * (toy microphones record around -50 dBFS). Non-speech gives "" (Whisper would invent text on
   * silence), and so does a transcript of annotations only ("[BLANK_AUDIO]"); audio longer than
   * the model's window is cut at VAD pauses, never truncated.
   */
  async transcribe(samples: Float32Array, sampleRate: number, opts: TranscribeOptions = {}): Promise<Transcript> {
    const input = sampleRate === SAMPLE_RATE ? samples : resample(samples, sampleRate, SAMPLE_RATE);
    const { samples: audio, level, gainDb } = normalizeLevel(input, SAMPLE_RATE);
    if (gainDb > 0) log.debug("level normalized", { gainDb: round(gainDb), speechDb: round(level.speechDb), floorDb: round(level.floorDb) });
    const duration = audio.length / SAMPLE_RATE;
    // Audio that fits the window is decoded whole, so the VAD only has to find some speech in it.
    const fits = duration <= this.model.windowSeconds;
    const speech = await this.vad.segments(audio, { signal: opts.signal, firstOnly: fits });
    if (opts.signal?.aborted) throw new Cancelled();
    const language = opts.language && opts.language !== "auto" ? opts.language : this.model.languages.length === 1 ? this.model.languages[0]! : "";
    if (speech.length === 0) return { text: "", language, duration, segments: [] };
    const pieces = fits ? [{ start: 0, samples: audio }] : cutAtPauses(audio, speech, this.model.windowSeconds);

    const segments: TranscriptSegment[] = [];
    let detected = language;
    for (const piece of pieces) {
      const result = await this.decode(piece.samples, opts.signal);
      const text = stripAnnotations(result.text);
      if (result.lang) detected ||= normalizeLanguageTag(result.lang);
      if (!text) continue;
      const segment = { start: piece.start, end: piece.start + piece.samples.length / SAMPLE_RATE, text };
      segments.push(segment);
      opts.onSegment?.(segment);
    }
    return { text: segments.map((s) => s.text).join(" "), language: detected || "en", duration, segments };
  }

  private decode(samples: Float32Array, signal?: AbortSignal): Promise<{ text: string; lang?: string }> {
    return this.queue.run(async () => {
      if (signal?.aborted) throw new Cancelled();
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

/**
 * Cuts the audio at pauses between speech segments into pieces no longer than the model's
 * window. Each piece is the original audio from its first segment's start to its last
 * segment's end, inner pauses included, so the model hears natural speech and times are true.
 */
function cutAtPauses(audio: Float32Array, speech: { start: number; samples: Float32Array }[], windowSeconds: number) {
  const pad = 0.2 * SAMPLE_RATE; // keep a little of the pause on each side of the cut
  const spans: { from: number; to: number }[] = [];
  for (const seg of speech) {
    const from = Math.round(seg.start * SAMPLE_RATE);
    const to = from + seg.samples.length;
    const last = spans.at(-1);
    if (last && to - last.from <= windowSeconds * SAMPLE_RATE - 2 * pad) last.to = to;
    else spans.push({ from, to });
  }
  return spans.map(({ from, to }) => {
    const a = Math.max(0, from - pad);
    return { start: a / SAMPLE_RATE, samples: audio.subarray(a, Math.min(audio.length, to + pad)) };
  });
}

const round = (db: number) => Math.round(db * 10) / 10;

/** SenseVoice reports "<|en|>"; keep the bare ISO code. */
function normalizeLanguageTag(tag: string): string {
  return tag.replace(/[<|>]/g, "");
}

export function recognizerConfig(model: SttModel, settings: Pick<SherpaSttSettings, "threads" | "language">) {
  const f = model.files;
  const hint = settings.language !== "auto" ? settings.language : "";
  const modelConfig: Record<string, unknown> = { tokens: f.tokens, numThreads: settings.threads, provider: "cpu", debug: 0 };
  switch (model.type) {
    case "whisper":
      modelConfig.whisper = { encoder: f.encoder, decoder: f.decoder, language: hint || (model.languages.length === 1 ? model.languages[0] : ""), task: "transcribe" };
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

