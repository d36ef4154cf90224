// Recordings at a real toy microphone's level, made in code from the shared utterances: the speech
// attenuated by 30 or 40 dB (about -46 to -56 dBFS at its loud frames), with or without ESP32-like
// noise (hiss, a little DC offset, mains hum), plus noise-only and silent recordings. Every
// recording is quantized to 16 bits, as a toy sends it. Deterministic: the noise is seeded.
import { join } from "node:path";
import { resample } from "../../src/audio/resample.ts";
import { decodeWav } from "../../src/audio/wav.ts";
import { AUDIO } from "./paths.ts";

export interface Recording {
  name: string;
  /** What is said in it; "" for noise and silence. */
  text: string;
  samples: Float32Array;
  sampleRate: number;
}

export interface NoiseOptions {
  /** RMS of the hiss in dBFS (half white, half pink). */
  hissDb: number;
  /** RMS of a 50 Hz mains hum (with its 3rd harmonic) in dBFS; none when absent. */
  humDb?: number;
  seed: number;
}

/** Toy-like hiss levels: -60 dBFS with 30 dB of attenuation, -65 with 40. */
const HISS_DB = { 30: -60, 40: -65 } as const;
const HUM_DB = -62;
const DC = 0.002; // ~65 LSB at 16 bits: ESP32 I2S microphones have an offset
const LEAD_SECONDS = 0.4; // the toy starts recording before the child speaks...
const TAIL_SECONDS = 0.6; // ...and stops a little after

/** The shared utterances (16 kHz) and their transcripts. */
export async function loudUtterances(): Promise<Recording[]> {
  const lines = (await Bun.file(join(AUDIO, "transcripts.tsv")).text()).trim().split("\n");
  return Promise.all(
    lines.map(async (line) => {
      const [file, text] = line.split("\t") as [string, string];
      const wav = decodeWav(new Uint8Array(await Bun.file(join(AUDIO, file)).arrayBuffer()));
      return { name: file.replace(".wav", ""), text, samples: wav.samples, sampleRate: wav.sampleRate };
    }),
  );
}

export interface QuietRecording extends Recording {
  /** "-30 dB", "-40 dB + hiss", ...: the utterance name left out. */
  kind: string;
  /**
   * The same recording as a loud microphone would give it: the speech at its original level
   * and the noise raised by as much (same signal-to-noise ratio), without the DC offset.
   */
  loud: Float32Array;
}

/**
 * Every utterance at `sampleRate`, attenuated by 30 and 40 dB, each one clean (only padded with
 * digital silence), with hiss + DC, and with hiss + DC + hum.
 */
export async function quietUtterances(sampleRate: number): Promise<QuietRecording[]> {
  const out: QuietRecording[] = [];
  let seed = 1;
  for (const utt of await loudUtterances()) {
    const speech = pad(utt.sampleRate === sampleRate ? utt.samples : resample(utt.samples, utt.sampleRate, sampleRate), sampleRate);
    for (const attenuation of [30, 40] as const) {
      const quiet = scale(speech, -attenuation);
      const add = (kind: string, opts?: NoiseOptions) => {
        const hiss = opts ? noise(speech.length, sampleRate, opts) : new Float32Array(speech.length);
        const samples = quantize(mix(quiet, hiss).map((x) => x + (opts ? DC : 0)));
        const loud = quantize(mix(speech, scale(hiss, attenuation)));
        out.push({ name: `${utt.name} ${kind}`, kind, text: utt.text, samples, sampleRate, loud });
      };
      add(`-${attenuation} dB`);
      add(`-${attenuation} dB + hiss`, { hissDb: HISS_DB[attenuation], seed: seed++ });
      add(`-${attenuation} dB + hiss + hum`, { hissDb: HISS_DB[attenuation], humDb: HUM_DB, seed: seed++ });
    }
  }
  return out;
}

/** Recordings in which nobody speaks: toy noise at the quiet recordings' levels, digital silence, and loud noise. */
export function silentRecordings(sampleRate: number, seconds = 3): Recording[] {
  const n = Math.round(seconds * sampleRate);
  const make = (name: string, opts: NoiseOptions, dc = DC) => ({ name, text: "", samples: quantize(noise(n, sampleRate, opts).map((x) => x + dc)), sampleRate });
  const lsb = new Float32Array(n).map((_, i) => (i % 3 === 0 ? 1 / 32768 : 0)); // the last bit flickering
  return [
    { name: "digital silence", text: "", samples: new Float32Array(n), sampleRate },
    { name: "one-LSB flicker", text: "", samples: lsb, sampleRate },
    make("hiss -65 dBFS + DC", { hissDb: -65, seed: 101 }),
    make("hiss -60 dBFS + DC", { hissDb: -60, seed: 102 }),
    make("hiss -60 dBFS + DC + hum", { hissDb: -60, humDb: HUM_DB, seed: 103 }),
    make("hum -55 dBFS alone", { hissDb: -Infinity, humDb: -55, seed: 104 }, 0),
    make("loud hiss -35 dBFS", { hissDb: -35, seed: 105 }, 0),
    make("loud hiss -35 dBFS + hum + DC", { hissDb: -35, humDb: -40, seed: 106 }),
  ];
}

/** ESP32-like microphone noise: seeded hiss and an optional mains hum. */
export function noise(length: number, sampleRate: number, opts: NoiseOptions): Float32Array {
  const random = mulberry32(opts.seed);
  const white = new Float32Array(length);
  const pink = new Float32Array(length);
  let b0 = 0, b1 = 0, b2 = 0; // Paul Kellet's economy pink filter
  for (let i = 0; i < length; i++) {
    const w = random() * 2 - 1;
    b0 = 0.99765 * b0 + w * 0.099046;
    b1 = 0.963 * b1 + w * 0.2965164;
    b2 = 0.57 * b2 + w * 1.0526913;
    white[i] = w;
    pink[i] = b0 + b1 + b2 + w * 0.1848;
  }
  const out = mix(scaleTo(white, opts.hissDb - 3), scaleTo(pink, opts.hissDb - 3));
  if (opts.humDb !== undefined) {
    const hum = new Float32Array(length).map((_, i) => {
      const t = i / sampleRate;
      return Math.sin(2 * Math.PI * 50 * t) + 0.5 * Math.sin(2 * Math.PI * 150 * t + 1);
    });
    out.set(mix(out, scaleTo(hum, opts.humDb)));
  }
  return out;
}

export function dbfs(samples: Float32Array): number {
  let sum = 0;
  for (const x of samples) sum += x * x;
  return 10 * Math.log10(sum / samples.length);
}

function scale(samples: Float32Array, db: number): Float32Array {
  const g = 10 ** (db / 20);
  return samples.map((x) => x * g);
}

function scaleTo(samples: Float32Array, db: number): Float32Array {
  return scale(samples, db - dbfs(samples));
}

function mix(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((x, i) => x + b[i]!);
}

function pad(speech: Float32Array, sampleRate: number): Float32Array {
  const lead = Math.round(LEAD_SECONDS * sampleRate);
  const out = new Float32Array(lead + speech.length + Math.round(TAIL_SECONDS * sampleRate));
  out.set(speech, lead);
  return out;
}

/** Rounded to 16-bit steps, as the toy's s16le stream carries it. */
function quantize(samples: Float32Array): Float32Array {
  return samples.map((x) => Math.max(-32768, Math.min(32767, Math.round(x * 32768))) / 32768);
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
