import { describe, expect, test } from "bun:test";
import { encodeDatagram, FRAME_AUDIO, FRAME_ENCODED, FRAME_MARKER, parseDatagram, RecordingAssembler, type DropReason, type Recording } from "../../../src/devices/folotoy/udp.ts";

const TOKEN = "00112233445566778899aabbccddeeff";

function frame(bytes: number, fill = 1): Uint8Array {
  return new Uint8Array(bytes).fill(fill);
}

function harness(opts: { idleMs?: number; maxSeconds?: number } = {}) {
  let now = 1_000_000;
  const recordings: Recording[] = [];
  const drops: { reason: DropReason; sn?: string }[] = [];
  const starts: number[] = [];
  const asm = new RecordingAssembler({
    snOfToken: (t) => (t === TOKEN ? "e465b82b9ec8" : undefined),
    onStart: (_sn, id) => starts.push(id),
    onRecording: (r) => recordings.push(r),
    onDrop: (reason, sn) => drops.push({ reason, sn }),
    now: () => now,
    ...opts,
  });
  return { asm, recordings, drops, starts, advance: (ms: number) => (now += ms), now: () => now };
}

describe("datagram format", () => {
  test("header: 16 token bytes, recordingId big-endian, frame type, payload", () => {
    const d = encodeDatagram(TOKEN, 0x0104, FRAME_AUDIO, new Uint8Array([9, 8]));
    expect(d.length).toBe(21);
    expect(Buffer.from(d.subarray(0, 16)).toString("hex")).toBe(TOKEN);
    expect([d[16], d[17], d[18]]).toEqual([0x01, 0x04, 0x01]);
    const p = parseDatagram(d);
    expect(p).toEqual({ token: TOKEN, recordingId: 260, type: 1, payload: new Uint8Array([9, 8]) });
  });

  test("short and oversized", () => {
    expect(parseDatagram(new Uint8Array(18))).toEqual({ drop: "short" });
    expect("token" in parseDatagram(new Uint8Array(19))).toBe(true);
    expect("token" in parseDatagram(new Uint8Array(1043))).toBe(true);
    expect(parseDatagram(new Uint8Array(1044))).toEqual({ drop: "oversized" });
  });
});

