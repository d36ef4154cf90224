// WAV (RIFF/WAVE, and RF64 when its data size is the 0xFFFFFFFF placeholder) reading and
// 16-bit mono writing.

import { BadRequest } from "../errors.ts";
import { floatToS16le } from "./pcm.ts";

export interface DecodedWav {
  /** Mono, in [-1, 1]; multi-channel input is averaged. */
  samples: Float32Array;
  sampleRate: number;
  /** Channel count of the file (before the mix-down). */
  channels: number;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
/** G.711, as telephone systems and some phones record: 8 bits per sample, logarithmic. */
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

/** Size written into the header of a WAV whose length is not known yet (streaming). */
export const WAV_UNKNOWN_SIZE = 0xffffffff;

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

export function decodeWav(bytes: Uint8Array): DecodedWav {
  if (bytes.length < 12) throw new BadRequest("WAV file is truncated: no RIFF header", "file");
  const riff = fourcc(bytes, 0);
  if ((riff !== "RIFF" && riff !== "RF64") || fourcc(bytes, 8) !== "WAVE") {
    throw new BadRequest("not a WAV file: missing RIFF/WAVE header", "file");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  let fmt: { format: number; channels: number; sampleRate: number; bits: number; blockAlign: number } | null =
    null;
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const id = fourcc(bytes, pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;

    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.length) throw new BadRequest("WAV file has a truncated fmt chunk", "file");
      let format = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE keeps the real format code in the first 2 bytes of the SubFormat GUID.
      if (format === FORMAT_EXTENSIBLE) {
        if (size < 40 || body + 40 > bytes.length) {
          throw new BadRequest("WAV file has a truncated WAVE_FORMAT_EXTENSIBLE fmt chunk", "file");
        }
        format = view.getUint16(body + 24, true);
      }
      fmt = {
        format,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === "data") {
      if (!fmt) throw new BadRequest("WAV file has its data chunk before the fmt chunk", "file");
      // Streamed WAVs (and RF64) leave the size at 0 or 0xFFFFFFFF: the data is the rest of the file.
      const declared = size === 0 || size === WAV_UNKNOWN_SIZE ? bytes.length - body : size;
      const end = Math.min(body + declared, bytes.length);
      return { ...pcmToMono(bytes.subarray(body, end), fmt), sampleRate: fmt.sampleRate, channels: fmt.channels };
    }
    // Chunks are padded to an even length.
    pos = body + size + (size & 1);
  }
  throw new BadRequest(fmt ? "WAV file has no data chunk (truncated?)" : "WAV file has no fmt chunk", "file");
}

function pcmToMono(
  data: Uint8Array,
  fmt: { format: number; channels: number; sampleRate: number; bits: number; blockAlign: number },
): { samples: Float32Array } {
  const { format, channels, bits, sampleRate } = fmt;
  if (channels < 1) throw new BadRequest("WAV file declares 0 channels", "file");
  if (sampleRate < 1 || sampleRate > 1_000_000) throw new BadRequest(`WAV file has an invalid sample rate ${sampleRate}`, "file");
  const isInt = format === FORMAT_PCM && (bits === 8 || bits === 16 || bits === 24 || bits === 32);
  const isFloat = format === FORMAT_FLOAT && (bits === 32 || bits === 64);
  const isG711 = (format === FORMAT_MULAW || format === FORMAT_ALAW) && bits === 8;
  if (!isInt && !isFloat && !isG711) {
    throw new BadRequest(
      `WAV encoding not supported (format code ${format}, ${bits} bits); use PCM 8/16/24/32-bit integer, 32/64-bit float, or 8-bit mu-law/A-law`,
      "file",
    );
  }
  const bytesPerSample = bits / 8;
  // Some writers get blockAlign wrong; the sample layout is what matters.
  const frameBytes = bytesPerSample * channels;
  const frames = Math.floor(data.length / frameBytes);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Float32Array(frames);
  const read = sampleReader(view, format, bits);
  const gain = 1 / channels;

  for (let f = 0, at = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++, at += bytesPerSample) sum += read(at);
    out[f] = sum * gain;
  }
  return { samples: out };
}

function sampleReader(view: DataView, format: number, bits: number): (at: number) => number {
  if (format === FORMAT_MULAW) return (at) => mulaw(view.getUint8(at)) / 32768;
  if (format === FORMAT_ALAW) return (at) => alaw(view.getUint8(at)) / 32768;
  if (format === FORMAT_FLOAT) {
    return bits === 32 ? (at) => view.getFloat32(at, true) : (at) => view.getFloat64(at, true);
  }
  switch (bits) {
    case 8: // 8-bit WAV is unsigned
      return (at) => (view.getUint8(at) - 128) / 128;
    case 16:
      return (at) => view.getInt16(at, true) / 32768;
    case 24:
      return (at) => ((view.getInt8(at + 2) << 16) | (view.getUint8(at + 1) << 8) | view.getUint8(at)) / 8388608;
    default:
      return (at) => view.getInt32(at, true) / 2147483648;
  }
}

/** G.711 mu-law byte -> 16-bit linear sample (ITU-T G.711). */
function mulaw(byte: number): number {
  const u = ~byte & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
}

/** G.711 A-law byte -> 16-bit linear sample (ITU-T G.711). */
function alaw(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a & 0x70) >> 4;
  let magnitude = ((a & 0x0f) << 4) + 8;
  if (exponent !== 0) magnitude = (magnitude + 0x100) << (exponent - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

/** A 44-byte header for 16-bit PCM mono. Pass WAV_UNKNOWN_SIZE when streaming. */
export function wavHeader(sampleRate: number, dataBytes: number): Uint8Array {
  const header = new Uint8Array(44);
  const view = new DataView(header.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) header[at + i] = s.charCodeAt(i);
  };
  const riffSize = dataBytes === WAV_UNKNOWN_SIZE ? WAV_UNKNOWN_SIZE : Math.min(dataBytes + 36, WAV_UNKNOWN_SIZE);
  ascii(0, "RIFF");
  view.setUint32(4, riffSize, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, FORMAT_PCM, true);
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true);
  ascii(36, "data");
  view.setUint32(40, dataBytes, true);
  return header;
}

/** 16-bit PCM mono WAV. */
export function encodeWav(samples: Float32Array, sampleRate: number): Uint8Array {
  const out = new Uint8Array(44 + samples.length * 2);
  out.set(wavHeader(sampleRate, samples.length * 2), 0);
  out.set(floatToS16le(samples), 44);
  return out;
}
