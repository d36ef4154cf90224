// Any supported upload -> mono Float32Array at the file's own rate. The format is sniffed from
// the bytes; a filename or content type is only used to make error messages clearer.

import { FLACDecoder } from "@wasm-audio-decoders/flac";
import { OggVorbisDecoder } from "@wasm-audio-decoders/ogg-vorbis";
import { MPEGDecoder } from "mpg123-decoder";
import { OggOpusDecoder } from "ogg-opus-decoder";
// The raw (not Ogg-framed) Opus decoder; installed as a dependency of ogg-opus-decoder.
import { OpusDecoder } from "opus-decoder";
import { BadRequest, HearthError, TooLarge, UnsupportedMedia } from "../errors.ts";
import { mixToMono } from "./mono.ts";
import { decodeWav } from "./wav.ts";
import { demuxWebmAudio, isEbml } from "./webm.ts";

export type AudioFormat = "wav" | "mp3" | "ogg/opus" | "ogg/vorbis" | "ogg/flac" | "flac" | "webm/opus";

export interface DecodedAudio {
  samples: Float32Array;
  sampleRate: number;
  format: AudioFormat;
}

export interface DecodeHint {
  filename?: string;
  contentType?: string;
  /** Reject audio longer than this (TooLarge), after decoding. */
  maxSeconds?: number;
}

export const SUPPORTED_INPUT_FORMATS =
  "WAV (8/16/24/32-bit PCM, 32/64-bit float), MP3, Ogg Opus, Ogg Vorbis, FLAC, Ogg FLAC, WebM/Matroska with Opus";

/** Formats we recognise but cannot decode, to say what the file is. */
type Unsupported = { unsupported: string };

function ascii(bytes: Uint8Array, at: number, length: number): string {
  if (at + length > bytes.length) return "";
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

/** Length of an ID3v2 tag at the start, or 0. */
function id3Length(bytes: Uint8Array): number {
  if (ascii(bytes, 0, 3) !== "ID3" || bytes.length < 10) return 0;
  // Sizes are "syncsafe": 7 bits per byte.
  const size = ((bytes[6]! & 0x7f) << 21) | ((bytes[7]! & 0x7f) << 14) | ((bytes[8]! & 0x7f) << 7) | (bytes[9]! & 0x7f);
  const footer = bytes[5]! & 0x10 ? 10 : 0;
  return 10 + size + footer;
}

/** What the bytes are, from their magic numbers. */
export function sniffFormat(bytes: Uint8Array): AudioFormat | Unsupported | null {
  const id3 = id3Length(bytes);
  const b = id3 > 0 ? bytes.subarray(Math.min(id3, bytes.length)) : bytes;
  const magic4 = ascii(b, 0, 4);

  if ((magic4 === "RIFF" || magic4 === "RF64") && ascii(b, 8, 4) === "WAVE") return "wav";
  if (magic4 === "fLaC") return "flac";
  if (magic4 === "OggS") {
    // The first packet starts after the 27-byte page header and its segment table.
    const first = 27 + (b[26] ?? 0);
    if (ascii(b, first, 8) === "OpusHead") return "ogg/opus";
    if (ascii(b, first + 1, 6) === "vorbis") return "ogg/vorbis";
    if (ascii(b, first + 1, 4) === "FLAC") return "ogg/flac";
    if (ascii(b, first, 5) === "Speex") return { unsupported: "Ogg Speex" };
    return { unsupported: "Ogg with an unknown codec" };
  }
  if (isEbml(b)) return "webm/opus"; // the codec is checked after demuxing
  if (ascii(b, 4, 4) === "ftyp") return { unsupported: "MP4/M4A (AAC/ALAC)" };
  if (magic4 === "FORM" && (ascii(b, 8, 4) === "AIFF" || ascii(b, 8, 4) === "AIFC")) return { unsupported: "AIFF" };
  if (ascii(b, 0, 5) === "#!AMR") return { unsupported: "AMR" };
  if (magic4 === "caff") return { unsupported: "CAF" };
  if (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0) {
    // MPEG audio frame sync. Layer bits 00 is ADTS, i.e. raw AAC.
    const layer = (b[1]! >> 1) & 3;
    if (layer === 0) return (b[1]! & 0xf6) === 0xf0 ? { unsupported: "AAC (ADTS)" } : null;
    return "mp3";
  }
  return null;
}

function describe(hint?: DecodeHint): string {
  const parts = [hint?.filename && `'${hint.filename}'`, hint?.contentType && `(${hint.contentType})`].filter(Boolean);
  return parts.length ? ` ${parts.join(" ")}` : "";
}

export async function decodeAudio(bytes: Uint8Array, hint?: DecodeHint): Promise<DecodedAudio> {
  if (bytes.length === 0) throw new BadRequest("file is empty", "file");
  const format = sniffFormat(bytes);
  if (format === null) {
    throw new UnsupportedMedia(
      `unrecognized audio format in file${describe(hint)}. Supported formats: ${SUPPORTED_INPUT_FORMATS}`,
      "file",
    );
  }
  if (typeof format === "object") {
    throw new UnsupportedMedia(
      `${format.unsupported} audio${describe(hint)} is not supported (no decoder on this device). Supported formats: ${SUPPORTED_INPUT_FORMATS}`,
      "file",
    );
  }

  let decoded: { samples: Float32Array; sampleRate: number };
  try {
    decoded = await decodeAs(format, bytes);
  } catch (err) {
    if (err instanceof HearthError) throw err;
    throw new BadRequest(`could not decode ${format} file${describe(hint)}: ${(err as Error)?.message ?? err}`, "file");
  }

  if (decoded.samples.length === 0) {
    throw new BadRequest(`${format} file${describe(hint)} contains no audio (corrupt or truncated?)`, "file");
  }
  if (hint?.maxSeconds !== undefined && decoded.samples.length > hint.maxSeconds * decoded.sampleRate) {
    const seconds = Math.round(decoded.samples.length / decoded.sampleRate);
    throw new TooLarge(`audio is ${seconds} s long; the limit is ${hint.maxSeconds} s`, "file");
  }
  return { ...decoded, format };
}

interface WasmResult {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string }[];
}

