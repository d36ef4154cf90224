import { describe, expect, test } from "bun:test";
import { resample, resampledLength, StreamingResampler } from "../../../src/audio/resample.ts";
import { dominantFrequency, randomBytes, rms, sine } from "./helpers.ts";
import { concatSamples } from "../../../src/audio/bytes.ts";

/** RMS away from the edges, where the zero padding makes the filter ramp in and out. */
function innerRms(x: Float32Array, rate: number): number {
  const edge = Math.round(rate * 0.05);
  return rms(x, edge, x.length - edge);
}


describe("resample", () => {
  const pairs: Array<[number, number]> = [
    [48000, 16000],
    [44100, 16000],
    [32000, 16000],
    [22050, 16000],
    [16000, 48000],
    [16000, 22050],
    [24000, 22050],
    [8000, 16000],
  ];
  for (const [from, to] of pairs) {
    test(`${from} -> ${to}: length, frequency and level of 440 Hz and 3 kHz tones`, () => {
      for (const freq of [440, 3000]) {
        const x = sine(freq, from, 1.5);
        const y = resample(x, from, to);
        expect(y.length).toBe(Math.ceil((x.length * to) / from));
        expect(y.length).toBe(resampledLength(x.length, from, to));
        expect(Math.abs(dominantFrequency(y, to) - freq)).toBeLessThan(1);
        expect(innerRms(y, to) / innerRms(x, from)).toBeCloseTo(1, 2);
      }
    });
  }

  // Tones above the new Nyquist frequency must be removed, not folded down into speech.
  const aliasing: Array<[number, number, number]> = [
    [48000, 16000, 12000], // would alias to 4 kHz
    [44100, 16000, 10000], // to 6 kHz
    [32000, 16000, 9000], // the toy's rate; to 7 kHz
  ];
  for (const [from, to, freq] of aliasing) {
    test(`${from} -> ${to} low-passes: a ${freq} Hz tone is attenuated by > 60 dB`, () => {
      const y = resample(sine(freq, from, 1, 0.9), from, to);
      expect(innerRms(y, to) / (0.9 / Math.SQRT2)).toBeLessThan(1e-3);
    });
  }

  test("speech band passes: 3.4 kHz at 48k -> 16k keeps its level within 1%", () => {
    const y = resample(sine(3400, 48000, 1), 48000, 16000);
    expect(innerRms(y, 16000) / (0.5 / Math.SQRT2)).toBeCloseTo(1, 2);
  });

  test("same rate returns an equal copy", () => {
    const x = sine(100, 16000, 0.1);
    const y = resample(x, 16000, 16000);
    expect(y).toEqual(x);
    expect(y).not.toBe(x);
  });

  test("invalid rates throw", () => {
    expect(() => resample(new Float32Array(10), 0, 16000)).toThrow(RangeError);
    expect(() => resample(new Float32Array(10), 16000, 22050.5)).toThrow(RangeError);
  });

  test("1 hour of 48 kHz -> 16 kHz: throughput (printed, not asserted)", () => {
    const chunk = sine(440, 48000, 10);
    const r = new StreamingResampler(48000, 16000);
    let produced = 0;
    const t0 = performance.now();
    for (let i = 0; i < 360; i++) produced += r.push(chunk).length;
    produced += r.flush().length;
    const ms = performance.now() - t0;
    console.log(`resample 1 h 48k->16k: ${(ms / 1000).toFixed(2)} s (${Math.round(3600_000 / ms)}x real time)`);
    expect(produced).toBe(16000 * 3600);
  }, 300_000);
});

describe("StreamingResampler", () => {
  test("toy frames (1024 bytes = 512 samples at 32 kHz) give exactly the whole-buffer result", () => {
    const x = sine(440, 32000, 2.3);
    for (let i = 0; i < x.length; i++) x[i]! += 0.2 * Math.sin(i * 0.37);
    const whole = resample(x, 32000, 16000);
    const r = new StreamingResampler(32000, 16000);
    const parts: Float32Array[] = [];
    for (let i = 0; i < x.length; i += 512) parts.push(r.push(x.subarray(i, i + 512)));
    parts.push(r.flush());
    const streamed = concatSamples(parts);
    expect(streamed.length).toBe(whole.length);
    let maxDiff = 0;
    for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(streamed[i]! - whole[i]!));
    expect(maxDiff).toBeLessThan(1e-6);
  });

  test("random chunk sizes (including empty and 1-sample chunks), odd ratio 44.1k -> 16k", () => {
    const x = sine(1000, 44100, 1);
    const whole = resample(x, 44100, 16000);
    const sizes = randomBytes(2000, 7);
    const r = new StreamingResampler(44100, 16000);
    const parts: Float32Array[] = [];
    let at = 0;
    for (let k = 0; at < x.length; k++) {
      const n = k % 10 === 0 ? 0 : k % 10 === 1 ? 1 : sizes[k % sizes.length]! * 4;
      parts.push(r.push(x.subarray(at, at + n)));
      at += n;
    }
    parts.push(r.flush());
    const streamed = concatSamples(parts);
    expect(streamed.length).toBe(whole.length);
    for (let i = 0; i < whole.length; i += 97) expect(Math.abs(streamed[i]! - whole[i]!)).toBeLessThan(1e-6);
  });

  test("no clicks at chunk boundaries: sample steps never exceed the sine's own slope", () => {
    const amp = 0.8;
    const x = sine(700, 32000, 1, amp);
    const r = new StreamingResampler(32000, 16000);
    const parts: Float32Array[] = [];
    for (let i = 0; i < x.length; i += 512) parts.push(r.push(x.subarray(i, i + 512)));
    const y = concatSamples(parts);
    const maxStep = amp * 2 * Math.sin((Math.PI * 700) / 16000); // largest |y[n+1]-y[n]| of a pure tone
    let worst = 0;
    for (let i = 800; i < y.length - 800; i++) worst = Math.max(worst, Math.abs(y[i + 1]! - y[i]!));
    expect(worst).toBeLessThan(maxStep * 1.01);
  });

  test("flush resets, so the resampler can be reused for the next recording", () => {
    const x = sine(300, 48000, 0.2);
    const r = new StreamingResampler(48000, 16000);
    const first = concatSamples([r.push(x), r.flush()]);
    const second = concatSamples([r.push(x), r.flush()]);
    expect(second).toEqual(first);
    expect(first.length).toBe(resampledLength(x.length, 48000, 16000));
  });

  test("same rate passes samples through", () => {
    const r = new StreamingResampler(16000, 16000);
    const x = sine(300, 16000, 0.1);
    expect(r.push(x)).toEqual(x);
    expect(r.flush().length).toBe(0);
  });
});
