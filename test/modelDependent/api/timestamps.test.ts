// Segment and word times that follow the speech, through the official SDK (verbose_json, srt) and
// the Vercel AI SDK (transcribe with word timestamps), on real speech (the test utterances,
// Whisper tiny.en). Where the speech is in the test audio is known: it is built from the
// utterances with silences of known lengths, and each utterance's onset and end are measured
// from its samples (the first and last above -40 dBFS).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createOpenAI } from "@ai-sdk/openai";
import { experimental_transcribe as transcribe } from "ai";
import OpenAI, { toFile } from "openai";
import { concatSamples } from "../../../src/audio/bytes.ts";
import { decodeWav, encodeWav } from "../../../src/audio/wav.ts";
import type { Hearth } from "../../../src/app.ts";
import { readAudioFile, startTestHearth } from "../../support/hearth.ts";

const RATE = 16000;
/** How far a time may be from the measured speech: silero's 32 ms windows plus a little of the VAD's margin. */
const TOLERANCE = 0.15;

let hearth: Hearth;
let client: OpenAI;

beforeAll(async () => {
  hearth = await startTestHearth();
  client = new OpenAI({ baseURL: `${hearth.url}/v1`, apiKey: "unused", maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await hearth?.stop();
});

interface Built {
  wav: Uint8Array;
  seconds: number;
  /** Where each utterance's sound is, in seconds. */
  speech: { start: number; end: number }[];
}

/** The utterances in order, each after the silence given for it (seconds). */
async function build(names: string[], silences: number[], tail = 0.5): Promise<Built> {
  const parts: Float32Array[] = [];
  const speech: Built["speech"] = [];
  let at = 0;
  for (const [i, name] of names.entries()) {
    const silence = new Float32Array(Math.round(silences[i]! * RATE));
    const { samples, sampleRate } = decodeWav(await readAudioFile(name));
    expect(sampleRate).toBe(RATE);
    at += silence.length / RATE;
    const loud = (v: number) => Math.abs(v) > 0.01;
    speech.push({ start: at + samples.findIndex(loud) / RATE, end: at + (samples.findLastIndex(loud) + 1) / RATE });
    at += samples.length / RATE;
    parts.push(silence, samples);
  }
  parts.push(new Float32Array(Math.round(tail * RATE)));
  const all = concatSamples(parts);
  return { wav: encodeWav(all, RATE), seconds: all.length / RATE, speech };
}

const within = (t: { start: number; end: number }, speech: Built["speech"]) =>
  speech.some((s) => t.start >= s.start - TOLERANCE && t.end <= s.end + TOLERANCE);

describe("times follow the speech", () => {
  test("3 s of leading silence: the first segment and word start at the speech, not at 0", async () => {
    const audio = await build(["utt01.wav"], [3]);
    const onset = audio.speech[0]!.start;
    expect(onset).toBeGreaterThan(3);
    const verbose = await client.audio.transcriptions.create({
      file: await toFile(audio.wav, "late.wav"),
      model: "whisper-1",
      response_format: "verbose_json",
      timestamp_granularities: ["segment", "word"],
    });
    expect(verbose.text.toLowerCase()).toContain("rabbit");
    const first = verbose.words![0]!;
    expect(first.word).toBe("Hello");
    expect(first.start).toBeGreaterThanOrEqual(3.0);
    expect(Math.abs(first.start - onset)).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.abs(verbose.segments![0]!.start - onset)).toBeLessThanOrEqual(TOLERANCE);
    const last = verbose.words!.at(-1)!;
    expect(last.word).toBe("rabbit");
    expect(Math.abs(last.end - audio.speech[0]!.end)).toBeLessThanOrEqual(TOLERANCE);

    // the subtitle cue is the same stretch
    const srt = String(await client.audio.transcriptions.create({ file: await toFile(audio.wav, "late.wav"), model: "whisper-1", response_format: "srt" }));
    const cue = /^1\n(\d\d):(\d\d):(\d\d),(\d{3}) --> /.exec(srt);
    expect(cue).not.toBeNull();
    const start = Number(cue![1]) * 3600 + Number(cue![2]) * 60 + Number(cue![3]) + Number(cue![4]) / 1000;
    expect(Math.abs(start - onset)).toBeLessThanOrEqual(TOLERANCE);

    // the AI SDK reads the word times as its segments
    const openai = createOpenAI({ baseURL: `${hearth.url}/v1`, apiKey: "unused" });
    const result = await transcribe({ model: openai.transcription("whisper-1"), audio: audio.wav, providerOptions: { openai: { timestampGranularities: ["word"] } }, maxRetries: 0 });
    expect(Math.abs(result.segments[0]!.startSecond - onset)).toBeLessThanOrEqual(TOLERANCE);
  }, 60_000);

  test("about 2 minutes of speech: a short segment per stretch of speech, words in order inside them", async () => {
    const names = Array.from({ length: 5 }, () => [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `utt0${i}.wav`)).flat();
    // silences from 0.3 s (shorter than the VAD's 0.5 s: only the finer split finds it) to 1.6 s
    const cycle = [0.8, 0.3, 1.2, 0.5, 1.6, 0.7];
    const audio = await build(names, names.map((_, i) => cycle[i % cycle.length]!));
    expect(audio.seconds).toBeGreaterThan(100);
    const verbose = await client.audio.transcriptions.create({
      file: await toFile(audio.wav, "long.wav"),
      model: "whisper-1",
      response_format: "verbose_json",
      timestamp_granularities: ["segment", "word"],
    });
    const segments = verbose.segments!;
    const words = verbose.words!;
    // not one per 30 s window: about one per utterance, each a subtitle's length
    expect(segments.length).toBeGreaterThanOrEqual(names.length * 0.8);
    for (const s of segments) {
      expect(s.end - s.start).toBeLessThanOrEqual(7);
      expect(s.end).toBeGreaterThan(s.start);
      if (!within(s, audio.speech)) throw new Error(`segment ${s.start}-${s.end} "${s.text}" is not inside one utterance's speech`);
    }
    for (let i = 1; i < segments.length; i++) expect(segments[i]!.start).toBeGreaterThanOrEqual(segments[i - 1]!.end);
    // the first and last utterances are found where they are
    expect(Math.abs(segments[0]!.start - audio.speech[0]!.start)).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.abs(segments.at(-1)!.end - audio.speech.at(-1)!.end)).toBeLessThanOrEqual(TOLERANCE);

    // every word inside its segment, in order; the words are the segments' words
    let w = 0;
    for (const s of segments) {
      const expected = s.text.trim().split(/\s+/).length;
      const own = words.slice(w, w + expected);
      w += expected;
      expect(own.map((x) => x.word.toLowerCase())).toEqual(s.text.trim().split(/\s+/).map((x) => x.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "").toLowerCase()));
      for (const x of own) {
        expect(x.start).toBeGreaterThanOrEqual(s.start);
        expect(x.end).toBeLessThanOrEqual(s.end);
        expect(x.end).toBeGreaterThan(x.start);
      }
    }
    expect(w).toBe(words.length);
    for (let i = 1; i < words.length; i++) expect(words[i]!.start).toBeGreaterThanOrEqual(words[i - 1]!.end);
    // and the text is still right
    expect(verbose.text.toLowerCase().match(/rabbit/g)?.length).toBe(5);
  }, 120_000);
});
