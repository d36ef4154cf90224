// Recognition while the speaker is still talking. A front end feeds a Listening with the audio as
// it arrives; a speech detector that ends speech after a short pause (PAUSE_SECONDS) finds where
// each stretch of speech stops, and the speech since the last cut is recognized right then, in the
// background, while the speaker goes on:
//   - a stretch of at least minRegionSeconds is final: it is cut there (in the pause, so no word is
//     cut) and its text is kept whatever follows;
//   - a shorter one is recognized too, in case the speaker has finished: if speech goes on, that
//     text is dropped and the stretch stays open, so the recognizer never gets a few words alone
//     (Whisper writes them worse than in their sentence).
// At the end of speech only what was not recognized yet is: nothing but silence when the recording
// went on after the last word (a toy's does), else the open stretch. The texts are joined in order.
// Decodes go one at a time per listening, through the engine's own queue. The detector hears the
// audio brought to speech level as it arrives (live-level.ts: toy microphones are quiet); the
// recognizer gets the recording's own audio (transcribe brings quiet audio to speech level itself).
import { LiveLevel } from "../audio/live-level.ts";
import { resample } from "../audio/resample.ts";
import type { Stt } from "../engines/types.ts";
import { Cancelled } from "../errors.ts";
import { logger } from "../log.ts";

const log = logger("listen");

/** The silence that ends a stretch of speech for the pause detector (the end of speech is longer). */
export const PAUSE_SECONDS = 0.1;
/** Stretches of speech at least this long are recognized on their own (see the top of the file). */
export const MIN_REGION_SECONDS = 5;
const DETECTOR_RATE = 16000;

/** A change in live 16 kHz audio: speech began, or ended after PAUSE_SECONDS of silence. */
export interface PauseDetector {
  push(samples: Float32Array): ("start" | "end")[];
  reset(): void;
}

/** Lends pause detectors (engines/vad/silero-stream.ts with minSilenceSeconds = PAUSE_SECONDS). */
export interface PauseDetectors {
  open(): PauseDetector;
  release(detector: PauseDetector): void;
}

export interface ListeningOptions {
  stt: Stt;
  detectors: PauseDetectors;
  /** Of the samples pushed (mono). */
  sampleRate: number;
  language?: string;
  minRegionSeconds?: number;
}

/** What was heard, and how much of it was recognized before the end of speech. */
export interface Heard {
  text: string;
  /** Seconds of audio received. */
  seconds: number;
  /** Seconds of it whose text was being recognized or ready when the speech ended. */
  decodedBeforeEndSeconds: number;
  /** Seconds recognized after the end (the unfinished tail; silence when the speaker paused first). */
  tailSeconds: number;
  /** Decodes run (including dropped ones). */
  decodes: number;
}

interface Decode {
  from: number;
  to: number;
  text: Promise<string>;
  /** Speech went on after a short stretch: its text is not used (and it is skipped if not started). */
  dropped: boolean;
}

export class Listening {
  private readonly chunks: Float32Array[] = [];
  private received = 0;
  private readonly level = new LiveLevel(DETECTOR_RATE);
  private readonly detector: PauseDetector;
  private readonly minRegion: number;
  private readonly abort = new AbortController();
  /** Where the speech not yet cut off starts (samples at sampleRate). */
  private regionStart = 0;
  private readonly kept: Decode[] = [];
  /** A short stretch being recognized in case it is the last. */
  private candidate?: Decode;
  /** One decode at a time per listening. */
  private chain: Promise<unknown> = Promise.resolve();
  private decodes = 0;
  private finished = false;
  private released = false;

  constructor(private readonly opts: ListeningOptions) {
    this.detector = opts.detectors.open();
    this.minRegion = (opts.minRegionSeconds ?? MIN_REGION_SECONDS) * opts.sampleRate;
  }

