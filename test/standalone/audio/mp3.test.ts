// MP3 encoding, checked by decoding with mpg123-decoder (and ffprobe when installed;
// apt: ffmpeg).

import { describe, expect, test } from "bun:test";
import { MPEGDecoder } from "mpg123-decoder";
import { concatBytes } from "../../../src/audio/bytes.ts";
import { encodeMp3, Mp3Encoder, mp3SampleRate } from "../../../src/audio/mp3.ts";
import { dominantFrequency, envelopeCorrelation, has, loadUtt01, makeTempDir, sine } from "./helpers.ts";
import { resample } from "../../../src/audio/resample.ts";

/** LAME's encoder delay, in samples. */
const ENCODER_DELAY = 576 + 529;
/** LAME's end padding: the rest of the last frame plus at most one more (MPEG-2 frames are 576). */
const MAX_PADDING = 2 * 576;

async function decodeMp3(bytes: Uint8Array): Promise<{ samples: Float32Array; sampleRate: number }> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const out = decoder.decode(bytes);
    expect(out.errors).toEqual([]);
    return { samples: out.channelData[0]!, sampleRate: out.sampleRate };
  } finally {
    decoder.free();
  }
}

describe("encodeMp3", () => {
  for (const rate of [16000, 22050, 24000]) {
    test(`1 kHz tone, 3 s at ${rate} Hz, 32 kbps: decodes to ~3 s of 1 kHz`, async () => {
      const mp3 = await encodeMp3(sine(1000, rate, 3), rate, 32);
      // CBR: the size follows from the bitrate (within a frame or two).
      expect(Math.abs(mp3.length - (32000 / 8) * 3)).toBeLessThan(600);
      const out = await decodeMp3(mp3);
      expect(out.sampleRate).toBe(rate);
      const extra = out.samples.length - 3 * rate;
      // The stream has no gapless header, so the decoder also plays the encoder delay and
      // the end padding: 1105 to 1105 + 1152 samples (50-102 ms at 22050 Hz). Once the known
      // delay is taken off, the duration is within two frames (52 ms at 22050 Hz) of 3 s.
      expect(extra).toBeGreaterThanOrEqual(ENCODER_DELAY);
      expect(extra).toBeLessThanOrEqual(ENCODER_DELAY + MAX_PADDING);
      expect(Math.abs(dominantFrequency(out.samples, rate) - 1000)).toBeLessThan(3);
    });
  }

  test("speech round trip keeps its energy envelope", async () => {
    const utt = loadUtt01();
    const voice = resample(utt.samples, 16000, 22050);
    const out = await decodeMp3(await encodeMp3(voice, 22050, 32));
    expect(envelopeCorrelation(out.samples, 22050, voice, 22050)).toBeGreaterThan(0.95);
  });

  test("a rate MP3 cannot carry is resampled up to the next legal one", async () => {
    expect(mp3SampleRate(22050)).toBe(22050);
    expect(mp3SampleRate(20000)).toBe(22050);
    expect(mp3SampleRate(96000)).toBe(48000);
    const enc = await Mp3Encoder.create(20000, 32);
    expect(enc.sampleRate).toBe(22050);
    const mp3 = concatBytes([enc.encode(sine(440, 20000, 2)), enc.flush()]);
    const out = await decodeMp3(mp3);
    expect(out.sampleRate).toBe(22050);
    expect(Math.abs(out.samples.length / 22050 - 2)).toBeLessThan(0.11);
    expect(Math.abs(dominantFrequency(out.samples, 22050) - 440)).toBeLessThan(3);
  });

  test("invalid bitrate is refused", async () => {
    await expect(Mp3Encoder.create(22050, 33)).rejects.toThrow(/bitrate/);
  });
});

describe("Mp3Encoder streaming", () => {
  test("sentence by sentence: bytes come out before the end, and the whole decodes", async () => {
    const rate = 22050;
    const enc = await Mp3Encoder.create(rate, 32);
    const sentences = [sine(500, rate, 1.2), sine(800, rate, 0.7), sine(1200, rate, 1.5)];
    const parts: Uint8Array[] = [];
    for (const s of sentences) parts.push(enc.encode(s));
    expect(parts[0]!.length).toBeGreaterThan(1000); // the first sentence is already on its way
    parts.push(enc.flush());
    const out = await decodeMp3(concatBytes(parts));
    const seconds = out.samples.length / rate;
    expect(seconds).toBeGreaterThanOrEqual(3.4);
    expect(seconds).toBeLessThanOrEqual(3.4 + (ENCODER_DELAY + MAX_PADDING) / rate);
    // The last sentence's tone is in the last second.
    expect(Math.abs(dominantFrequency(out.samples.subarray(-rate), rate) - 1200)).toBeLessThan(3);
  });

  test("tiny chunks (toy-sized) produce the same stream as one big chunk", async () => {
    const x = sine(1000, 16000, 1);
    const big = await encodeMp3(x, 16000, 32);
    const enc = await Mp3Encoder.create(16000, 32);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < x.length; i += 100) parts.push(enc.encode(x.subarray(i, i + 100)));
    parts.push(enc.flush());
    expect(concatBytes(parts)).toEqual(big);
  });

  test.skipIf(!has("ffprobe"))("ffprobe sees mono CBR MP3 at the asked rate and bitrate", async () => {
    const tmp = makeTempDir("mp3");
    try {
      const path = tmp.path("tone.mp3");
      await Bun.write(path, await encodeMp3(sine(1000, 24000, 3), 24000, 48));
      const proc = Bun.spawnSync(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels,bit_rate", "-of", "json", path],
        { stdout: "pipe" },
      );
      const stream = JSON.parse(proc.stdout.toString()).streams[0];
      expect(stream).toMatchObject({ codec_name: "mp3", sample_rate: "24000", channels: 1, bit_rate: "48000" });
    } finally {
      tmp.cleanup();
    }
  });
});
