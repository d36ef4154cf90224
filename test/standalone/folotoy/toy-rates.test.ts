// Toy MP3s at the rates toy firmware plays (issue 17.2): 16-24 kHz (MPEG-2 Layer III), never
// 8-12 kHz MPEG-2.5, whatever the voice's own rate (aishell3 is 8 kHz, amy 16 kHz, Piper 22.05 kHz).
import { expect, test } from "bun:test";
import { decodeAudio } from "../../../src/audio/decode.ts";
import { toyMp3, toyRate } from "../../../src/devices/folotoy/audio-store.ts";

function tone(seconds: number, rate: number): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * rate) }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / rate));
}

/** MPEG version of the first frame: "1", "2" or "2.5" (bits 19-20 of the frame header). */
function mpegVersion(mp3: Uint8Array): string {
  for (let i = 0; i + 1 < mp3.length; i++) {
    if (mp3[i] === 0xff && (mp3[i + 1]! & 0xe0) === 0xe0) return { 0: "2.5", 2: "2", 3: "1" }[(mp3[i + 1]! >> 3) & 3] ?? "reserved";
  }
  return "none";
}

test("every voice rate becomes a rate the toy plays: 16-24 kHz", () => {
  expect([8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000].map(toyRate)).toEqual([16000, 16000, 16000, 16000, 22050, 24000, 24000, 24000, 24000]);
});

test("an 8 kHz voice (aishell3) reaches the toy as 16 kHz MPEG-2, the same length, the same tone", async () => {
  const mp3 = await toyMp3({ samples: tone(1.5, 8000), sampleRate: 8000 });
  expect(mpegVersion(mp3)).toBe("2");
  const decoded = await decodeAudio(mp3);
  expect(decoded.sampleRate).toBe(16000);
  // LAME adds up to ~100 ms of delay and padding
  expect(decoded.samples.length / 16000).toBeGreaterThan(1.45);
  expect(decoded.samples.length / 16000).toBeLessThan(1.65);
  // still a 440 Hz tone: count zero crossings in the middle second
  const mid = decoded.samples.subarray(4000, 20000);
  let crossings = 0;
  for (let i = 1; i < mid.length; i++) if (mid[i - 1]! < 0 !== mid[i]! < 0) crossings++;
  expect(crossings / 2).toBeGreaterThan(420);
  expect(crossings / 2).toBeLessThan(460);
});

test("16, 22.05 and 24 kHz voices keep their rate; 44.1 kHz comes down to 24 kHz", async () => {
  for (const [rate, expected] of [[16000, 16000], [22050, 22050], [24000, 24000], [44100, 24000]] as const) {
    const mp3 = await toyMp3({ samples: tone(0.5, rate), sampleRate: rate });
    expect(mpegVersion(mp3)).toBe("2");
    expect((await decodeAudio(mp3)).sampleRate).toBe(expected);
  }
});
