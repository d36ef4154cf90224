// MP3 encoder benchmark: the same 60 s of speech (utt01.wav looped, 22050 Hz mono) encoded by
// @breezystack/lamejs (pure JS), wasm-media-encoders (LAME in WASM) and Debian's native `lame`
// (subprocess on a temp WAV, when installed), at 32 and 64 kbps, 5 runs each.
// Run: bun scripts/bench-mp3.ts

import { Mp3Encoder as LameJsEncoder } from "@breezystack/lamejs";
import { createEncoder, createMp3Encoder } from "wasm-media-encoders";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { floatToS16le } from "../src/audio/pcm.ts";
import { resample } from "../src/audio/resample.ts";
import { decodeWav, encodeWav } from "../src/audio/wav.ts";

export interface Mp3BenchResult {
  encoder: string;
  kbps: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Seconds of audio encoded per second of wall time (median run). */
  xRealtime: number;
}

const RATE = 22050;
const SECONDS = 60;
const RUNS = 5;
const CHUNK = 4096; // samples per encode() call, as a streaming producer would send
const SOURCE = new URL("../../shared/audio/utt01.wav", import.meta.url).pathname;

function speech60s(sourcePath: string): Float32Array {
  const wav = decodeWav(new Uint8Array(readFileSync(sourcePath)));
  const utt = resample(wav.samples, wav.sampleRate, RATE);
  const out = new Float32Array(RATE * SECONDS);
  for (let i = 0; i < out.length; i += utt.length) out.set(utt.subarray(0, out.length - i), i);
  return out;
}

function encodeLameJs(pcm: Float32Array, kbps: number): number {
  const s16 = new Int16Array(floatToS16le(pcm).buffer);
  const enc = new LameJsEncoder(1, RATE, kbps);
  let bytes = 0;
  for (let i = 0; i < s16.length; i += CHUNK) bytes += enc.encodeBuffer(s16.subarray(i, i + CHUNK)).length;
  return bytes + enc.flush().length;
}

let wasmModule: WebAssembly.Module | null = null;

async function encodeWasm(pcm: Float32Array, kbps: number): Promise<number> {
  const enc = wasmModule ? await createEncoder("audio/mpeg", wasmModule) : await createMp3Encoder();
  enc.configure({ channels: 1, sampleRate: RATE, bitrate: kbps as 32, outputSampleRate: RATE });
  let bytes = 0;
  for (let i = 0; i < pcm.length; i += CHUNK) bytes += enc.encode([pcm.subarray(i, i + CHUNK)]).length;
  return bytes + enc.finalize().length;
}

function encodeNative(wavPath: string, mp3Path: string, kbps: number): number {
  const proc = Bun.spawnSync(["lame", "--quiet", "--cbr", "-b", String(kbps), "-m", "m", "--resample", "22.05", wavPath, mp3Path]);
  if (proc.exitCode !== 0) throw new Error(`lame failed: ${proc.stderr.toString()}`);
  return readFileSync(mp3Path).length;
}

function hasNativeLame(): boolean {
  try {
    return Bun.spawnSync(["lame", "--version"]).exitCode === 0;
  } catch {
    return false;
  }
}

async function time(runs: number, fn: () => Promise<number> | number): Promise<number[]> {
  await fn(); // warm-up (JIT, WASM compile), not counted
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const bytes = await fn();
    times.push(performance.now() - t0);
    if (bytes < 1000) throw new Error("encoder produced almost nothing");
  }
  return times;
}

function summarize(encoder: string, kbps: number, times: number[]): Mp3BenchResult {
  const sorted = [...times].sort((a, b) => a - b);
  const medianMs = sorted[Math.floor(sorted.length / 2)]!;
  return {
    encoder,
    kbps,
    medianMs: Math.round(medianMs * 10) / 10,
    minMs: Math.round(sorted[0]! * 10) / 10,
    maxMs: Math.round(sorted[sorted.length - 1]! * 10) / 10,
    xRealtime: Math.round((SECONDS * 1000) / medianMs),
  };
}

export async function benchMp3(opts: { runs?: number; sourcePath?: string } = {}): Promise<Mp3BenchResult[]> {
  const runs = opts.runs ?? RUNS;
  const pcm = speech60s(opts.sourcePath ?? SOURCE);
  const results: Mp3BenchResult[] = [];
  const native = hasNativeLame();
  const dir = mkdtempSync(join(tmpdir(), "hearth-bench-mp3-"));
  const wavPath = join(dir, "in.wav");
  writeFileSync(wavPath, encodeWav(pcm, RATE));
  // Compile the WASM once, so each run only instantiates it (as src/audio/mp3.ts does).
  wasmModule = await WebAssembly.compile(readFileSync(Bun.resolveSync("wasm-media-encoders/wasm/mp3", import.meta.dir)));

  try {
    for (const kbps of [32, 64]) {
      results.push(summarize("@breezystack/lamejs", kbps, await time(runs, () => encodeLameJs(pcm, kbps))));
      results.push(summarize("wasm-media-encoders", kbps, await time(runs, () => encodeWasm(pcm, kbps))));
      if (native) {
        const mp3Path = join(dir, `out-${kbps}.mp3`);
        results.push(summarize("lame (native, subprocess)", kbps, await time(runs, () => encodeNative(wavPath, mp3Path, kbps))));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.main) {
  const results = await benchMp3();
  console.log(`MP3 encode of ${SECONDS} s speech at ${RATE} Hz mono, ${RUNS} runs each (after one warm-up)`);
  console.table(results);
}
