// WAV read/write. Fixtures are made at test time with `sox` and `ffmpeg`
// (apt: sox libsox-fmt-all ffmpeg); tests needing a missing tool are skipped.

import { afterAll, describe, expect, test } from "bun:test";
import { BadRequest } from "../../../src/errors.ts";
import { resample } from "../../../src/audio/resample.ts";
import { decodeWav, encodeWav, WAV_UNKNOWN_SIZE, wavHeader } from "../../../src/audio/wav.ts";
import { envelopeCorrelation, has, loadUtt01, makeTempDir, readBytes, run, TOY_UTT01, UTT01 } from "./helpers.ts";

const tmp = makeTempDir("wav");
afterAll(() => tmp.cleanup());

const UTT01_SAMPLES = 57360; // soxi utt01.wav

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function fmtCode(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint16(20, true);
}

describe("decodeWav on the shared utterances", () => {
  test("utt01.wav: 16 kHz mono 16-bit, 3.585 s, not silent", () => {
    const wav = decodeWav(readBytes(UTT01));
    expect(wav.sampleRate).toBe(16000);
    expect(wav.channels).toBe(1);
    expect(wav.samples.length).toBe(UTT01_SAMPLES);
    let peak = 0;
    for (const s of wav.samples) peak = Math.max(peak, Math.abs(s));
    expect(peak).toBeGreaterThan(0.1);
    expect(peak).toBeLessThanOrEqual(1);
  });

  test("toy-32k-utt01.wav: 32 kHz, same length in time, same content as utt01", () => {
    const toy = decodeWav(readBytes(TOY_UTT01));
    const utt = loadUtt01();
    expect(toy.sampleRate).toBe(32000);
    expect(toy.samples.length).toBe(UTT01_SAMPLES * 2);
    // Brought back to 16 kHz it should be nearly the original signal.
    const back = resample(toy.samples, 32000, 16000);
    expect(back.length).toBe(UTT01_SAMPLES);
    expect(envelopeCorrelation(back, 16000, utt.samples, 16000, 0)).toBeGreaterThan(0.99);
  });
});

describe.skipIf(!has("sox"))("decodeWav on sox-made bit depths and channel counts", () => {
  const utt = loadUtt01();
  // [sox output options, expected fmt code, tolerance vs the 16-bit source]
  const cases: Array<[string, string[], number, number]> = [
    ["8-bit unsigned", ["-b", "8", "-e", "unsigned-integer"], 1, 1 / 128 + 1e-6],
    ["16-bit stereo", ["-c", "2"], 1, 1e-7],
    ["24-bit (extensible)", ["-b", "24"], 0xfffe, 1e-7],
    ["32-bit int (extensible)", ["-b", "32", "-e", "signed-integer"], 0xfffe, 1e-7],
    ["32-bit float (with fact chunk)", ["-e", "floating-point", "-b", "32"], 3, 1e-7],
    ["64-bit float", ["-e", "floating-point", "-b", "64"], 3, 1e-7],
    ["6 channels 24-bit (extensible)", ["-c", "6", "-b", "24"], 0xfffe, 1e-6],
  ];

  for (const [name, opts, code, tolerance] of cases) {
    test(name, () => {
      const out = tmp.path(`${name.replace(/\W+/g, "_")}.wav`);
      run(["sox", "-D", UTT01, ...opts, out]); // -D: no dither, so values are exact
      const bytes = readBytes(out);
      expect(fmtCode(bytes)).toBe(code);
      const wav = decodeWav(bytes);
      expect(wav.sampleRate).toBe(16000);
      expect(wav.channels).toBe(opts.includes("-c") ? Number(opts[opts.indexOf("-c") + 1]) : 1);
      expect(maxAbsDiff(wav.samples, utt.samples)).toBeLessThanOrEqual(tolerance);
    });
  }

  test("44.1 kHz stereo keeps its rate and duration", () => {
    const out = tmp.path("44k.wav");
    run(["sox", UTT01, "-r", "44100", "-c", "2", out]);
    const wav = decodeWav(readBytes(out));
    expect(wav.sampleRate).toBe(44100);
    expect(Math.abs(wav.samples.length / 44100 - UTT01_SAMPLES / 16000)).toBeLessThan(0.001);
  });

  test("opposite-phase stereo mixes down to silence (channels are averaged, not one picked)", () => {
    const out = tmp.path("antiphase.wav");
    run(["sox", "-D", UTT01, out, "remix", "1", "1v-1"]);
    const wav = decodeWav(readBytes(out));
    expect(wav.channels).toBe(2);
    let peak = 0;
    for (const s of wav.samples) peak = Math.max(peak, Math.abs(s));
    expect(peak).toBeLessThan(1e-4);
  });
});

