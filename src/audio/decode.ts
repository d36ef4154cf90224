// Any supported upload -> mono Float32Array at the file's own rate. The format is sniffed from
// the bytes; a filename or content type is only used to make error messages clearer.

import { FLACDecoder } from "@wasm-audio-decoders/flac";
import { OggVorbisDecoder } from "@wasm-audio-decoders/ogg-vorbis";
import { MPEGDecoder } from "mpg123-decoder";
import { OggOpusDecoder } from "ogg-opus-decoder";
// The raw (not Ogg-framed) Opus decoder; installed as a dependency of ogg-opus-decoder.
import { OpusDecoder } from "opus-decoder";
import { BadRequest, HearthError, TooLarge, UnsupportedMedia } from "../errors.ts";
import { concatSamples } from "./bytes.ts";
import { decodeWithFfmpeg, ffmpegAvailable } from "./ffmpeg.ts";
import { mixToMono } from "./mono.ts";
import { StreamingResampler } from "./resample.ts";
import { decodeWav } from "./wav.ts";
import { demuxWebmAudio, isEbml, opusPacketSamples } from "./webm.ts";

export type AudioFormat = "wav" | "mp3" | "ogg/opus" | "ogg/vorbis" | "ogg/flac" | "flac" | "webm/opus";

export interface DecodedAudio {
  samples: Float32Array;
  sampleRate: number;
  /** The container/codec, or "ffmpeg: <what it was>" when the system's ffmpeg decoded it. */
  format: AudioFormat | `ffmpeg: ${string}`;
}

export interface DecodeHint {
  filename?: string;
  contentType?: string;
  /**
   * Refuse audio longer than this (TooLarge): before decoding when the container says how long
   * it is (FLAC STREAMINFO, the last Ogg page, WebM's Opus packets), else as soon as decoding
   * passes it. Compressed audio is decoded piece by piece, so memory never grows past about
   * maxSeconds of decoded audio, whatever the file claims (one hour of Opus silence is 1.4 MB).
   */
  maxSeconds?: number;
  /**
   * Return audio at this rate at most: higher rates are resampled while decoding (Opus is
   * decoded at the nearest rate it supports), so the decoded audio takes maxSeconds x this
   * rate x 4 bytes at most (16 kHz: 64 kB per second, 115 MB for 30 minutes).
   */
  maxSampleRate?: number;
}

export const SUPPORTED_INPUT_FORMATS =
  "WAV (8/16/24/32-bit PCM, 32/64-bit float, mu-law, A-law), MP3, Ogg Opus, Ogg Vorbis, FLAC, Ogg FLAC, WebM/Matroska with Opus";

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
    if (ffmpegAvailable()) {
      const decoded = await decodeWithFfmpeg(bytes, `${format.unsupported} audio${describe(hint)}`, hint?.maxSeconds);
      return { ...decoded, format: `ffmpeg: ${format.unsupported}` };
    }
    throw new UnsupportedMedia(
      `${format.unsupported} audio${describe(hint)} needs ffmpeg, which is not installed on this device (sudo apt-get install ffmpeg), or convert it to one of: ${SUPPORTED_INPUT_FORMATS}`,
      "file",
    );
  }

  const declared = declaredSeconds(format, bytes);
  if (hint?.maxSeconds !== undefined && declared !== undefined && declared > hint.maxSeconds) throw tooLong(declared, hint.maxSeconds, describe(hint));

  let decoded: { samples: Float32Array; sampleRate: number };
  try {
    decoded = await decodeAs(format, bytes, new Collector(hint ?? {}, describe(hint)));
  } catch (err) {
    if (err instanceof HearthError) throw err;
    throw new BadRequest(`could not decode ${format} file${describe(hint)}: ${(err as Error)?.message ?? err}`, "file");
  }

  if (decoded.samples.length === 0) {
    throw new BadRequest(`${format} file${describe(hint)} contains no audio (corrupt or truncated?)`, "file");
  }
  return { ...decoded, format };
}

function tooLong(seconds: number, maxSeconds: number, what: string): TooLarge {
  return new TooLarge(`audio${what} is ${seconds > maxSeconds + 1 ? `${Math.round(seconds)} s long` : "too long"}; the limit is ${maxSeconds} s ([http] max_audio_seconds)`, "file");
}

/**
 * Gathers decoded pieces as mono at most `maxSampleRate`, and stops the decode (TooLarge) the
 * moment the audio passes `maxSeconds`, before the next piece is decoded.
 */
class Collector {
  private readonly parts: Float32Array[] = [];
  private resampler?: StreamingResampler;
  private inputSamples = 0;
  private rate = 0;
  private firstError?: string;

  constructor(
    readonly hint: DecodeHint,
    private readonly what: string,
  ) {}

