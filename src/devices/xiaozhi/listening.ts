// What the device's microphone said, cut into utterances as its listen mode asks
// (docs/websocket.md §4.1, application.cc):
//   manual   - push to talk: everything between `listen start` and `listen stop`;
//   auto     - the device streams until Hearth finds the end of speech (streaming VAD); then Hearth
//              answers and the device starts listening again after the reply (a new `listen start`);
//   realtime - the microphone never stops (the device cancels its own echo): every end of speech is
//              an utterance, and speech that starts while Hearth is answering interrupts it.
import { concatSamples } from "../../audio/bytes.ts";
import type { Listening } from "../../pipeline/listen.ts";
import type { ListenMode } from "./messages.ts";
import { LISTEN_RATE } from "./opus.ts";

/** A change in live audio: speech began, or ended after enough silence. */
export type SpeechEdge = "start" | "end";

/** Finds where speech starts and ends in live 16 kHz audio (engines/vad/silero-stream.ts). */
export interface SpeechDetector {
  push(samples: Float32Array): SpeechEdge[];
  reset(): void;
}

/** Lends detectors, one per device stream. */
export interface SpeechDetectors {
  open(): SpeechDetector;
  release(detector: SpeechDetector): void;
}

export interface Utterance {
  /** 16 kHz mono. */
  samples: Float32Array;
  /** Epoch ms the speech ended (for auto and realtime, the start of the silence that ended it). */
  endedAt: number;
  mode: ListenMode;
  /** The same audio, recognized while it arrived (when the listener was given `listen`). */
  listening?: Listening;
}

export interface ListenerOptions {
  detectors: SpeechDetectors;
  /** Silence that ends speech (the detectors' setting), in ms: the end is that long after the last word. */
  endSilenceMs: number;
  /** Longest utterance kept; later audio is dropped (manual) or cut by the detector (auto, realtime). */
  maxSeconds: number;
  /** Audio kept from before the detected start of speech (its first syllable comes before the detection). */
  preRollSeconds?: number;
  /** Recognition while the speaker talks (pipeline/listen.ts): one per utterance, fed as audio arrives. */
  listen?: () => Listening;
  /** Speech began (auto and realtime): in realtime, an interruption of a reply. */
  onSpeechStart(): void;
  /** Speech ended (auto and realtime). */
  onUtterance(utterance: Utterance): void;
}

export class Listener {
  private mode: ListenMode = "auto";
  private active = false;
  private inSpeech = false;
  private chunks: Float32Array[] = [];
  private length = 0;
  private detector?: SpeechDetector;
  private droppedTooLong = false;
  /** The utterance being recognized as it arrives: from `listen start` (manual) or the start of speech. */
  private recognizing?: Listening;

  constructor(private readonly opts: ListenerOptions) {}

  /** The device streams its microphone to us now. */
  get listening(): boolean {
    return this.active;
  }

  get currentMode(): ListenMode {
    return this.mode;
  }

  /** `listen start` (or a wake word): a new utterance in this mode. */
  start(mode: ListenMode) {
    this.mode = mode;
    this.active = true;
    this.clear();
    if (mode === "manual") this.recognizing = this.opts.listen?.();
    if (mode !== "manual") {
      this.detector ??= this.opts.detectors.open();
      this.detector.reset();
    }
  }

  /**
   * `listen stop`: the microphone is off. Manual mode: everything since start is the utterance.
   * Auto and realtime: the speech in progress, if any.
   */
  stop(): Utterance | undefined {
    if (!this.active) return undefined;
    const hadSpeech = this.mode === "manual" ? this.length > 0 : this.inSpeech;
    const utterance = hadSpeech ? this.take(Date.now()) : undefined;
    this.active = false;
    this.clear();
    return utterance;
  }

  /** Auto mode after an utterance: audio is ignored until the next `listen start` (or resume). */
  pause() {
    this.active = false;
    this.clear();
  }

  /** Listening again without a new `listen start` (an auto-mode turn that said nothing back). */
  resume() {
    this.start(this.mode);
  }

  /** Decoded microphone audio. */
  audio(samples: Float32Array) {
    if (!this.active) return;
    if (this.mode === "manual") {
      if (this.length + samples.length > this.opts.maxSeconds * LISTEN_RATE) {
        this.droppedTooLong = true;
        return;
      }
      this.append(samples);
      this.recognizing?.push(samples);
      return;
    }
    this.append(samples);
    this.recognizing?.push(samples);
    for (const edge of this.detector!.push(samples)) {
      if (edge === "start" && !this.inSpeech) {
        this.inSpeech = true;
        // The pre-roll kept so far (this chunk included) is the utterance's start.
        this.recognizing = this.opts.listen?.();
        for (const chunk of this.chunks) this.recognizing?.push(chunk);
        this.opts.onSpeechStart();
      } else if (edge === "end" && this.inSpeech) {
        const utterance = this.take(Date.now() - this.opts.endSilenceMs);
        this.inSpeech = false;
        this.clear();
        if (this.mode === "auto") this.active = false; // the device keeps streaming until it speaks; that audio is not a question
        this.opts.onUtterance(utterance);
        if (!this.active) return;
      }
    }
    if (!this.inSpeech) this.trimToPreRoll();
  }

  /** Longer than maxSeconds was said in manual mode (the rest was dropped). */
  get truncated(): boolean {
    return this.droppedTooLong;
  }

  close() {
    if (this.detector) this.opts.detectors.release(this.detector);
    this.detector = undefined;
    this.active = false;
    this.clear();
  }

  private take(endedAt: number): Utterance {
    const listening = this.recognizing;
    this.recognizing = undefined; // the utterance's now: clear() must not cancel it
    return { samples: concatSamples(this.chunks.length ? this.chunks : [new Float32Array(0)]), endedAt, mode: this.mode, listening };
  }

  private append(samples: Float32Array) {
    this.chunks.push(samples);
    this.length += samples.length;
  }

  /** Before speech, only the last moments matter. */
  private trimToPreRoll() {
    const keep = (this.opts.preRollSeconds ?? 0.8) * LISTEN_RATE;
    while (this.chunks.length > 1 && this.length - this.chunks[0]!.length >= keep) this.length -= this.chunks.shift()!.length;
  }

  private clear() {
    this.recognizing?.cancel();
    this.recognizing = undefined;
    this.chunks = [];
    this.length = 0;
    this.inSpeech = false;
    this.droppedTooLong = false;
  }
}
