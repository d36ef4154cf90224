import { describe, expect, test } from "bun:test";
import { gainFor, LEVEL_DEFAULTS, measureLevel, normalizeLevel } from "../../../src/audio/level.ts";

const RATE = 16000;

/** Seeded white noise at an RMS of `db` dBFS. */
function hiss(seconds: number, db: number, seed = 1, rate = RATE): Float32Array {
  let s = seed;
  const amp = 10 ** (db / 20) * Math.sqrt(3); // uniform in [-a, a] has RMS a/sqrt(3)
  return new Float32Array(Math.round(seconds * rate)).map(() => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 1073741824 - 1) * amp;
  });
}

/** Speech-like: 200 ms bursts of a 300 Hz tone at `db` dBFS RMS, 200 ms apart, over `floor`. */
function bursts(seconds: number, db: number, floorDb = -Infinity, rate = RATE): Float32Array {
  const amp = 10 ** (db / 20) * Math.SQRT2;
  const noise = hiss(seconds, floorDb, 7, rate);
  return noise.map((n, i) => {
    const t = i / rate;
    return n + (t % 0.4 < 0.2 ? amp * Math.sin(2 * Math.PI * 300 * t) : 0);
  });
}

function rmsDb(x: Float32Array, from = 0, to = x.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += x[i]! * x[i]!;
  return 10 * Math.log10(sum / (to - from));
}

/** RMS of the first burst (50-150 ms), away from its edges. */
const burstDb = (x: Float32Array, rate = RATE) => rmsDb(x, 0.05 * rate, 0.15 * rate);

describe("measureLevel", () => {
  test("floor, speech level, peak and DC of a known signal", () => {
    const x = bursts(3, -50, -80).map((v) => v + 0.01);
    const level = measureLevel(x, RATE);
    expect(level.dc).toBeCloseTo(0.01, 4);
    expect(level.floorDb).toBeCloseTo(-80, 0);
    expect(level.speechDb).toBeCloseTo(-50, 0);
    expect(level.peakDb).toBeCloseTo(-47, 0); // a sine's peak is 3 dB over its RMS
  });

  test("silence and empty input measure as -Infinity, without throwing", () => {
    for (const x of [new Float32Array(0), new Float32Array(100), new Float32Array(RATE)]) {
      const level = measureLevel(x, RATE);
      expect([level.floorDb, level.speechDb, level.peakDb]).toEqual([-Infinity, -Infinity, -Infinity]);
      expect(gainFor(level)).toBe(0);
    }
  });

  test("the same signal measures the same at 16 and 32 kHz", () => {
    const a = measureLevel(bursts(2, -50, -75, 16000), 16000);
    const b = measureLevel(bursts(2, -50, -75, 32000), 32000);
    expect(Math.abs(a.speechDb - b.speechDb)).toBeLessThan(0.5);
    expect(Math.abs(a.floorDb - b.floorDb)).toBeLessThan(0.5);
  });
});

describe("normalizeLevel", () => {
  test("quiet speech is brought to the target level", () => {
    for (const db of [-45, -50, -55]) {
      const { samples, gainDb } = normalizeLevel(bursts(3, db, -80), RATE);
      expect(gainDb).toBeCloseTo(LEVEL_DEFAULTS.targetDb - db, 0);
      expect(burstDb(samples)).toBeCloseTo(LEVEL_DEFAULTS.targetDb, 0);
    }
  });

  test("the gain stops at +40 dB", () => {
    const { samples, gainDb } = normalizeLevel(bursts(3, -75, -100), RATE);
    expect(gainDb).toBe(40);
    expect(burstDb(samples)).toBeCloseTo(-35, 0);
  });

  test("loud recordings are returned as they are", () => {
    for (const db of [-20, -16, -6]) {
      const x = bursts(2, db, -60);
      const { samples, gainDb } = normalizeLevel(x, RATE);
      expect(gainDb).toBe(0);
      expect(samples).toBe(x);
    }
  });

  test("the DC offset of a quiet microphone is removed", () => {
    const { samples } = normalizeLevel(bursts(2, -50, -70).map((v) => v + 0.002), RATE);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    expect(Math.abs(mean)).toBeLessThan(1e-4);
  });

  test("never clips: a click does not stop the speech from being raised", () => {
    const x = bursts(3, -55, -80);
    x[RATE] = 0.3; // a knock on the toy, 45 dB over the speech
    x[RATE + 1] = -0.3;
    const { samples, gainDb } = normalizeLevel(x, RATE);
    expect(gainDb).toBeCloseTo(35, 0);
    expect(burstDb(samples)).toBeCloseTo(-20, 0);
    expect(Math.max(...samples.map(Math.abs))).toBeLessThan(1);
    expect(samples[RATE]!).toBeGreaterThan(0.9); // bent under full scale, still a click
  });

  test("speech peaks stay linear", () => {
    const x = bursts(2, -50, -80);
    const { samples, gainDb, level } = normalizeLevel(x, RATE);
    const k = 10 ** (gainDb / 20);
    for (let i = 0; i < 3200; i++) expect(samples[i]!).toBeCloseTo((x[i]! - level.dc) * k, 6);
  });

  test("stationary noise alone is not raised to speech level", () => {
    for (const db of [-70, -65, -60, -50]) {
      const { samples, gainDb } = normalizeLevel(hiss(3, db), RATE);
      expect(gainDb).toBeCloseTo(Math.max(0, LEVEL_DEFAULTS.noiseCeilingDb - db), 0);
      expect(rmsDb(samples)).toBeLessThan(LEVEL_DEFAULTS.noiseCeilingDb + 1);
    }
    expect(normalizeLevel(hiss(3, -35), RATE).gainDb).toBe(0); // loud noise is left alone
  });

  test("a steady hum alone is not raised to speech level either", () => {
    const hum = new Float32Array(3 * RATE).map((_, i) => 0.002 * Math.sin((2 * Math.PI * 50 * i) / RATE));
    const { samples } = normalizeLevel(hum, RATE);
    expect(rmsDb(samples)).toBeLessThan(LEVEL_DEFAULTS.noiseCeilingDb + 1);
  });

  test("noisy quiet speech, with little contrast left, is still raised", () => {
    // bursts 8 dB over the hiss: enough contrast for the full gain
    const high = normalizeLevel(bursts(3, -52, -60), RATE);
    expect(high.gainDb).toBeCloseTo(LEVEL_DEFAULTS.targetDb - high.level.speechDb, 6);
    expect(high.gainDb).toBeGreaterThan(30);
    // bursts 3 dB over the hiss: no more than stationary noise, so the noise floor goes to -40
    const low = normalizeLevel(bursts(3, -57, -60), RATE);
    expect(low.gainDb).toBeGreaterThan(15);
    expect(low.level.floorDb + low.gainDb).toBeCloseTo(LEVEL_DEFAULTS.noiseCeilingDb, 0);
  });

  test("digital silence stays silent", () => {
    const { samples, gainDb } = normalizeLevel(new Float32Array(RATE), RATE);
    expect(gainDb).toBe(0);
    expect(samples.every((v) => v === 0)).toBe(true);
  });

  test("the input is not changed", () => {
    const x = bursts(1, -50, -70);
    const copy = x.slice();
    normalizeLevel(x, RATE);
    expect(x).toEqual(copy);
  });
});