  /** Adds one decoded piece (any number of channels). */
  add(channels: Float32Array[], length: number, sampleRate: number): void {
    if (length <= 0) return;
    if (!this.rate) {
      this.rate = sampleRate;
      const max = this.hint.maxSampleRate;
      if (max && sampleRate > max) this.resampler = new StreamingResampler(sampleRate, max);
    }
    this.inputSamples += length;
    const max = this.hint.maxSeconds;
    if (max !== undefined && this.inputSamples > max * this.rate) throw tooLong(this.inputSamples / this.rate, max, this.what);
    const mono = mixToMono(channels, length);
    this.parts.push(this.resampler ? this.resampler.push(mono) : mono);
  }

  /** A decoder result. Its errors matter only when nothing decodes at all: a cut-off upload keeps what it has. */
  addResult(result: WasmResult, what: string): void {
    if (result.errors.length > 0) this.firstError ??= `corrupt ${what} data: ${result.errors[0]!.message}`;
    this.add(result.channelData, result.samplesDecoded, result.sampleRate);
  }

  finish(): { samples: Float32Array; sampleRate: number } {
    if (this.inputSamples === 0 && this.firstError) throw new BadRequest(this.firstError, "file");
    if (this.resampler) this.parts.push(this.resampler.flush());
    const samples = concatSamples(this.parts);
    this.parts.length = 0;
    return { samples, sampleRate: this.resampler?.toRate ?? this.rate };
  }
}

/**
 * Compressed bytes handed to a decoder at a time. Silence compresses extremely well (a FLAC
 * frame of 65535 silent samples fits in ~15 bytes), so pieces are small: what one piece can
 * decode to stays a few tens of MB even then.
 */
const PIECE_BYTES: Record<Exclude<AudioFormat, "wav" | "webm/opus">, number> = {
  mp3: 64 * 1024,
  "ogg/opus": 4 * 1024,
  "ogg/vorbis": 4 * 1024,
  "ogg/flac": 256,
  flac: 256,
};
/** Opus packets (WebM) decoded at a time: at most 120 ms each. */
const OPUS_PACKETS_PER_PIECE = 500;

function* pieces(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, Math.min(bytes.length, at + size));
}

interface WasmResult {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string }[];
}

/** Rates the Opus decoder produces natively. */
const OPUS_RATES = [8000, 12000, 16000, 24000, 48000] as const;
type OpusRate = (typeof OPUS_RATES)[number];

/** The lowest Opus rate at or above `max` (48 kHz when no maximum is asked). */
function opusRate(max?: number): OpusRate {
  return OPUS_RATES.find((r) => max !== undefined && r >= max) ?? 48000;
}

async function decodeAs(format: AudioFormat, bytes: Uint8Array, out: Collector): Promise<{ samples: Float32Array; sampleRate: number }> {
  switch (format) {
    case "wav": {
      // WAV is not compressed: its decoded size is bounded by the upload's (4 bytes per sample).
      const wav = decodeWav(bytes);
      out.add([wav.samples], wav.samples.length, wav.sampleRate);
      break;
    }
    case "mp3": {
      const decoder = new MPEGDecoder({ enableGapless: true });
      await decoder.ready;
      try {
        for (const piece of pieces(bytes, PIECE_BYTES.mp3)) out.addResult(decoder.decode(piece), "MP3");
      } finally {
        decoder.free();
      }
      break;
    }
    case "ogg/opus": {
      // `sampleRate` is an option of ogg-opus-decoder's constructor its typings leave out.
      const decoder = new OggOpusDecoder({ sampleRate: opusRate(out.hint.maxSampleRate) } as ConstructorParameters<typeof OggOpusDecoder>[0]);
      await decoder.ready;
      try {
        for (const piece of pieces(bytes, PIECE_BYTES["ogg/opus"])) out.addResult(await decoder.decode(piece), "Ogg Opus");
        out.addResult(await decoder.flush(), "Ogg Opus");
      } finally {
        decoder.free();
      }
      break;
    }
    case "ogg/vorbis": {
      const decoder = new OggVorbisDecoder();
      await decoder.ready;
      try {
        for (const piece of pieces(bytes, PIECE_BYTES["ogg/vorbis"])) out.addResult(await decoder.decode(piece), "Ogg Vorbis");
        out.addResult(await decoder.flush(), "Ogg Vorbis");
      } finally {
        decoder.free();
      }
      break;
    }
    case "flac":
    case "ogg/flac": {
      const decoder = new FLACDecoder();
      await decoder.ready;
      const add = (result: Awaited<ReturnType<FLACDecoder["decode"]>>) => {
        rescaleFlac(result.channelData, result.bitDepth);
        out.addResult(result, "FLAC");
      };
      try {
        for (const piece of pieces(bytes, PIECE_BYTES[format])) add(await decoder.decode(piece));
        add(await decoder.flush());
      } finally {
        decoder.free();
      }
      break;
    }
    case "webm/opus":
      await decodeWebmOpus(bytes, out);
      break;
  }
  return out.finish();
}

