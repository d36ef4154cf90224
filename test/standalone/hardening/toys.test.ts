// Issue 11, items 2, 3 and 8 without a broker or engines: tokens.json is bounded and toys in use
// keep their place, a toy's key is learned at its first login and required afterwards, and
// recordings that are turned away buffer nothing and end with the toy being told.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EVICT_UNSEEN_MS, TokenStore } from "../../../src/devices/folotoy/tokens.ts";
import { encodeDatagram, FRAME_AUDIO, FRAME_MARKER, RecordingAssembler, type DropReason, type Recording, type RefusedRecording } from "../../../src/devices/folotoy/udp.ts";

const sn = (i: number) => `aabbcc${i.toString(16).padStart(6, "0")}`;

function withStore(run: (file: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), "hearth-tokens-"));
  try {
    run(join(dir, "tokens.json"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("tokens.json is bounded", () => {
  test("1000 made-up SNs against max_toys 16: 16 are kept; recently seen toys are never pushed out", () =>
    withStore((file) => {
      let now = 1_700_000_000_000;
      const store = new TokenStore(file, { maxToys: 16, now: () => now });
      for (let i = 0; i < 16; i++) expect(store.tokenFor(sn(i))).toMatch(/^[0-9a-f]{32}$/);
      for (let i = 16; i < 1000; i++) expect(store.tokenFor(sn(i))).toBeUndefined();
      expect(store.size).toBe(16);
      expect(Object.keys(JSON.parse(readFileSync(file, "utf8")).toys)).toHaveLength(16);
      expect(statSync(file).size).toBeLessThan(16 * 400);
      expect(store.checkKey(sn(5000), "k")).toBe("full");
    }));

  test("when full, the toy unseen for longest (over a day, not protected) gives its place", () =>
    withStore((file) => {
      let now = 1_700_000_000_000;
      const protectedSn = sn(0);
      const store = new TokenStore(file, { maxToys: 3, now: () => now, protect: (s) => s === protectedSn });
      for (let i = 0; i < 3; i++) store.tokenFor(sn(i));
      now += EVICT_UNSEEN_MS + 1;
      store.tokenFor(sn(2)); // sn(2) is seen again
      const oldToken = store.get(sn(1))!.token;
      expect(store.tokenFor(sn(9))).toMatch(/^[0-9a-f]{32}$/);
      expect(store.get(sn(1))).toBeUndefined(); // unseen for over a day, not protected
      expect(store.snOf(oldToken)).toBeUndefined();
      expect(store.get(sn(0))).toBeDefined(); // protected (known_toys or connected)
      expect(store.get(sn(2))).toBeDefined(); // seen today
      expect(store.tokenFor(sn(10))).toBeUndefined(); // nobody else may go
    }));
});

describe("toy keys: trust on first use", () => {
  test("learned at the first login, required afterwards, kept as a hash, resettable", () =>
    withStore((file) => {
      const store = new TokenStore(file);
      expect(store.checkKey(sn(1), "the-real-key")).toBe("learned");
      expect(store.checkKey(sn(1), "the-real-key")).toBe("match");
      expect(store.checkKey(sn(1), "")).toBe("wrong");
      expect(store.checkKey(sn(1), "guess")).toBe("wrong");
      const saved = readFileSync(file, "utf8");
      expect(saved).not.toContain("the-real-key");
      expect(JSON.parse(saved).toys[sn(1)].keyHash).toMatch(/^[0-9a-f]{64}$/);
      // after a restart
      const again = new TokenStore(file);
      again.load();
      expect(again.checkKey(sn(1), "guess")).toBe("wrong");
      expect(again.checkKey(sn(1), "the-real-key")).toBe("match");
      // a replaced toy: the parent resets the key, the next login teaches the new one
      const token = again.get(sn(1))!.token;
      expect(again.resetKey(sn(1))).toBe(true);
      expect(again.checkKey(sn(1), "new-key")).toBe("learned");
      expect(again.checkKey(sn(1), "the-real-key")).toBe("wrong");
      expect(again.resetKey(sn(77))).toBe(false);
      // the token survives the reset: the toy keeps talking
      expect(again.get(sn(1))!.token).toBe(token);
    }));
});

describe("recordings turned away", () => {
  function harness(admit: (sn: string) => boolean) {
    const tokens = new Map<string, string>();
    for (let i = 0; i < 100; i++) tokens.set(i.toString(16).padStart(32, "0"), sn(i));
    let now = 1_000_000;
    const recordings: Recording[] = [];
    const refused: RefusedRecording[] = [];
    const drops: DropReason[] = [];
    const asm = new RecordingAssembler({
      snOfToken: (t) => tokens.get(t),
      admit,
      onRecording: (r) => recordings.push(r),
      onRefused: (r) => refused.push(r),
      onDrop: (reason) => drops.push(reason),
      now: () => now,
    });
    return { asm, recordings, refused, drops, token: (i: number) => i.toString(16).padStart(32, "0"), advance: (ms: number) => (now += ms) };
  }

  test("100 toys talking at once, 8 admitted: only 8 recordings are buffered; the others end with onRefused", () => {
    let admitted = 0;
    const h = harness(() => admitted++ < 8);
    for (let i = 0; i < 100; i++) h.asm.push(encodeDatagram(h.token(i), 1, FRAME_MARKER));
    for (let f = 0; f < 50; f++) for (let i = 0; i < 100; i++) h.asm.push(encodeDatagram(h.token(i), 1, FRAME_AUDIO, new Uint8Array(1024)));
    expect(h.asm.inProgress).toBe(8);
    expect(h.asm.bufferedBytes).toBe(8 * 50 * 1024);
    expect(h.drops.filter((d) => d === "busy")).toHaveLength(92 * 50);
    for (let i = 0; i < 100; i++) h.asm.push(encodeDatagram(h.token(i), 1, FRAME_MARKER));
    expect(h.recordings).toHaveLength(8);
    expect(h.refused).toHaveLength(92);
    expect(h.refused[0]).toMatchObject({ sn: sn(8), recordingId: 1 });
    expect(h.asm.bufferedBytes).toBe(0);
    // stragglers of a refused recording are not a new recording
    h.asm.push(encodeDatagram(h.token(50), 1, FRAME_AUDIO, new Uint8Array(1024)));
    expect(h.asm.inProgress).toBe(0);
    expect(h.drops.at(-1)).toBe("busy");
  });

  test("a refused recording that loses its end marker still ends (after the silence) and is reported", () => {
    const h = harness(() => false);
    h.asm.push(encodeDatagram(h.token(3), 9, FRAME_MARKER));
    h.asm.push(encodeDatagram(h.token(3), 9, FRAME_AUDIO, new Uint8Array(1024)));
    h.advance(2000);
    h.asm.sweep();
    expect(h.refused).toEqual([{ sn: sn(3), recordingId: 9, endedAt: 1_000_000 }]);
  });
});

test("a toy listed in known_toys always gets a place, even in a store full of made-up toys seen today", () =>
  withStore((file) => {
    const store = new TokenStore(file, { maxToys: 4, known: (s) => s === "5afe5afe5afe" });
    for (let i = 0; i < 4; i++) store.tokenFor(sn(i));
    expect(store.tokenFor(sn(99))).toBeUndefined();
    expect(store.tokenFor("5afe5afe5afe")).toMatch(/^[0-9a-f]{32}$/);
    expect(store.size).toBe(4);
    expect(store.get(sn(0))).toBeUndefined(); // the one unseen for longest gave way
  }));

test("the reply audio folder is bounded in size: the oldest files go first", async () => {
  const { AudioStore } = await import("../../../src/devices/folotoy/audio-store.ts");
  const dir = mkdtempSync(join(tmpdir(), "hearth-audio-"));
  try {
    const store = new AudioStore(dir, 600);
    const names: string[] = [];
    for (let i = 0; i < 10; i++) {
      names.push(await store.save("voice", new Uint8Array(1000)));
      await Bun.sleep(5); // distinct modification times
    }
    expect(store.sweep(Date.now(), 4500)).toBe(6);
    const { readdirSync } = await import("node:fs");
    expect(readdirSync(dir).sort()).toEqual(names.slice(6).sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
