// Synthesized speech -> the bytes of a /v1/audio/speech response, whole or chunk by chunk.

import { BadRequest } from "../errors.ts";
import { concatBytes } from "./bytes.ts";
import { DEFAULT_MP3_KBPS, MP3_SAMPLE_RATES, Mp3Encoder } from "./mp3.ts";
import { OggOpusWriter } from "./ogg-opus.ts";
import { isOpusRate, OPUS_RATES } from "./opus.ts";
import { floatToS16le } from "./pcm.ts";
import { resample, StreamingResampler } from "./resample.ts";
import { encodeWav, WAV_UNKNOWN_SIZE, wavHeader } from "./wav.ts";

/** The response formats of the OpenAI API. */
export const SPEECH_FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"] as const;
export type SpeechFormat = (typeof SPEECH_FORMATS)[number];
/** Those we can produce: no installed package encodes AAC or FLAC. */
export const SUPPORTED_SPEECH_FORMATS = ["mp3", "opus", "wav", "pcm"] as const;
export type SupportedSpeechFormat = (typeof SUPPORTED_SPEECH_FORMATS)[number];

export const SPEECH_CONTENT_TYPES: Record<SupportedSpeechFormat, string> = {
  mp3: "audio/mpeg",
  // Opus in an Ogg file (RFC 7845), as OpenAI sends it: browsers play it.
  opus: "audio/ogg",
  wav: "audio/wav",
  // Raw s16le mono; the rate is not in the bytes, so the API sends it in X-Sample-Rate.
  pcm: "audio/pcm",
};

export interface SpeechEncoderOptions {
  /** MP3 bitrate; default 32. */
  mp3Kbps?: number;
  /** Rate of the encoded audio when it should differ from the input's (resampled as it streams). */
  outputRate?: number;
}

/** Output rates a client may ask for; MP3 only carries its own set. */
export const MIN_SPEECH_RATE = 8000;
export const MAX_SPEECH_RATE = 48000;

export interface SpeechEncoder {
  readonly format: SupportedSpeechFormat;
  readonly contentType: string;
  /** Rate of the encoded audio (MP3 may round the input rate up to a legal MP3 rate). */
  readonly sampleRate: number;
  /** Bytes to send now for the next chunk of samples (possibly empty). */
  encode(samples: Float32Array): Uint8Array;
  /** The last bytes; call once at the end. */
  finish(): Uint8Array;
}

/** Validates `response_format` and narrows it; BadRequest lists what is supported. */
export function checkSpeechFormat(format: string): SupportedSpeechFormat {
  if ((SUPPORTED_SPEECH_FORMATS as readonly string[]).includes(format)) return format as SupportedSpeechFormat;
  const supported = SUPPORTED_SPEECH_FORMATS.join(", ");
  if ((SPEECH_FORMATS as readonly string[]).includes(format)) {
    throw new BadRequest(
      `response_format '${format}' is not available on this device (no ${format} encoder); use one of: ${supported}`,
      "response_format",
    );
  }
  throw new BadRequest(`unknown response_format '${format}'; use one of: ${supported}`, "response_format");
}

/** Validates a requested output rate for a format; BadRequest says what is allowed. */
export function checkSpeechRate(format: SupportedSpeechFormat, rate: number): number {
  if (format === "mp3" && !(MP3_SAMPLE_RATES as readonly number[]).includes(rate)) {
    throw new BadRequest(`sample_rate ${rate} cannot be carried by MP3; use one of: ${MP3_SAMPLE_RATES.join(", ")}`, "sample_rate");
  }
  if (format === "opus" && !isOpusRate(rate)) {
    throw new BadRequest(`sample_rate ${rate} cannot be encoded by Opus; use one of: ${OPUS_RATES.join(", ")}`, "sample_rate");
  }
  if (!Number.isInteger(rate) || rate < MIN_SPEECH_RATE || rate > MAX_SPEECH_RATE) {
    throw new BadRequest(`sample_rate must be an integer from ${MIN_SPEECH_RATE} to ${MAX_SPEECH_RATE}`, "sample_rate");
  }
  return rate;
}

