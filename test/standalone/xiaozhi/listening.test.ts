// Utterances from the microphone stream, per listen mode, with a scripted speech detector (the
// real one, silero, is exercised end to end in test/modelDependent/xiaozhi).
import { expect, test } from "bun:test";
import { Listener, type Utterance } from "../../../src/devices/xiaozhi/listening.ts";
import { Listening } from "../../../src/pipeline/listen.ts";
import { LoudnessDetector } from "../../support/loudness-detector.ts";

function listener() {
  const detector = new LoudnessDetector(1600);
  const events: string[] = [];
  const utterances: Utterance[] = [];
  let released = 0;
  const l = new Listener({
    detectors: { open: () => detector, release: () => released++ },
    endSilenceMs: 100,
    maxSeconds: 1,
    preRollSeconds: 0.1,
    onSpeechStart: () => events.push("start"),
    onUtterance: (u) => {
      events.push("utterance");
      utterances.push(u);
    },
  });
  return { l, events, utterances, detector, released: () => released };
}

const frame = (value: number) => new Float32Array(960).fill(value);

test("manual: everything between start and stop, capped at maxSeconds", () => {
  const { l, events } = listener();
  l.audio(frame(0.5)); // not listening yet: ignored
  l.start("manual");
  for (let i = 0; i < 20; i++) l.audio(frame(i % 2 ? 0 : 0.5)); // 1.2 s: the last 0.2 s is dropped
  const u = l.stop()!;
  expect(u.mode).toBe("manual");
  expect(u.samples.length).toBe(16 * 960);
  expect(l.truncated).toBe(false); // cleared with the utterance
  expect(events).toEqual([]); // no detector in manual mode
  expect(l.listening).toBe(false);
  expect(l.stop()).toBeUndefined();
});

test("auto: speech with a little audio before it, ended by the detector; then paused until the next start", () => {
  const { l, events, utterances, detector } = listener();
  l.start("auto");
  for (let i = 0; i < 10; i++) l.audio(frame(0)); // 0.6 s of silence: only the pre-roll is kept
  for (let i = 0; i < 5; i++) l.audio(frame(0.5)); // speech
  const before = Date.now();
  for (let i = 0; i < 3; i++) l.audio(frame(0)); // 1600 zero samples end it, during the 2nd frame
  expect(events).toEqual(["start", "utterance"]);
  const u = utterances[0]!;
  expect(u.mode).toBe("auto");
  // pre-roll (>= 0.1 s, whole frames) + speech + the silence up to the end
  expect(u.samples.length).toBe(2 * 960 + 5 * 960 + 2 * 960);
  expect(u.endedAt).toBeLessThanOrEqual(before - 100 + 50); // the silence is not counted as speech (slack: a loaded machine)
  expect(l.listening).toBe(false);
  l.audio(frame(0.5)); // the device still streams until it speaks: not a question
  expect(events).toEqual(["start", "utterance"]);
  l.resume();
  expect(detector.resets).toBe(2);
  expect(l.listening).toBe(true);
});

test("auto: listen stop during speech gives what was said; silence alone gives nothing", () => {
  const { l } = listener();
  l.start("auto");
  l.audio(frame(0));
  expect(l.stop()).toBeUndefined();
  l.start("auto");
  l.audio(frame(0.5));
  expect(l.stop()!.samples.length).toBe(960);
});

test("realtime: every end of speech is an utterance, and listening goes on", () => {
  const { l, events, utterances, released } = listener();
  l.start("realtime");
  for (const v of [0.5, 0.5, 0, 0, 0, 0.5, 0, 0, 0]) l.audio(frame(v));
  expect(events).toEqual(["start", "utterance", "start", "utterance"]);
  expect(utterances.every((u) => u.mode === "realtime")).toBe(true);
  expect(l.listening).toBe(true);
  l.close();
  expect(released()).toBe(1);
  expect(l.listening).toBe(false);
});

test("with recognition while listening: each utterance carries its own, fed with the same audio (pre-roll included); a dropped one is cancelled", async () => {
  const made: Listening[] = [];
  const stt = { id: "fake", languages: ["en"], close() {}, transcribe: async (s: Float32Array, rate: number) => ({ text: s.some((x) => x !== 0) ? "speech" : "", language: "en", duration: s.length / rate, segments: [] }) };
  const pauses = { open: () => new LoudnessDetector(1600), release() {} };
  const utterances: Utterance[] = [];
  const l = new Listener({
    detectors: { open: () => new LoudnessDetector(1600), release() {} },
    endSilenceMs: 100,
    maxSeconds: 5,
    preRollSeconds: 0.1,
    listen: () => {
      made.push(new Listening({ stt, detectors: pauses, sampleRate: 16000 }));
      return made.at(-1)!;
    },
    onSpeechStart() {},
    onUtterance: (u) => utterances.push(u),
  });
  l.start("realtime");
  for (const v of [0, 0, 0, 0.5, 0.5, 0, 0, 0]) l.audio(frame(v));
  const u = utterances[0]!;
  expect(u.listening).toBe(made[0]);
  expect(u.listening!.samples()).toEqual(u.samples);
  expect((await u.listening!.finish()).text).toBe("speech");
  l.audio(frame(0.5)); // speech again, then the device goes away before it ends
  expect(made.length).toBe(2);
  l.close();
  await expect(made[1]!.finish()).rejects.toThrow(); // cancelled with the speech it was fed
});
