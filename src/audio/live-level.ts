// Level normalization for live audio: the gain level.ts would give the recording so far, applied
// to each new chunk. For a speech detector listening to a quiet toy microphone (~-50 dBFS), which
// misses much of such speech as it is; the recognizer still gets the recording's own audio.
import { gainFor, type Level } from "./level.ts";

const FRAME_SECONDS = 0.03; // as level.ts
/** The gain is worked out again after this many new frames (0.3 s). */
const UPDATE_FRAMES = 10;

export class LiveLevel {
  private readonly frame: number;
  private readonly frameDbs: number[] = [];
  private partial: number[] = [];
  private sum = 0;
  private count = 0;
  private peak = 0;
  private gain = 1;
  private sinceUpdate = 0;

  constructor(sampleRate: number) {
    this.frame = Math.max(1, Math.round(FRAME_SECONDS * sampleRate));
  }

  /** The chunk with the DC offset removed and the current gain applied (a new array). */
  apply(samples: Float32Array): Float32Array {
    for (const x of samples) {
      this.sum += x;
      this.count++;
      this.partial.push(x);
      if (this.partial.length === this.frame) this.closeFrame();
    }
    const dc = this.count ? this.sum / this.count : 0;
    const out = new Float32Array(samples.length);
    for (let i = 0; i < samples.length; i++) out[i] = Math.max(-1, Math.min(1, (samples[i]! - dc) * this.gain));
    return out;
  }

  /** The gain applied now, in dB. */
  get gainDb(): number {
    return 20 * Math.log10(this.gain);
  }

  private closeFrame() {
    const dc = this.sum / this.count;
    let energy = 0;
    for (const x of this.partial) {
      energy += (x - dc) * (x - dc);
      this.peak = Math.max(this.peak, Math.abs(x - dc));
    }
    this.frameDbs.push(10 * Math.log10(energy / this.partial.length));
    this.partial = [];
    if (++this.sinceUpdate >= UPDATE_FRAMES || this.frameDbs.length === 1) this.update(dc);
  }

  private update(dc: number) {
    this.sinceUpdate = 0;
    const sorted = [...this.frameDbs].sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
    const level: Level = { dc, floorDb: at(0.1), speechDb: at(0.95), peakDb: 20 * Math.log10(this.peak) };
    this.gain = 10 ** (gainFor(level) / 20);
  }
}
