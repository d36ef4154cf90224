// Silero VAD on live audio: where speech starts and ends as 16 kHz samples arrive (a xiaozhi
// device's microphone in auto and realtime modes). Each stream needs its own detector state, so
// a detector is lent to one stream at a time; returned ones are reset and kept for the next
// stream (creating one loads the model: ~40 ms). Detectors run one 32 ms window at a time, a
// fraction of a millisecond each, on the caller's thread; sherpa is told to use 1 thread.
import { concatSamples } from "../../audio/bytes.ts";
import type { VadModel } from "../../models/types.ts";
import { createSileroDetector } from "./silero.ts";

const WINDOW = 512; // silero's window at 16 kHz
/** Detectors kept for reuse. */
const KEEP_IDLE = 4;

export interface SpeechStreamSettings {
  threshold: number;
  /** Silence that ends speech. */
  minSilenceSeconds: number;
  /** Speech longer than this is cut (an end, then a new start). */
  maxSpeechSeconds: number;
}

/** A change seen in the audio pushed: speech began, or speech ended (after the silence). */
export type SpeechEdge = "start" | "end";

/** One stream's detector. */
export class SileroSpeechStream {
  private readonly vad: any;
  private pending = new Float32Array(0);
  private detected = false;

  constructor(model: VadModel, settings: SpeechStreamSettings) {
    this.vad = createSileroDetector(model, settings, settings.maxSpeechSeconds + 5);
  }

  /** Feeds 16 kHz samples; the edges they contain, in order. */
  push(samples: Float32Array): SpeechEdge[] {
    const all = this.pending.length ? concatSamples([this.pending, samples]) : samples;
    const edges: SpeechEdge[] = [];
    let offset = 0;
    for (; offset + WINDOW <= all.length; offset += WINDOW) {
      this.vad.acceptWaveform(all.subarray(offset, offset + WINDOW));
      // A finished segment means the speech ended; its samples are not needed (the caller keeps its own).
      while (!this.vad.isEmpty()) {
        this.vad.pop();
        edges.push("end");
        this.detected = false;
      }
      const detected = this.vad.isDetected();
      if (detected && !this.detected) edges.push("start");
      this.detected = detected;
    }
    this.pending = all.slice(offset);
    return edges;
  }

  /** Inside speech now. */
  get speaking(): boolean {
    return this.detected;
  }

  reset() {
    this.vad.reset();
    this.pending = new Float32Array(0);
    this.detected = false;
  }
}

/** Lends detectors to streams. */
export class SileroSpeechStreams {
  private readonly idle: SileroSpeechStream[] = [];

  constructor(
    private readonly model: VadModel,
    private readonly settings: SpeechStreamSettings,
  ) {}

  open(): SileroSpeechStream {
    return this.idle.pop() ?? new SileroSpeechStream(this.model, this.settings);
  }

  /**
   * Loads `count` detectors now (at most the number kept idle): opening one later costs no model
   * load where that would stall the event loop (a toy's first UDP datagram of a recording).
   */
  warm(count: number): this {
    while (this.idle.length < Math.min(count, KEEP_IDLE)) this.idle.push(new SileroSpeechStream(this.model, this.settings));
    return this;
  }

  release(stream: SileroSpeechStream) {
    stream.reset();
    if (this.idle.length < KEEP_IDLE) this.idle.push(stream);
  }
}