/**
 * A streaming encoder for one response. For `wav` the header goes out with the first
 * chunk and declares an unknown length (0xFFFFFFFF), since the total is not known yet.
 * With `outputRate`, the audio is resampled chunk by chunk (no clicks at chunk boundaries).
 */
export async function createSpeechEncoder(
  format: string,
  sampleRate: number,
  opts: SpeechEncoderOptions = {},
): Promise<SpeechEncoder> {
  const checked = checkSpeechFormat(format);
  const outputRate = opts.outputRate ?? sampleRate;
  if (outputRate === sampleRate) return formatEncoder(checked, sampleRate, opts);
  const resampler = new StreamingResampler(sampleRate, checkSpeechRate(checked, outputRate));
  const inner = await formatEncoder(checked, outputRate, opts);
  return {
    format: inner.format,
    contentType: inner.contentType,
    sampleRate: inner.sampleRate,
    encode: (samples) => inner.encode(resampler.push(samples)),
    finish: () => concatBytes([inner.encode(resampler.flush()), inner.finish()]),
  };
}

async function formatEncoder(checked: SupportedSpeechFormat, sampleRate: number, opts: SpeechEncoderOptions): Promise<SpeechEncoder> {
  const contentType = SPEECH_CONTENT_TYPES[checked];

  switch (checked) {
    case "mp3": {
      const mp3 = await Mp3Encoder.create(sampleRate, opts.mp3Kbps ?? DEFAULT_MP3_KBPS);
      return {
        format: checked,
        contentType,
        sampleRate: mp3.sampleRate,
        encode: (samples) => mp3.encode(samples),
        finish: () => mp3.flush(),
      };
    }
    case "opus": {
      if (!isOpusRate(sampleRate)) throw new BadRequest(`Opus encodes at ${OPUS_RATES.join(", ")} Hz, not ${sampleRate}`, "sample_rate");
      const ogg = new OggOpusWriter(sampleRate);
      return {
        format: checked,
        contentType,
        sampleRate,
        encode: (samples) => ogg.push(samples),
        finish: () => ogg.finish(),
      };
    }
    case "pcm":
      return {
        format: checked,
        contentType,
        sampleRate,
        encode: (samples) => floatToS16le(samples),
        finish: () => new Uint8Array(0),
      };
    case "wav": {
      let headerSent = false;
      const header = (): Uint8Array => {
        if (headerSent) return new Uint8Array(0);
        headerSent = true;
        return wavHeader(sampleRate, WAV_UNKNOWN_SIZE);
      };
      return {
        format: checked,
        contentType,
        sampleRate,
        encode: (samples) => concatBytes([header(), floatToS16le(samples)]),
        finish: () => header(),
      };
    }
  }
}

/** A whole clip. WAV gets exact sizes in its header. */
export async function encodeSpeech(
  samples: Float32Array,
  sampleRate: number,
  format: string,
  opts: SpeechEncoderOptions = {},
): Promise<{ bytes: Uint8Array; contentType: string; sampleRate: number }> {
  const checked = checkSpeechFormat(format);
  if (checked === "wav") {
    const rate = opts.outputRate ?? sampleRate;
    const pcm = rate === sampleRate ? samples : resample(samples, sampleRate, checkSpeechRate(checked, rate));
    return { bytes: encodeWav(pcm, rate), contentType: SPEECH_CONTENT_TYPES.wav, sampleRate: rate };
  }
  const encoder = await createSpeechEncoder(checked, sampleRate, opts);
  const bytes = concatBytes([encoder.encode(samples), encoder.finish()]);
  return { bytes, contentType: encoder.contentType, sampleRate: encoder.sampleRate };
}
