// Opus out of Hearth: raw packets for xiaozhi devices (libopus in WASM via opusscript), and the
// Ogg Opus files /v1/audio/speech serves with response_format "opus" (RFC 7845), checked by
// decoding them with the WASM decoders and by reading every page.
import { expect, test } from "bun:test";
import { OpusDecoder } from "opus-decoder";
import { BadRequest } from "../../../src/errors.ts";
import { checkSpeechRate, createSpeechEncoder } from "../../../src/audio/encode.ts";
import { decodeAudio } from "../../../src/audio/decode.ts";
import { oggCrc, OggOpusWriter } from "../../../src/audio/ogg-opus.ts";
import { FrameSplitter, OpusEncoder } from "../../../src/audio/opus.ts";
import { concatBytes, concatSamples } from "../../../src/audio/bytes.ts";

function sine(seconds: number, rate: number, amplitude = 0.3, hz = 440): Float32Array {
  const out = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / rate);
  return out;
}

const rms = (x: Float32Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);

test("OpusEncoder: one packet per 60 ms frame that decodes back to the same frame and level", async () => {
  const enc = new OpusEncoder({ sampleRate: 24000, frameMs: 60 });
  expect(enc.frameSize).toBe(1440);
  const dec = new OpusDecoder({ sampleRate: 24000, channels: 1 });
  await dec.ready;
  const input = sine(1.2, 24000);
  const out: Float32Array[] = [];
  for (let o = 0; o < input.length; o += 1440) {
    const packet = enc.encode(input.subarray(o, o + 1440));
    expect(packet.length).toBeGreaterThan(10);
    expect(packet.length).toBeLessThan(600);
    const d = dec.decodeFrame(packet);
    expect(d.samplesDecoded).toBe(1440);
    out.push(d.channelData[0]!.slice());
  }
  const decoded = concatSamples(out).subarray(2880); // past the codec's start-up
  expect(rms(decoded)).toBeGreaterThan(0.3 / Math.SQRT2 * 0.85);
  expect(rms(decoded)).toBeLessThan(0.3 / Math.SQRT2 * 1.15);
  expect(() => enc.encode(new Float32Array(960))).toThrow(RangeError);
  enc.close();
  expect(() => enc.encode(new Float32Array(1440))).toThrow(/closed/);
  expect(() => new OpusEncoder({ sampleRate: 22050 as any, frameMs: 20 })).toThrow(RangeError);
  dec.free();
});

test("FrameSplitter carries the remainder and pads only the last frame", () => {
  const s = new FrameSplitter(4);
  expect(s.push(Float32Array.from([1, 2, 3])).length).toBe(0);
  const frames = s.push(Float32Array.from([4, 5, 6, 7, 8, 9]));
  expect(frames.map((f) => Array.from(f))).toEqual([
    [1, 2, 3, 4],
    [5, 6, 7, 8],
  ]);
  expect(s.pending).toBe(1);
  expect(s.flush().map((f) => Array.from(f))).toEqual([[9, 0, 0, 0]]);
  expect(s.flush()).toEqual([]);
});

/** Every page of an Ogg stream: flags, granule, sequence, packets, and whether its CRC holds. */
function pages(bytes: Uint8Array) {
  const out: { flags: number; granule: bigint; sequence: number; crcOk: boolean; packets: Uint8Array[] }[] = [];
  let o = 0;
  while (o < bytes.length) {
    expect(new TextDecoder().decode(bytes.subarray(o, o + 4))).toBe("OggS");
    const view = new DataView(bytes.buffer, bytes.byteOffset + o);
    const n = bytes[o + 26]!;
    const lacing = bytes.subarray(o + 27, o + 27 + n);
    const size = lacing.reduce((a, b) => a + b, 0);
    const page = bytes.slice(o, o + 27 + n + size);
    const crc = view.getUint32(22, true);
    page.fill(0, 22, 26);
    const packets: Uint8Array[] = [];
    let at = o + 27 + n;
    let len = 0;
    for (const l of lacing) {
      len += l;
      if (l < 255) {
        packets.push(bytes.subarray(at, at + len));
        at += len;
        len = 0;
      }
    }
    out.push({ flags: bytes[o + 5]!, granule: view.getBigUint64(6, true), sequence: view.getUint32(18, true), crcOk: oggCrc(page) === crc, packets });
    o += 27 + n + size;
  }
  return out;
}

test("OggOpusWriter: valid pages (CRC, BOS/EOS, granules) that decode to exactly the input's length", async () => {
  const w = new OggOpusWriter(24000);
  const input = sine(2.0, 24000);
  const bytes = concatBytes([w.push(input.subarray(0, 10_000)), w.push(input.subarray(10_000, 10_001)), w.push(input.subarray(10_001)), w.finish()]);
  const ps = pages(bytes);
  expect(ps.every((p) => p.crcOk)).toBe(true);
  expect(ps.map((p) => p.sequence)).toEqual(ps.map((_, i) => i));
  expect(ps[0]!.flags).toBe(0x02);
  expect(new TextDecoder().decode(ps[0]!.packets[0]!.subarray(0, 8))).toBe("OpusHead");
  expect(new DataView(ps[0]!.packets[0]!.buffer, ps[0]!.packets[0]!.byteOffset).getUint32(12, true)).toBe(24000);
  expect(new TextDecoder().decode(ps[1]!.packets[0]!.subarray(0, 8))).toBe("OpusTags");
  expect(ps.at(-1)!.flags).toBe(0x04);
  const granules = ps.slice(2).map((p) => p.granule);
  for (let i = 1; i < granules.length; i++) expect(granules[i]!).toBeGreaterThanOrEqual(granules[i - 1]!);
  // the last granule trims the padding: pre-skip + the input at 48 kHz
  expect(ps.at(-1)!.granule).toBe(312n + 96000n);
  const decoded = await decodeAudio(bytes);
  expect(decoded.sampleRate).toBe(48000);
  expect(decoded.samples.length).toBe(96000);
  expect(rms(decoded.samples.subarray(4800))).toBeGreaterThan(0.18);
});

test("/v1/audio/speech's opus: a streaming encoder at an Opus rate (22050 Hz voices go out at 24 kHz)", async () => {
  expect(() => checkSpeechRate("opus", 22050)).toThrow(BadRequest);
  expect(checkSpeechRate("opus", 48000)).toBe(48000);
  const enc = await createSpeechEncoder("opus", 22050, { outputRate: 24000 });
  expect(enc.contentType).toBe("audio/ogg");
  expect(enc.sampleRate).toBe(24000);
  const voice = sine(1.5, 22050);
  const parts = [enc.encode(voice.subarray(0, 11025)), enc.encode(voice.subarray(11025)), enc.finish()];
  expect(parts[0]!.length).toBeGreaterThan(0); // headers and the first packets go out before the end
  const decoded = await decodeAudio(concatBytes(parts));
  expect(Math.abs(decoded.samples.length / decoded.sampleRate - 1.5)).toBeLessThan(0.01);
});