describe("RecordingAssembler", () => {
  test("start marker, audio frames, end marker -> one recording with the PCM in order", () => {
    const h = harness();
    h.asm.push(encodeDatagram(TOKEN, 7, FRAME_MARKER));
    h.asm.push(encodeDatagram(TOKEN, 7, FRAME_AUDIO, frame(1024, 1)));
    h.advance(32);
    h.asm.push(encodeDatagram(TOKEN, 7, FRAME_AUDIO, frame(512, 2)));
    h.advance(10);
    h.asm.push(encodeDatagram(TOKEN, 7, FRAME_MARKER));
    expect(h.starts).toEqual([7]);
    expect(h.recordings.length).toBe(1);
    const r = h.recordings[0]!;
    expect(r).toMatchObject({ sn: "e465b82b9ec8", recordingId: 7, end: "marker" });
    expect(r.pcm.length).toBe(1536);
    expect(r.pcm[0]).toBe(1);
    expect(r.pcm[1535]).toBe(2);
    expect(r.endedAt - r.startedAt).toBe(42);
    expect(h.drops).toEqual([]);
  });

  test("a lost end marker ends the recording after ~1.5 s of silence, dated at its last packet", () => {
    const h = harness();
    h.asm.push(encodeDatagram(TOKEN, 1, FRAME_MARKER));
    h.asm.push(encodeDatagram(TOKEN, 1, FRAME_AUDIO, frame(1024)));
    const last = h.now();
    h.advance(1000);
    h.asm.sweep();
    expect(h.recordings.length).toBe(0);
    h.advance(600);
    h.asm.sweep();
    expect(h.recordings.length).toBe(1);
    expect(h.recordings[0]!.end).toBe("timeout");
    expect(h.recordings[0]!.endedAt).toBe(last);
    // the end marker arriving late is not a new recording
    h.asm.push(encodeDatagram(TOKEN, 1, FRAME_MARKER));
    h.asm.push(encodeDatagram(TOKEN, 1, FRAME_AUDIO, frame(1024)));
    expect(h.recordings.length).toBe(1);
    expect(h.drops.map((d) => d.reason)).toEqual(["late"]);
  });

  test("a lost start marker: audio starts the recording anyway", () => {
    const h = harness();
    h.asm.push(encodeDatagram(TOKEN, 3, FRAME_AUDIO, frame(1024)));
    h.asm.push(encodeDatagram(TOKEN, 3, FRAME_MARKER));
    expect(h.recordings.length).toBe(1);
    expect(h.recordings[0]!.pcm.length).toBe(1024);
  });

  test("a recording is capped; the rest is dropped as too_long", () => {
    const h = harness({ maxSeconds: 0.1 }); // 6400 bytes
    h.asm.push(encodeDatagram(TOKEN, 5, FRAME_MARKER));
    for (let i = 0; i < 10; i++) h.asm.push(encodeDatagram(TOKEN, 5, FRAME_AUDIO, frame(1024)));
    h.asm.push(encodeDatagram(TOKEN, 5, FRAME_MARKER));
    expect(h.recordings.length).toBe(1);
    expect(h.recordings[0]!.end).toBe("cap");
    expect(h.recordings[0]!.pcm.length).toBe(6400);
    expect(h.drops.every((d) => d.reason === "too_long")).toBe(true);
    expect(h.drops.length).toBe(3);
  });

  test("bad datagrams are counted, never thrown", () => {
    const h = harness();
    const other = "ffffffffffffffffffffffffffffffff";
    const garbage = crypto.getRandomValues(new Uint8Array(600));
    const cases: [Uint8Array, DropReason][] = [
      [new Uint8Array(5), "short"],
      [encodeDatagram(TOKEN, 1, FRAME_AUDIO, frame(2000)), "oversized"],
      [encodeDatagram(other, 1, FRAME_AUDIO, frame(100)), "unknown_token"],
      [garbage, "unknown_token"],
      [encodeDatagram(TOKEN, 1, FRAME_ENCODED, frame(100)), "encoded"],
      [encodeDatagram(TOKEN, 1, 0x07, frame(100)), "bad_type"],
      [encodeDatagram(TOKEN, 1, FRAME_AUDIO, frame(101)), "garbled"],
      [encodeDatagram(TOKEN, 1, FRAME_AUDIO), "garbled"],
    ];
    for (const [d] of cases) expect(() => h.asm.push(d)).not.toThrow();
    expect(h.drops.map((d) => d.reason)).toEqual(cases.map((c) => c[1]));
    expect(h.drops.find((d) => d.reason === "encoded")!.sn).toBe("e465b82b9ec8");
    expect(h.recordings.length).toBe(0);
    expect(h.asm.inProgress).toBe(0);
  });

  test("a newer recordingId from the same toy supersedes an unfinished one", () => {
    const h = harness();
    h.asm.push(encodeDatagram(TOKEN, 1, FRAME_MARKER));
    h.asm.push(encodeDatagram(TOKEN, 1, FRAME_AUDIO, frame(1024)));
    h.asm.push(encodeDatagram(TOKEN, 2, FRAME_MARKER));
    h.asm.push(encodeDatagram(TOKEN, 2, FRAME_AUDIO, frame(1024, 5)));
    h.asm.push(encodeDatagram(TOKEN, 2, FRAME_MARKER));
    expect(h.starts).toEqual([1, 2]);
    expect(h.recordings.map((r) => r.recordingId)).toEqual([2]);
    expect(h.recordings[0]!.pcm[0]).toBe(5);
  });

  test("a start marker alone is forgotten after the idle time", () => {
    const h = harness();
    h.asm.push(encodeDatagram(TOKEN, 9, FRAME_MARKER));
    h.advance(2000);
    h.asm.sweep();
    expect(h.asm.inProgress).toBe(0);
    expect(h.recordings.length).toBe(0);
  });
});
