// Shared by the audio tests: fixtures made at test time with command-line tools, and a few
// signal measurements (dominant frequency, energy envelope, correlation).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeWav } from "../../../src/audio/wav.ts";
import { AUDIO } from "../../support/paths.ts";

export const AUDIO_DIR = AUDIO;
export const UTT01 = join(AUDIO_DIR, "utt01.wav");
export const TOY_UTT01 = join(AUDIO_DIR, "toy-32k-utt01.wav");

export function has(cmd: string): boolean {
  return Bun.which(cmd) !== null;
}

/** Runs a fixture-making command; a failure fails the test with the tool's own message. */
export function run(cmd: string[]): void {
  const proc = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${proc.exitCode}): ${proc.stderr.toString()}`);
}

export function makeTempDir(prefix: string): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `hearth-${prefix}-`));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

export function loadUtt01(): { samples: Float32Array; sampleRate: number } {
  return decodeWav(readBytes(UTT01));
}

export function sine(freq: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

export function rms(x: Float32Array, from = 0, to = x.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += x[i]! * x[i]!;
  return Math.sqrt(sum / Math.max(1, to - from));
}

/** Peak of the Hann-windowed spectrum of the middle of the signal, in Hz. */
export function dominantFrequency(x: Float32Array, rate: number): number {
  let n = 1;
  while (n * 2 <= x.length) n *= 2;
  const start = (x.length - n) >> 1;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < n; i++) re[i] = x[start + i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
  fft(re, im);
  let best = 1;
  let bestMag = 0;
  const mags = new Float64Array(n / 2);
  for (let k = 1; k < n / 2; k++) {
    mags[k] = Math.hypot(re[k]!, im[k]!);
    if (mags[k]! > bestMag) [best, bestMag] = [k, mags[k]!];
  }
  // Parabolic interpolation between neighbouring bins.
  const a = mags[best - 1] ?? 0;
  const c = mags[best + 1] ?? 0;
  const offset = (a - c) / (2 * (a - 2 * bestMag + c) || 1);
  return ((best + offset) * rate) / n;
}

/** In-place iterative radix-2 FFT. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(ang * k);
        const wi = Math.sin(ang * k);
        const xr = re[i + k + len / 2]! * wr - im[i + k + len / 2]! * wi;
        const xi = re[i + k + len / 2]! * wi + im[i + k + len / 2]! * wr;
        re[i + k + len / 2] = re[i + k]! - xr;
        im[i + k + len / 2] = im[i + k]! - xi;
        re[i + k] = re[i + k]! + xr;
        im[i + k] = im[i + k]! + xi;
      }
    }
  }
}

/** RMS per frame of `frameMs`, so signals at different rates can be compared. */
export function envelope(x: Float32Array, rate: number, frameMs = 20): Float64Array {
  const frame = Math.round((rate * frameMs) / 1000);
  const out = new Float64Array(Math.floor(x.length / frame));
  for (let f = 0; f < out.length; f++) out[f] = rms(x, f * frame, (f + 1) * frame);
  return out;
}

function pearson(a: Float64Array, b: Float64Array, lag: number): number {
  let n = 0;
  let sa = 0;
  let sb = 0;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  for (let i = 0; i < a.length; i++) {
    const j = i + lag;
    if (j < 0 || j >= b.length) continue;
    const x = a[i]!;
    const y = b[j]!;
    n++;
    sa += x;
    sb += y;
    saa += x * x;
    sbb += y * y;
    sab += x * y;
  }
  const cov = sab - (sa * sb) / n;
  const den = Math.sqrt((saa - (sa * sa) / n) * (sbb - (sb * sb) / n));
  return den > 0 ? cov / den : 0;
}

/** Best correlation of two energy envelopes over lags of up to `maxLag` frames (codec delay). */
export function envelopeCorrelation(a: Float32Array, rateA: number, b: Float32Array, rateB: number, maxLag = 10): number {
  const ea = envelope(a, rateA);
  const eb = envelope(b, rateB);
  let best = -1;
  for (let lag = -maxLag; lag <= maxLag; lag++) best = Math.max(best, pearson(ea, eb, lag));
  return best;
}

/** Deterministic pseudo-random bytes (so a failure can be reproduced). */
export function randomBytes(length: number, seed = 12345): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}