/** Mono result, or an error when nothing decoded. Partial decodes (a cut-off upload) are kept. */
function toMono(result: WasmResult, what: string): { samples: Float32Array; sampleRate: number } {
  if (result.samplesDecoded === 0 && result.errors.length > 0) {
    throw new BadRequest(`corrupt ${what} data: ${result.errors[0]!.message}`, "file");
  }
  return { samples: mixToMono(result.channelData, result.samplesDecoded), sampleRate: result.sampleRate };
}

async function decodeAs(format: AudioFormat, bytes: Uint8Array): Promise<{ samples: Float32Array; sampleRate: number }> {
  switch (format) {
    case "wav":
      return decodeWav(bytes);
    case "mp3": {
      const decoder = new MPEGDecoder({ enableGapless: true });
      await decoder.ready;
      try {
        return toMono(decoder.decode(bytes), "MP3");
      } finally {
        decoder.free();
      }
    }
    case "ogg/opus": {
      const decoder = new OggOpusDecoder();
      await decoder.ready;
      try {
        return toMono(await decoder.decodeFile(bytes), "Ogg Opus");
      } finally {
        decoder.free();
      }
    }
    case "ogg/vorbis": {
      const decoder = new OggVorbisDecoder();
      await decoder.ready;
      try {
        return toMono(await decoder.decodeFile(bytes), "Ogg Vorbis");
      } finally {
        decoder.free();
      }
    }
    case "flac":
    case "ogg/flac": {
      const decoder = new FLACDecoder();
      await decoder.ready;
      try {
        const result = await decoder.decodeFile(bytes);
        rescaleFlac(result.channelData, result.bitDepth);
        return toMono(result, "FLAC");
      } finally {
        decoder.free();
      }
    }
    case "webm/opus":
      return decodeWebmOpus(bytes);
  }
}

/**
 * The FLAC decoder divides by 2^(bits-1) - 1; everything else here (WAV, PCM) by 2^(bits-1).
 * Re-dividing the original integers keeps a FLAC of a WAV sample-identical to the WAV.
 */
function rescaleFlac(channels: Float32Array[], bitDepth: number): void {
  if (!(bitDepth >= 4 && bitDepth <= 32)) return;
  const full = 2 ** (bitDepth - 1);
  for (const ch of channels) {
    for (let i = 0; i < ch.length; i++) ch[i] = Math.round(ch[i]! * (full - 1)) / full;
  }
}

async function decodeWebmOpus(bytes: Uint8Array): Promise<{ samples: Float32Array; sampleRate: number }> {
  const track = demuxWebmAudio(bytes);
  if (track.codec !== "A_OPUS") {
    throw new UnsupportedMedia(
      `WebM/Matroska audio with codec ${track.codec || "unknown"} is not supported, only Opus. Supported formats: ${SUPPORTED_INPUT_FORMATS}`,
      "file",
    );
  }
  if (track.packets.length === 0) throw new BadRequest("WebM file contains no audio packets (truncated?)", "file");

  const decoder = new OpusDecoder(opusOptions(track.codecPrivate, track.channels, track.codecDelayNs));
  await decoder.ready;
  try {
    return toMono(decoder.decodeFrames(track.packets), "WebM Opus");
  } finally {
    decoder.free();
  }
}

/** Decoder options from the OpusHead (RFC 7845 section 5.1) in the track's CodecPrivate. */
function opusOptions(head: Uint8Array | null, channels: number, codecDelayNs: number) {
  const preSkipFromDelay = Math.round((codecDelayNs * 48000) / 1e9);
  if (!head || head.length < 19 || ascii(head, 0, 8) !== "OpusHead") {
    return { channels: Math.min(Math.max(channels, 1), 2), preSkip: preSkipFromDelay };
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const headChannels = head[9]!;
  const preSkip = view.getUint16(10, true);
  const family = head[18]!;
  if (family === 0 || head.length < 21 + headChannels) return { channels: Math.min(headChannels, 2), preSkip };
  return {
    channels: headChannels,
    preSkip,
    streamCount: head[19]!,
    coupledStreamCount: head[20]!,
    channelMappingTable: Array.from(head.subarray(21, 21 + headChannels)),
  };
}
