import { expect, test } from "bun:test";
import { floatToS16le, s16leToFloat, toInt16 } from "../../../src/audio/pcm.ts";
import { loadUtt01 } from "./helpers.ts";

test("known values are little-endian signed 16-bit", () => {
  const bytes = floatToS16le(new Float32Array([0, 0.5, -0.5, 1, -1, 1.5, -7, NaN]));
  expect(Array.from(bytes)).toEqual([
    0x00, 0x00, // 0
    0x00, 0x40, // 0.5 -> 16384
    0x00, 0xc0, // -0.5 -> -16384
    0xff, 0x7f, // 1 -> 32767 (clamped)
    0x00, 0x80, // -1 -> -32768
    0xff, 0x7f, // 1.5 clamped
    0x00, 0x80, // -7 clamped
    0x00, 0x00, // NaN -> 0
  ]);
  expect(toInt16(0.25)).toBe(8192);
});

test("s16le -> float -> s16le is lossless on real speech", () => {
  const { samples } = loadUtt01(); // values are k/32768 already
  const bytes = floatToS16le(samples);
  expect(bytes.length).toBe(samples.length * 2);
  const back = s16leToFloat(bytes);
  expect(back).toEqual(samples);
  expect(floatToS16le(back)).toEqual(bytes);
});

test("s16leToFloat reads from an offset view and ignores a trailing odd byte", () => {
  const buffer = new Uint8Array([0xaa, 0x00, 0x80, 0xff, 0x7f, 0x01]);
  const view = buffer.subarray(1); // starts at an odd address
  expect(Array.from(s16leToFloat(view))).toEqual([-1, 32767 / 32768]);
});
