import { describe, expect, test } from "bun:test";
import { MPEGDecoder } from "mpg123-decoder";
import { concatBytes } from "../../../src/audio/bytes.ts";
import { checkSpeechFormat, createSpeechEncoder, encodeSpeech } from "../../../src/audio/encode.ts";
import { s16leToFloat } from "../../../src/audio/pcm.ts";
import { decodeWav, WAV_UNKNOWN_SIZE } from "../../../src/audio/wav.ts";
import { BadRequest } from "../../../src/errors.ts";
import { dominantFrequency, sine } from "./helpers.ts";

const RATE = 22050;
const sentences = [sine(500, RATE, 1.0), sine(900, RATE, 0.5), sine(1300, RATE, 0.8)];
const total = sentences.reduce((n, s) => n + s.length, 0);

describe("encodeSpeech (whole clip)", () => {
  test("wav: exact sizes in the header, content and rate preserved", async () => {
    const { bytes, contentType, sampleRate } = await encodeSpeech(sentences[0]!, RATE, "wav");
    expect(contentType).toBe("audio/wav");
    expect(sampleRate).toBe(RATE);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(40, true)).toBe(sentences[0]!.length * 2);
    const back = decodeWav(bytes);
    expect(back.sampleRate).toBe(RATE);
    expect(back.samples.length).toBe(sentences[0]!.length);
    expect(Math.abs(dominantFrequency(back.samples, RATE) - 500)).toBeLessThan(1);
  });

  test("pcm: raw s16le, 2 bytes per sample, no header", async () => {
    const { bytes, contentType } = await encodeSpeech(sentences[1]!, RATE, "pcm");
    expect(contentType).toBe("audio/pcm");
    expect(bytes.length).toBe(sentences[1]!.length * 2);
    const back = s16leToFloat(bytes);
    for (let i = 0; i < back.length; i += 101) expect(Math.abs(back[i]! - sentences[1]![i]!)).toBeLessThan(1 / 32768);
  });

  test("mp3: audio/mpeg that decodes to the tone", async () => {
    const { bytes, contentType, sampleRate } = await encodeSpeech(sentences[2]!, RATE, "mp3");
    expect(contentType).toBe("audio/mpeg");
    expect(sampleRate).toBe(RATE);
    const decoder = new MPEGDecoder();
    await decoder.ready;
    const out = decoder.decode(bytes);
    decoder.free();
    expect(out.sampleRate).toBe(RATE);
    expect(Math.abs(dominantFrequency(out.channelData[0]!, RATE) - 1300)).toBeLessThan(3);
  });
});

describe("createSpeechEncoder (sentence by sentence)", () => {
  test("wav: the header (unknown length) leaves with the first sentence; the stream decodes", async () => {
    const enc = await createSpeechEncoder("wav", RATE);
    const parts = sentences.map((s) => enc.encode(s));
    expect(parts[0]!.length).toBe(44 + sentences[0]!.length * 2);
    expect(parts[1]!.length).toBe(sentences[1]!.length * 2);
    parts.push(enc.finish());
    const bytes = concatBytes(parts);
    expect(new DataView(bytes.buffer).getUint32(40, true)).toBe(WAV_UNKNOWN_SIZE);
    expect(decodeWav(bytes).samples.length).toBe(total);
  });

  test("wav with no audio at all is still a valid (empty) file", async () => {
    const enc = await createSpeechEncoder("wav", RATE);
    expect(decodeWav(enc.finish()).samples.length).toBe(0);
  });

  test("pcm: each sentence is its own s16le bytes", async () => {
    const enc = await createSpeechEncoder("pcm", 16000);
    expect(enc.sampleRate).toBe(16000);
    expect(enc.encode(sentences[0]!).length).toBe(sentences[0]!.length * 2);
    expect(enc.finish().length).toBe(0);
  });

  test("mp3: bytes leave after the first sentence and the whole stream decodes", async () => {
    const enc = await createSpeechEncoder("mp3", RATE, { mp3Kbps: 32 });
    expect(enc.contentType).toBe("audio/mpeg");
    const parts = sentences.map((s) => enc.encode(s));
    expect(parts[0]!.length).toBeGreaterThan(0);
    parts.push(enc.finish());
    const decoder = new MPEGDecoder();
    await decoder.ready;
    const out = decoder.decode(concatBytes(parts));
    decoder.free();
    expect(out.samplesDecoded).toBeGreaterThanOrEqual(total);
    // Plus LAME's encoder delay (1105) and end padding (up to two 576-sample frames).
    expect(out.samplesDecoded).toBeLessThanOrEqual(total + 1105 + 1152);
  });
});

describe("response_format validation", () => {
  for (const format of ["flac", "aac"]) {
    test(`${format}: BadRequest on param response_format listing mp3, opus, wav, pcm`, async () => {
      const err = await createSpeechEncoder(format, RATE).catch((e) => e);
      expect(err).toBeInstanceOf(BadRequest);
      expect(err.param).toBe("response_format");
      expect(err.message).toContain(`'${format}'`);
      expect(err.message).toContain("mp3, opus, wav, pcm");
      await expect(encodeSpeech(sentences[0]!, RATE, format)).rejects.toThrow(BadRequest);
    });
  }

  test("unknown format names are BadRequest too", () => {
    expect(() => checkSpeechFormat("ogg")).toThrow(/unknown response_format 'ogg'/);
    expect(checkSpeechFormat("mp3")).toBe("mp3");
  });
});