  /** Audio as it arrives, mono at the sample rate given. */
  push(samples: Float32Array) {
    if (this.finished || samples.length === 0) return;
    this.chunks.push(samples);
    this.received += samples.length;
    const forDetector = this.opts.sampleRate === DETECTOR_RATE ? samples : resample(samples, this.opts.sampleRate, DETECTOR_RATE);
    for (const edge of this.detector.push(this.level.apply(forDetector))) {
      if (edge === "start") {
        if (this.candidate) this.candidate.dropped = true;
        this.candidate = undefined;
      } else {
        // The pause began up to PAUSE_SECONDS ago: cutting here cuts silence, never a word.
        const to = this.received;
        if (to - this.regionStart >= this.minRegion) {
          this.kept.push(this.decode(this.regionStart, to));
          this.regionStart = to;
        } else {
          this.candidate = this.decode(this.regionStart, to);
        }
      }
    }
  }

  /** The end of speech: recognizes what is left and returns the whole text. */
  async finish(signal?: AbortSignal): Promise<Heard> {
    if (this.finished) throw new Error("this listening has already finished");
    this.finished = true;
    this.release();
    const onAbort = () => this.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const end = this.received;
      const decodedBeforeEnd = (this.candidate ? this.candidate.to : this.regionStart) / this.opts.sampleRate;
      const parts = [...this.kept];
      if (this.candidate) parts.push(this.candidate);
      // What follows the last stretch: silence after a pause (the VAD inside transcribe finds
      // nothing and no decode runs), or speech still going on when the recording ended.
      const tailFrom = this.candidate ? this.candidate.to : this.regionStart;
      if (end > tailFrom) parts.push(this.decode(tailFrom, end));
      const texts = await Promise.all(parts.map((p) => p.text));
      if (signal?.aborted) throw new Cancelled();
      const heard: Heard = {
        text: texts.filter(Boolean).join(" "),
        seconds: end / this.opts.sampleRate,
        decodedBeforeEndSeconds: decodedBeforeEnd,
        tailSeconds: (end - tailFrom) / this.opts.sampleRate,
        decodes: this.decodes,
      };
      log.debug("heard while listening", { seconds: round(heard.seconds), beforeEnd: round(decodedBeforeEnd), tail: round(heard.tailSeconds), decodes: heard.decodes });
      return heard;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Nothing more will be asked: pending decodes are skipped, the detector goes back. */
  cancel() {
    this.finished = true;
    this.abort.abort(new Cancelled());
    this.release();
  }

  /** Seconds of audio received so far. */
  get seconds(): number {
    return this.received / this.opts.sampleRate;
  }

  /** All the audio received, mono at the sample rate given. */
  samples(): Float32Array {
    return this.slice(0, this.received);
  }

  private release() {
    if (this.released) return;
    this.released = true;
    this.opts.detectors.release(this.detector);
  }

  private decode(from: number, to: number): Decode {
    const d: Decode = { from, to, dropped: false, text: Promise.resolve("") };
    const signal = this.abort.signal;
    d.text = this.chain.then(async () => {
      if (d.dropped) return "";
      if (signal.aborted) throw new Cancelled();
      this.decodes++;
      const t = await this.opts.stt.transcribe(this.slice(from, to), this.opts.sampleRate, { signal, language: this.opts.language });
      return t.text.trim();
    });
    this.chain = d.text.catch(() => {});
    d.text.catch((e) => {
      if (!(e instanceof Cancelled)) log.warn("recognizing a stretch of speech failed", { error: (e as Error).message });
    });
    return d;
  }

  private slice(from: number, to: number): Float32Array {
    const out = new Float32Array(to - from);
    let at = 0;
    for (const chunk of this.chunks) {
      const a = Math.max(from - at, 0);
      const b = Math.min(to - at, chunk.length);
      if (b > a) out.set(chunk.subarray(a, b), at + a - from);
      at += chunk.length;
      if (at >= to) break;
    }
    return out;
  }
}

const round = (seconds: number) => Math.round(seconds * 100) / 100;
