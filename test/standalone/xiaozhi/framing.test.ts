// The binary frames of xiaozhi-esp32 (protocols/protocol.h: BinaryProtocol2, BinaryProtocol3),
// byte for byte, and what Hearth does with frames that break them.
import { describe, expect, test } from "bun:test";
import { decodeFrame, encodeFrame, FrameError, parseProtocolVersion, TYPE_JSON, TYPE_OPUS } from "../../../src/devices/xiaozhi/framing.ts";

const opus = new Uint8Array([0x58, 0x01, 0x02, 0x03, 0x04]);

describe("encodeFrame", () => {
  test("v1 is the Opus packet itself", () => {
    expect(encodeFrame(1, opus)).toEqual(opus);
  });

  test("v2: 16-byte big-endian header {version 2, type 0, reserved 0, timestamp, payload_size}", () => {
    const f = encodeFrame(2, opus, 0x01020304);
    expect(Array.from(f.subarray(0, 16))).toEqual([0, 2, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 5]);
    expect(f.subarray(16)).toEqual(opus);
  });

  test("v3: 4-byte header {type 0, reserved 0, u16 big-endian payload_size}", () => {
    const big = new Uint8Array(300).fill(7);
    const f = encodeFrame(3, big);
    expect(Array.from(f.subarray(0, 4))).toEqual([0, 0, 0x01, 0x2c]);
    expect(f.length).toBe(304);
    expect(() => encodeFrame(3, new Uint8Array(70000))).toThrow(RangeError);
  });
});

describe("decodeFrame", () => {
  test("reads back what encodeFrame wrote, for every version", () => {
    for (const v of [1, 2, 3] as const) {
      const frame = decodeFrame(v, encodeFrame(v, opus, 1234));
      expect(frame.type).toBe(TYPE_OPUS);
      expect(frame.payload).toEqual(opus);
      expect(frame.timestamp).toBe(v === 2 ? 1234 : 0);
    }
  });

  test("an empty payload is a frame (DTX: nothing to send for a silent frame)", () => {
    expect(decodeFrame(1, new Uint8Array(0)).payload.length).toBe(0);
    expect(decodeFrame(2, encodeFrame(2, new Uint8Array(0))).payload.length).toBe(0);
    expect(decodeFrame(3, new Uint8Array([0, 0, 0, 0])).payload.length).toBe(0);
  });

  test("v2 type 1 carries JSON", () => {
    const json = new TextEncoder().encode('{"type":"abort"}');
    const f = encodeFrame(2, json);
    f[3] = TYPE_JSON;
    expect(decodeFrame(2, f).type).toBe(TYPE_JSON);
  });

  const reason = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(FrameError);
      return (e as FrameError).reason;
    }
    throw new Error("did not throw");
  };

  test("frames that break their header are FrameErrors naming why", () => {
    expect(reason(() => decodeFrame(2, new Uint8Array(10)))).toBe("short");
    expect(reason(() => decodeFrame(3, new Uint8Array(3)))).toBe("short");
    const v2 = encodeFrame(2, opus);
    expect(reason(() => decodeFrame(2, v2.subarray(0, v2.length - 1)))).toBe("size_mismatch");
    const wrongVersion = v2.slice();
    wrongVersion[1] = 3;
    expect(reason(() => decodeFrame(2, wrongVersion))).toBe("bad_version");
    const wrongType = v2.slice();
    wrongType[3] = 9;
    expect(reason(() => decodeFrame(2, wrongType))).toBe("unknown_type");
    const v3 = encodeFrame(3, opus);
    expect(reason(() => decodeFrame(3, new Uint8Array([...v3, 1])))).toBe("size_mismatch");
    const v3type = v3.slice();
    v3type[0] = 1;
    expect(reason(() => decodeFrame(3, v3type))).toBe("unknown_type");
  });
});

test("Protocol-Version: 1, 2 or 3 (header string or hello number)", () => {
  expect(parseProtocolVersion("1")).toBe(1);
  expect(parseProtocolVersion(" 3 ")).toBe(3);
  expect(parseProtocolVersion(2)).toBe(2);
  for (const bad of ["4", "0", "", "v2", null, undefined, 2.5]) expect(parseProtocolVersion(bad)).toBeUndefined();
});
