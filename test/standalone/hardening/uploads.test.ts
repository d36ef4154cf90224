// Issue 11, item 1: one small upload must not kill Hearth. A 1 MB Ogg/Opus of one hour of silence
// decodes to 660 MB, a 0.1 MB FLAC of two hours to 2.7 GB: both are refused within bounded memory,
// from the header when it tells the duration, and by stopping the decode at the limit when it
// does not. Each decode runs in a process of its own, whose peak memory is measured.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { decodeAudio } from "../../../src/audio/decode.ts";
import { resample } from "../../../src/audio/resample.ts";
import { opusPacketSamples } from "../../../src/audio/webm.ts";
import { ROOT } from "../../support/paths.ts";
import { makeTempDir, readBytes, run } from "../audio/helpers.ts";
import { hostileUpload } from "./fixtures.ts";

/** Decoding nothing at all costs the child this much; the fixtures' full decodes cost 0.7 to 2.7 GB. */
const BARE_MB = 150;
/** Refused after decoding up to the limit (30 minutes at 16 kHz: 115 MB kept, plus the decoder's pieces). */
const AT_LIMIT_MB = 600;

async function decodeInChild(file: string, maxSeconds = 1800, maxSampleRate = 16000) {
  const proc = Bun.spawn(["bun", join(import.meta.dir, "decode-child.ts"), file, String(maxSeconds), String(maxSampleRate)], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${ROOT}/node_modules/.bin:${process.env.PATH}` },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (!out.trim()) throw new Error(`decode-child printed nothing: ${err}`);
  return JSON.parse(out) as { ok: boolean; error?: string; status?: number; message?: string; peakMb: number; ms: number; seconds?: number };
}

describe("refused within bounded memory (a process of its own each)", () => {
  test("one hour of Ogg/Opus silence: refused from its last page, before decoding", async () => {
    const r = await decodeInChild(await hostileUpload("silence-1h.opus"));
    expect(r).toMatchObject({ ok: false, error: "TooLarge", status: 413 });
    expect(r.message).toContain("3600 s long; the limit is 1800 s");
    expect(r.peakMb).toBeLessThan(BARE_MB);
  }, 60_000);

  test("two hours of FLAC silence: refused from STREAMINFO, before decoding", async () => {
    const r = await decodeInChild(await hostileUpload("silence-2h.flac"));
    expect(r).toMatchObject({ ok: false, error: "TooLarge", status: 413 });
    expect(r.peakMb).toBeLessThan(BARE_MB);
  }, 60_000);

  test("WebM/Opus: the packets' own lengths add up to the hour, before decoding", async () => {
    const r = await decodeInChild(await hostileUpload("silence-1h.webm"));
    expect(r).toMatchObject({ ok: false, error: "TooLarge", status: 413 });
    expect(r.peakMb).toBeLessThan(BARE_MB);
  }, 60_000);

  test("the same Opus with its duration hidden: the decode stops at the limit", async () => {
    const r = await decodeInChild(await hostileUpload("silence-1h-lying.opus"));
    expect(r).toMatchObject({ ok: false, error: "TooLarge", status: 413 });
    expect(r.peakMb).toBeLessThan(AT_LIMIT_MB);
  }, 60_000);

  test("the same FLAC with its duration hidden: the decode stops at the limit (10 minutes here, to keep the test short)", async () => {
    const r = await decodeInChild(await hostileUpload("silence-2h-lying.flac"), 600);
    expect(r).toMatchObject({ ok: false, error: "TooLarge", status: 413 });
    expect(r.peakMb).toBeLessThan(400);
  }, 60_000);
});

describe("the limit is exact and the audio is unchanged", () => {
  test("40 s of audio: refused at 30 s, whole at 60 s, in every compressed format", async () => {
    const tmp = makeTempDir("limit");
    try {
      const wav = tmp.path("tone.wav");
      run(["sox", "-n", "-r", "44100", "-c", "2", "-b", "16", wav, "synth", "40", "sine", "440", "vol", "0.3"]);
      const files: Record<string, string[]> = {
        "tone.mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
        "tone.ogg": ["-c:a", "libvorbis"],
        "tone.opus": ["-c:a", "libopus", "-b:a", "24k"],
        "tone.flac": ["-c:a", "flac"],
        "tone.webm": ["-c:a", "libopus", "-b:a", "24k", "-f", "webm"],
      };
      for (const [name, args] of Object.entries(files)) run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", wav, ...args, tmp.path(name)]);
      for (const name of ["tone.wav", ...Object.keys(files)]) {
        const bytes = readBytes(tmp.path(name));
        const refused = await decodeAudio(bytes, { maxSeconds: 30 }).then(() => null, (e) => e);
        expect([name, refused?.status]).toEqual([name, 413]);
        const whole = await decodeAudio(bytes, { maxSeconds: 60, maxSampleRate: 16000 });
        expect([name, whole.sampleRate]).toEqual([name, 16000]);
        expect(Math.abs(whole.samples.length / 16000 - 40)).toBeLessThan(0.1);
      }
    } finally {
      tmp.cleanup();
    }
  }, 60_000);

  test("decoding at 16 kHz gives what resampling the full-rate decode gives (streamed resampling has no seams)", async () => {
    const tmp = makeTempDir("rate");
    try {
      const flac = tmp.path("noise.flac");
      run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", flac, "synth", "20", "pinknoise", "vol", "0.3"]);
      const bytes = readBytes(flac);
      const full = await decodeAudio(bytes);
      const low = await decodeAudio(bytes, { maxSampleRate: 16000 });
      const reference = resample(full.samples, full.sampleRate, 16000);
      expect(low.samples.length).toBe(reference.length);
      let worst = 0;
      for (let i = 0; i < reference.length; i++) worst = Math.max(worst, Math.abs(low.samples[i]! - reference[i]!));
      expect(worst).toBeLessThan(1e-5);
    } finally {
      tmp.cleanup();
    }
  }, 30_000);

  test("Opus packet lengths from the TOC byte (RFC 6716)", () => {
    expect(opusPacketSamples(new Uint8Array([0xf8]))).toBe(960); // CELT FB 20 ms, one frame
    expect(opusPacketSamples(new Uint8Array([0x18]))).toBe(2880); // SILK NB 60 ms (config 3)
    expect(opusPacketSamples(new Uint8Array([0xf9]))).toBe(1920); // two frames
    expect(opusPacketSamples(new Uint8Array([0xfb, 0x06]))).toBe(5760); // code 3: six 20 ms frames
    expect(opusPacketSamples(new Uint8Array([]))).toBe(0);
  });
});
