// Raw Opus packets from PCM: libopus 1.4 in WebAssembly (the `opusscript` package), no native build.
// One encoder per stream (it keeps state between packets); `close()` frees its WASM memory.
import OpusScript from "opusscript";
import { concatSamples } from "./bytes.ts";
import { floatToS16le } from "./pcm.ts";

/** Rates Opus encodes at. */
export const OPUS_RATES = [8000, 12000, 16000, 24000, 48000] as const;
export type OpusRate = (typeof OPUS_RATES)[number];

/** Frame durations (ms) a packet may carry. */
export const OPUS_FRAME_MS = [2.5, 5, 10, 20, 40, 60] as const;

const OPUS_SET_COMPLEXITY = 4010;
const OPUS_SET_SIGNAL = 4024;
const OPUS_SET_DTX = 4016;
const OPUS_SIGNAL_VOICE = 3001;

/**
 * Complexity 5 of 10: on speech it costs half of the default's time for a bitrate within 15%
 * (bench/xiaozhi.ts measures both); a Pi encodes a 60 ms frame in well under its duration.
 */
export const DEFAULT_OPUS_COMPLEXITY = 5;

export interface OpusEncoderOptions {
  sampleRate: OpusRate;
  /** Samples per packet duration, in ms (60 for xiaozhi devices, 20 for Ogg files). */
  frameMs: (typeof OPUS_FRAME_MS)[number];
  /** Bits per second; default: libopus' own choice for the rate (about 24-32 kbps at 24 kHz mono speech). */
  bitrate?: number;
  complexity?: number;
  /** "voip" (default: speech) or "audio" (what xiaozhi devices use for their microphone). */
  application?: "voip" | "audio";
  /** Discontinuous transmission: silence becomes tiny packets (xiaozhi devices turn it on). */
  dtx?: boolean;
}

export function isOpusRate(rate: number): rate is OpusRate {
  return (OPUS_RATES as readonly number[]).includes(rate);
}

/** A mono Opus encoder (voice signal): exactly `frameSize` samples in, one packet out. */
export class OpusEncoder {
  readonly sampleRate: OpusRate;
  readonly frameMs: number;
  /** Samples per packet. */
  readonly frameSize: number;
  private encoder: OpusScript | undefined;

  constructor(opts: OpusEncoderOptions) {
    if (!isOpusRate(opts.sampleRate)) throw new RangeError(`Opus cannot encode at ${opts.sampleRate} Hz (${OPUS_RATES.join(", ")})`);
    this.sampleRate = opts.sampleRate;
    this.frameMs = opts.frameMs;
    this.frameSize = (opts.sampleRate * opts.frameMs) / 1000;
    this.encoder = new OpusScript(opts.sampleRate, 1, opts.application === "audio" ? OpusScript.Application.AUDIO : OpusScript.Application.VOIP);
    this.encoder.encoderCTL(OPUS_SET_COMPLEXITY, opts.complexity ?? DEFAULT_OPUS_COMPLEXITY);
    this.encoder.encoderCTL(OPUS_SET_SIGNAL, OPUS_SIGNAL_VOICE);
    if (opts.dtx) this.encoder.encoderCTL(OPUS_SET_DTX, 1);
    if (opts.bitrate) this.encoder.setBitrate(opts.bitrate);
  }

  /** One packet for exactly `frameSize` samples (-1..1). */
  encode(frame: Float32Array): Uint8Array {
    if (!this.encoder) throw new Error("the Opus encoder is closed");
    if (frame.length !== this.frameSize) throw new RangeError(`an Opus frame is ${this.frameSize} samples, got ${frame.length}`);
    const pcm = floatToS16le(frame);
    // opusscript takes the s16le bytes as a Buffer and copies them into its WASM heap.
    return new Uint8Array(this.encoder.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), this.frameSize));
  }

  /** Frees the encoder; idempotent. */
  close() {
    this.encoder?.delete();
    this.encoder = undefined;
  }
}

/**
 * Cuts audio into whole frames for an encoder, carrying the remainder to the next push; `flush`
 * pads the last partial frame with silence.
 */
export class FrameSplitter {
  private rest = new Float32Array(0);

  constructor(readonly frameSize: number) {}

  push(samples: Float32Array): Float32Array[] {
    const all = this.rest.length ? concatSamples([this.rest, samples]) : samples;
    const frames: Float32Array[] = [];
    let offset = 0;
    for (; offset + this.frameSize <= all.length; offset += this.frameSize) frames.push(all.slice(offset, offset + this.frameSize));
    this.rest = all.slice(offset);
    return frames;
  }

  /** The last partial frame, padded with silence (none when nothing is left). */
  flush(): Float32Array[] {
    if (!this.rest.length) return [];
    const frame = new Float32Array(this.frameSize);
    frame.set(this.rest);
    this.rest = new Float32Array(0);
    return [frame];
  }

  /** Samples waiting for a whole frame. */
  get pending(): number {
    return this.rest.length;
  }
}