/** Seconds of audio the container declares, when it says (read before decoding anything). */
export function declaredSeconds(format: AudioFormat, bytes: Uint8Array): number | undefined {
  try {
    if (format === "flac") return flacSeconds(bytes.subarray(8, 8 + 34));
    if (format.startsWith("ogg/")) return oggSeconds(format, bytes);
  } catch {
    // a header too short to read: the decoder says what is wrong with it
  }
  return undefined;
}

/** From a FLAC STREAMINFO block (34 bytes): total samples / rate; undefined when it says "unknown" (0). */
function flacSeconds(info: Uint8Array): number | undefined {
  if (info.length < 18) return undefined;
  const rate = (info[10]! << 12) | (info[11]! << 4) | (info[12]! >> 4);
  const total = (info[13]! & 0x0f) * 2 ** 32 + ((info[14]! << 24) >>> 0) + (info[15]! << 16) + (info[16]! << 8) + info[17]!;
  return rate > 0 && total > 0 ? total / rate : undefined;
}

/** From the granule position of the last Ogg page and the codec's rate (Opus: 48 kHz less the pre-skip). */
function oggSeconds(format: AudioFormat, bytes: Uint8Array): number | undefined {
  const first = 27 + bytes[26]!; // the first packet: the codec's identification header
  const head = bytes.subarray(first);
  let rate = 0;
  let skip = 0;
  if (format === "ogg/opus") {
    rate = 48000;
    skip = head[10]! | (head[11]! << 8);
  } else if (format === "ogg/vorbis") {
    rate = (head[12]! | (head[13]! << 8) | (head[14]! << 16) | (head[15]! << 24)) >>> 0;
  } else {
    // Ogg FLAC: 0x7F "FLAC" major minor headers(2) "fLaC", then the STREAMINFO block (header + 34 bytes)
    return flacSeconds(head.subarray(13 + 4, 13 + 4 + 34));
  }
  // The last page: the last "OggS" capture pattern in the final 64 kB.
  for (let at = bytes.length - 27; at >= Math.max(0, bytes.length - 65536); at--) {
    if (bytes[at] !== 0x4f || ascii(bytes, at, 4) !== "OggS" || bytes[at + 4] !== 0) continue;
    const view = new DataView(bytes.buffer, bytes.byteOffset + at + 6, 8);
    const granule = view.getUint32(0, true) + view.getInt32(4, true) * 2 ** 32;
    return rate > 0 && granule > skip ? (granule - skip) / rate : undefined;
  }
  return undefined;
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

async function decodeWebmOpus(bytes: Uint8Array, out: Collector): Promise<void> {
  const track = demuxWebmAudio(bytes);
  if (track.codec !== "A_OPUS") {
    throw new UnsupportedMedia(
      `WebM/Matroska audio with codec ${track.codec || "unknown"} is not supported, only Opus. Supported formats: ${SUPPORTED_INPUT_FORMATS}`,
      "file",
    );
  }
  if (track.packets.length === 0) throw new BadRequest("WebM file contains no audio packets (truncated?)", "file");
  // Every Opus packet says how long it is: the whole duration is known before decoding any of it.
  const max = out.hint.maxSeconds;
  if (max !== undefined) {
    let samples = 0;
    for (const packet of track.packets) samples += opusPacketSamples(packet);
    if (samples / 48000 > max) throw tooLong(samples / 48000, max, "");
  }

  const rate = opusRate(out.hint.maxSampleRate);
  const decoder = new OpusDecoder({ ...opusOptions(track.codecPrivate, track.channels, track.codecDelayNs, rate), sampleRate: rate });
  await decoder.ready;
  try {
    for (let at = 0; at < track.packets.length; at += OPUS_PACKETS_PER_PIECE) {
      out.addResult(decoder.decodeFrames(track.packets.slice(at, at + OPUS_PACKETS_PER_PIECE)), "WebM Opus");
    }
  } finally {
    decoder.free();
  }
}

/** Decoder options from the OpusHead (RFC 7845 section 5.1) in the track's CodecPrivate; the pre-skip at `rate`. */
function opusOptions(head: Uint8Array | null, channels: number, codecDelayNs: number, rate: number) {
  const atRate = (samples48k: number) => Math.round((samples48k * rate) / 48000);
  const preSkipFromDelay = atRate(Math.round((codecDelayNs * 48000) / 1e9));
  if (!head || head.length < 19 || ascii(head, 0, 8) !== "OpusHead") {
    return { channels: Math.min(Math.max(channels, 1), 2), preSkip: preSkipFromDelay };
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const headChannels = head[9]!;
  const preSkip = atRate(view.getUint16(10, true));
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
