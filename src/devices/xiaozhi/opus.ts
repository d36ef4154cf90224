// Audio in and out of a xiaozhi device. Up: the microphone's Opus packets (16 kHz mono, 60 ms),
// decoded by libopus in WebAssembly (opus-decoder) straight to the 16 kHz the VAD and STT take.
// Down: speech resampled to 24 kHz and cut into 60 ms frames of exactly 1440 samples, each
// encoded to one Opus packet just before it is sent (audio/opus.ts).
import { OpusDecoder } from "opus-decoder";
import { FrameSplitter, OpusEncoder } from "../../audio/opus.ts";
import { resample } from "../../audio/resample.ts";
import type { AudioChunk } from "../../engines/types.ts";
import { SERVER_AUDIO } from "./messages.ts";

/** The rate Hearth listens at (VAD and STT). */
export const LISTEN_RATE = 16000;
/** Samples in one downstream frame: 24 kHz x 60 ms. */
export const DOWN_FRAME_SAMPLES = (SERVER_AUDIO.sampleRate * SERVER_AUDIO.frameDuration) / 1000;

/** An Opus packet the decoder refused. */
export class OpusPacketError extends Error {
  override name = "OpusPacketError";
}

/** One device's microphone stream. */
export class UpstreamDecoder {
  private constructor(private readonly decoder: OpusDecoder<16000>) {}

  static async create(): Promise<UpstreamDecoder> {
    const decoder = new OpusDecoder({ sampleRate: LISTEN_RATE, channels: 1 });
    await decoder.ready;
    return new UpstreamDecoder(decoder);
  }

  /** 16 kHz samples of one packet. Throws OpusPacketError for a packet libopus cannot read. */
  decode(packet: Uint8Array): Float32Array {
    const out = this.decoder.decodeFrame(packet);
    if (out.errors.length || out.samplesDecoded === 0) throw new OpusPacketError(out.errors[0]?.message ?? "the packet decoded to no audio");
    return out.channelData[0]!.slice(0, out.samplesDecoded);
  }

  close() {
    this.decoder.free();
  }
}

/** A sentence's audio as the 60 ms frames at 24 kHz the device plays (the last one padded with silence). */
export function downstreamFrames(audio: AudioChunk): Float32Array[] {
  const pcm = audio.sampleRate === SERVER_AUDIO.sampleRate ? audio.samples : resample(audio.samples, audio.sampleRate, SERVER_AUDIO.sampleRate);
  const splitter = new FrameSplitter(DOWN_FRAME_SAMPLES);
  return [...splitter.push(pcm), ...splitter.flush()];
}

/** The encoder of one reply (its state runs across the reply's sentences). */
export function downstreamEncoder(): OpusEncoder {
  return new OpusEncoder({ sampleRate: SERVER_AUDIO.sampleRate as 24000, frameMs: 60 });
}
