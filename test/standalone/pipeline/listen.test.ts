// The logic of recognition while listening (pipeline/listen.ts) with a scripted pause detector and
// a recognizer that "hears" the words written into the samples: which stretches are recognized
// when, that every word comes out once and in order, and what is left for after the end. The real
// silero and Whisper are exercised in test/modelDependent/stt/listen.test.ts.
import { expect, test } from "bun:test";
import type { Stt, Transcript } from "../../../src/engines/types.ts";
import { Listening } from "../../../src/pipeline/listen.ts";
import { LoudnessDetector } from "../../support/loudness-detector.ts";

const RATE = 16000;
const PAUSE = 1600; // 0.1 s of silence ends a stretch

/** Word k is 0.1 s of samples of value ±k/100 (no DC: the listening removes it before its detector); the text is the words found, in order. */
class WordStt implements Stt {
  readonly id = "words";
  readonly languages = ["en"];
  calls: { seconds: number; text: string }[] = [];
  async transcribe(samples: Float32Array, sampleRate: number): Promise<Transcript> {
    await Bun.sleep(1);
    const words: string[] = [];
    let last = 0;
    for (const x of samples) {
      const k = Math.round(Math.abs(x) * 100);
      if (k !== 0 && k !== last) words.push(`w${k}`);
      last = k;
    }
    const text = words.join(" ");
    this.calls.push({ seconds: samples.length / sampleRate, text });
    return { text, language: "en", duration: samples.length / sampleRate, segments: [] };
  }
  close() {}
}

/** Words of 0.1 s separated by `gap` seconds of silence, then `tail` seconds of silence. */
function speech(words: number[], gap: number, tail: number): Float32Array {
  const parts: number[] = [];
  for (const k of words) {
    for (let i = 0; i < 0.1 * RATE; i++) parts.push(i % 2 ? -k / 100 : k / 100);
    for (let i = 0; i < gap * RATE; i++) parts.push(0);
  }
  for (let i = 0; i < tail * RATE; i++) parts.push(0);
  return Float32Array.from(parts);
}

function setup(minRegionSeconds = 2) {
  const stt = new WordStt();
  let released = 0;
  const detector = new LoudnessDetector(PAUSE);
  const listening = new Listening({ stt, detectors: { open: () => detector, release: () => released++ }, sampleRate: RATE, minRegionSeconds });
  return { stt, listening, released: () => released };
}

async function feed(listening: Listening, samples: Float32Array, tick = false) {
  for (let i = 0; i < samples.length; i += 320) {
    listening.push(samples.subarray(i, i + 320));
    if (tick) await Bun.sleep(2);
  }
}

const words = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i);

test("short stretches stay open; the last one, recognized when the speaker paused, is the text; the silence after it costs nothing", async () => {
  const { stt, listening, released } = setup(2);
  // Three stretches of 0.5 s (5 words each, no pause inside), 0.3 s apart, then 0.6 s of silence.
  const audio = [speech(words(5, 1), 0, 0.3), speech(words(5, 6), 0, 0.3), speech(words(5, 11), 0, 0.6)];
  for (const a of audio) await feed(listening, a, true);
  const heard = await listening.finish();
  expect(heard.text).toBe(words(15).map((k) => `w${k}`).join(" "));
  // The first two guesses were dropped when speech went on; the third covered everything said.
  expect(stt.calls.map((c) => c.text)).toEqual([words(5).map((k) => `w${k}`).join(" "), words(10).map((k) => `w${k}`).join(" "), words(15).map((k) => `w${k}`).join(" "), ""]);
  expect(heard.decodedBeforeEndSeconds).toBeCloseTo(0.5 + 0.3 + 0.5 + 0.3 + 0.5 + 0.1, 1);
  expect(heard.tailSeconds).toBeCloseTo(0.5, 1);
  expect(released()).toBe(1);
});

test("long speech: stretches of minRegionSeconds are kept and recognized while the speaker goes on; every word once, in order", async () => {
  const { stt, listening } = setup(1);
  // 30 words of 0.1 s each with 0.15 s pauses: 7.5 s, stretches cut after every pause once 1 s long.
  const audio = speech(words(30), 0.15, 0);
  await feed(listening, audio, true);
  const doneBeforeEnd = stt.calls.length;
  listening.push(new Float32Array(0.6 * RATE));
  const heard = await listening.finish();
  expect(heard.text).toBe(words(30).map((k) => `w${k}`).join(" "));
  // Kept stretches (1 s and more) were recognized while the speech went on; shorter guesses too, then dropped.
  expect(stt.calls.slice(0, doneBeforeEnd).filter((c) => c.seconds >= 1).length).toBeGreaterThanOrEqual(5);
});

test("speech going on when the recording ends: the open stretch is recognized after the end", async () => {
  const { stt, listening } = setup(2);
  await feed(listening, speech(words(8), 0.15, 0).subarray(0, Math.round(1.9 * RATE)), true);
  const calls = stt.calls.length;
  const heard = await listening.finish();
  expect(heard.text).toBe(words(8).map((k) => `w${k}`).join(" "));
  expect(heard.tailSeconds).toBeCloseTo(1.9, 1);
  expect(stt.calls.length).toBe(calls + 1);
});

test("cancel: what was not recognized yet never is, and the detector goes back once", async () => {
  const { stt, listening, released } = setup(0.2);
  void feed(listening, speech(words(10), 0.15, 0)); // no ticks: runs to its end at once, every decode still waiting
  listening.cancel();
  await Bun.sleep(20);
  expect(stt.calls.length).toBe(0);
  expect(released()).toBe(1);
  await expect(listening.finish()).rejects.toThrow();
});
