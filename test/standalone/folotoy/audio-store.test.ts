import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeAudio } from "../../../src/audio/decode.ts";
import { AudioStore, toyMp3 } from "../../../src/devices/folotoy/audio-store.ts";

const dir = mkdtempSync(join(tmpdir(), "toy-audio-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tone(seconds: number, rate: number): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * rate) }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / rate));
}

test("reply MP3s are mono, at most 24 kHz, about 32 kbps", async () => {
  const hi = await decodeAudio(await toyMp3({ samples: tone(1, 44100), sampleRate: 44100 }));
  expect(hi.format).toBe("mp3");
  expect(hi.sampleRate).toBe(24000);
  expect(hi.samples.length / hi.sampleRate).toBeGreaterThan(0.95);
  const mp3 = await toyMp3({ samples: tone(2, 22050), sampleRate: 22050 });
  expect(mp3.length).toBeGreaterThan(7000); // 2 s at 32 kbps = 8000 bytes
  expect(mp3.length).toBeLessThan(9500);
  expect((await decodeAudio(mp3)).sampleRate).toBe(22050);
});

test("saved files are served with their type and length, and expire after the TTL (also leftovers at start)", async () => {
  writeFileSync(join(dir, "voice-00112233445566778899aabb.mp3"), "old");
  const old = (Date.now() - 3600_000) / 1000;
  utimesSync(join(dir, "voice-00112233445566778899aabb.mp3"), old, old);
  const store = new AudioStore(dir, 600);
  store.start();
  try {
    expect(existsSync(join(dir, "voice-00112233445566778899aabb.mp3"))).toBe(false);
    const bytes = await toyMp3({ samples: tone(0.5, 16000), sampleRate: 16000 });
    const name = await store.save("voice", bytes);
    expect(name).toMatch(/^voice-[0-9a-f]{24}\.mp3$/);
    expect(readdirSync(dir)).toEqual([name]); // no temp file left behind
    const res = await store.serve(name);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/mpeg");
    expect(res.headers.get("content-length")).toBe(String(bytes.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    expect((await store.serve("../etc/passwd")).status).toBe(404);
    expect((await store.serve("voice-ffffffffffffffffffffffff.mp3")).status).toBe(404);
    expect(store.sweep(Date.now() + 599_000)).toBe(0);
    expect(store.sweep(Date.now() + 601_000)).toBe(1);
    expect((await store.serve(name)).status).toBe(404);
  } finally {
    store.stop();
  }
});
