// Reply audio paced as the device plays it (its decode queue holds ~2.4 s and drops the rest):
// a few frames at once, then one per 60 ms; each sentence's sentence_start right before its
// audio; every packet one 60 ms frame at 24 kHz; stop() means no further frame at all.
import { expect, test } from "bun:test";
import { OpusDecoder } from "opus-decoder";
import { downstreamEncoder, downstreamFrames, DOWN_FRAME_SAMPLES } from "../../../src/devices/xiaozhi/opus.ts";
import { Playout } from "../../../src/devices/xiaozhi/playout.ts";

type Sent = { kind: "text"; message: string; at: number } | { kind: "audio"; packet: Uint8Array; ts: number; at: number };

function tone(seconds: number, rate = 22050): { samples: Float32Array; sampleRate: number } {
  const samples = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * 330 * i) / rate);
  return { samples, sampleRate: rate };
}

function start(lead = 5, tailMs = 0) {
  const sent: Sent[] = [];
  const playout = new Playout(
    { text: (message) => sent.push({ kind: "text", message, at: performance.now() }), audio: (packet, ts) => sent.push({ kind: "audio", packet, ts, at: performance.now() }) },
    downstreamEncoder(),
    { frameMs: 60, leadFrames: lead, tailMs },
  );
  return { sent, playout };
}

test("a sentence becomes whole 60 ms frames at 24 kHz (the last one padded)", () => {
  const frames = downstreamFrames(tone(1.0));
  expect(DOWN_FRAME_SAMPLES).toBe(1440);
  expect(frames.length).toBe(Math.ceil(24000 / 1440));
  for (const f of frames) expect(f.length).toBe(1440);
});

test("pre-buffer, then real-time pace; sentence_start before its audio; every packet decodes to 1440 samples", async () => {
  const { sent, playout } = start();
  const s1 = downstreamFrames(tone(1.2)); // 20 frames
  const s2 = downstreamFrames(tone(0.6)); // 10 frames
  const t0 = performance.now();
  playout.text("s1");
  playout.audio(s1);
  playout.text("s2");
  playout.audio(s2);
  playout.end();
  await playout.finished;
  const elapsed = performance.now() - t0;
  expect(sent.map((s) => (s.kind === "text" ? s.message : "a")).join("")).toBe(`s1${"a".repeat(s1.length)}s2${"a".repeat(s2.length)}`);
  const audio = sent.filter((s): s is Extract<Sent, { kind: "audio" }> => s.kind === "audio");
  expect(audio.length).toBe(30);
  const first = audio[0]!.at;
  for (let k = 0; k < audio.length; k++) {
    const due = first + Math.max(0, k - 4) * 60; // 5 at once, then one per 60 ms
    // Never ahead of the device by more than the pre-buffer, and not late (a noisy machine: 80 ms slack).
    expect(audio[k]!.at).toBeGreaterThanOrEqual(due - 2);
    expect(audio[k]!.at).toBeLessThanOrEqual(due + 80);
    expect(audio[k]!.ts).toBe(k * 60);
  }
  // finished = everything played: 30 frames of 60 ms from the first one
  expect(elapsed).toBeGreaterThanOrEqual(30 * 60 - 5);
  const decoder = new OpusDecoder({ sampleRate: 24000, channels: 1 });
  await decoder.ready;
  for (const a of audio) {
    const out = decoder.decodeFrame(a.packet);
    expect(out.errors).toEqual([]);
    expect(out.samplesDecoded).toBe(1440);
  }
  decoder.free();
});

test("stop(): nothing more is sent, and finished resolves at once", async () => {
  const { sent, playout } = start();
  playout.text("long");
  playout.audio(downstreamFrames(tone(5)));
  await Bun.sleep(300);
  const before = sent.length;
  const stoppedAt = performance.now();
  playout.stop();
  await playout.finished;
  expect(performance.now() - stoppedAt).toBeLessThan(50);
  await Bun.sleep(200);
  expect(sent.length).toBe(before);
  expect(before).toBeLessThan(20);
});

test("a late sentence after the device ran dry is pre-buffered again", async () => {
  const { sent, playout } = start();
  playout.audio(downstreamFrames(tone(0.12))); // 2 frames
  await Bun.sleep(400); // the device has played them and waits
  const t = performance.now();
  playout.audio(downstreamFrames(tone(0.6))); // 10 frames
  playout.end();
  await Bun.sleep(40);
  const late = sent.filter((s) => s.at >= t);
  expect(late.length).toBe(5); // the pre-buffer went at once; the rest waits for its turn
  await playout.finished;
  expect(sent.length).toBe(12);
});