describe("decodeWav tolerance", () => {
  const utt = loadUtt01();
  const clean = encodeWav(utt.samples, 16000);

  /** The clean file with an extra chunk (odd length, so it is padded) before `data`. */
  function withListChunk(): Uint8Array {
    const payload = new TextEncoder().encode("INFOISFT\x05\x00\x00\x00Hrth\x00"); // 17 bytes: odd
    const chunk = new Uint8Array(8 + payload.length + 1);
    chunk.set(new TextEncoder().encode("LIST"), 0);
    new DataView(chunk.buffer).setUint32(4, payload.length, true);
    chunk.set(payload, 8);
    const out = new Uint8Array(clean.length + chunk.length);
    out.set(clean.subarray(0, 36), 0);
    out.set(chunk, 36);
    out.set(clean.subarray(36), 36 + chunk.length);
    return out;
  }

  test("extra LIST chunk with odd length and pad byte", () => {
    const wav = decodeWav(withListChunk());
    expect(maxAbsDiff(wav.samples, utt.samples)).toBe(0);
  });

  for (const size of [0, WAV_UNKNOWN_SIZE]) {
    test(`data chunk size ${size} (streamed WAV): reads to the end of the file`, () => {
      const bytes = clean.slice();
      new DataView(bytes.buffer).setUint32(40, size, true);
      new DataView(bytes.buffer).setUint32(4, size, true);
      expect(decodeWav(bytes).samples.length).toBe(UTT01_SAMPLES);
    });
  }

  test.skipIf(!has("ffmpeg"))("ffmpeg writing to a pipe (LIST chunk, sizes 0xFFFFFFFF)", () => {
    const proc = Bun.spawnSync(["ffmpeg", "-loglevel", "error", "-i", UTT01, "-f", "wav", "-"], { stdout: "pipe" });
    expect(proc.exitCode).toBe(0);
    const bytes = new Uint8Array(proc.stdout);
    expect(new TextDecoder().decode(bytes.subarray(36, 40))).toBe("LIST");
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(WAV_UNKNOWN_SIZE);
    const wav = decodeWav(bytes);
    expect(maxAbsDiff(wav.samples, utt.samples)).toBe(0);
  });

  test("data cut short: decodes what is there", () => {
    const wav = decodeWav(clean.subarray(0, 44 + 2000 + 1)); // and half a sample
    expect(wav.samples.length).toBe(1000);
  });

  test("truncated or garbage headers are BadRequest with a clear message", () => {
    expect(() => decodeWav(clean.subarray(0, 8))).toThrow(BadRequest);
    expect(() => decodeWav(clean.subarray(0, 30))).toThrow(/fmt/);
    expect(() => decodeWav(clean.subarray(0, 36))).toThrow(/no data chunk/);
    const notWave = clean.slice();
    notWave.set(new TextEncoder().encode("AVI "), 8);
    expect(() => decodeWav(notWave)).toThrow(/RIFF\/WAVE/);
    const adpcm = clean.slice();
    new DataView(adpcm.buffer).setUint16(20, 2, true); // MS ADPCM
    expect(() => decodeWav(adpcm)).toThrow(/format code 2/);
  });
});

describe("encodeWav / wavHeader", () => {
  test("round trip is exact for 16-bit values and the header is standard", () => {
    const utt = loadUtt01();
    const bytes = encodeWav(utt.samples, 16000);
    expect(bytes.length).toBe(44 + UTT01_SAMPLES * 2);
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(4, true)).toBe(bytes.length - 8);
    expect(view.getUint32(40, true)).toBe(UTT01_SAMPLES * 2);
    const back = decodeWav(bytes);
    expect(back.sampleRate).toBe(16000);
    expect(maxAbsDiff(back.samples, utt.samples)).toBe(0);
  });

  test("out-of-range samples are clamped, not wrapped", () => {
    const back = decodeWav(encodeWav(new Float32Array([2, -2, 1, -1, NaN]), 8000)).samples;
    expect(Array.from(back)).toEqual([32767 / 32768, -1, 32767 / 32768, -1, 0]);
  });

  test.skipIf(!has("soxi"))("sox reads what we write", async () => {
    const out = tmp.path("ours.wav");
    await Bun.write(out, encodeWav(new Float32Array(22050), 22050));
    const proc = Bun.spawnSync(["soxi", out], { stdout: "pipe" });
    const info = proc.stdout.toString();
    expect(info).toMatch(/Sample Rate\s*:\s*22050/);
    expect(info).toMatch(/Channels\s*:\s*1/);
    expect(info).toMatch(/22050 samples/);
  });

  test("streaming header declares unknown sizes", () => {
    const h = wavHeader(24000, WAV_UNKNOWN_SIZE);
    const view = new DataView(h.buffer);
    expect(view.getUint32(4, true)).toBe(WAV_UNKNOWN_SIZE);
    expect(view.getUint32(40, true)).toBe(WAV_UNKNOWN_SIZE);
    expect(view.getUint32(24, true)).toBe(24000);
  });
});
