// A small WebM/Matroska demuxer: enough to pull the audio packets (e.g. Opus from a browser's
// MediaRecorder or an OpenAI client) out of the SimpleBlocks and Blocks of the first audio
// track. Timestamps, seeking, cues and video are ignored.
//
// The walk is linear: the master elements we care about are entered (never skipped by
// size), so "unknown size" Segments and Clusters, as MediaRecorder writes them, just work.

import { BadRequest } from "../errors.ts";

export interface WebmAudioTrack {
  /** Matroska codec id, e.g. "A_OPUS", "A_VORBIS". */
  codec: string;
  /** For Opus, the OpusHead structure. */
  codecPrivate: Uint8Array | null;
  sampleRate: number;
  channels: number;
  /** Samples of codec delay, in nanoseconds (Opus pre-skip). */
  codecDelayNs: number;
  /** The encoded frames, in file order. */
  packets: Uint8Array[];
}

const ID = {
  Segment: 0x18538067,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecDelay: 0x56aa,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  BlockGroup: 0xa0,
  Block: 0xa1,
  SimpleBlock: 0xa3,
} as const;

/** Elements whose children we read. Every other element is skipped by its size. */
const ENTERED = new Set<number>([ID.Segment, ID.Tracks, ID.TrackEntry, ID.Audio, ID.Cluster, ID.BlockGroup]);

const TRACK_TYPE_AUDIO = 2;

interface Track {
  number: number;
  type: number;
  codec: string;
  codecPrivate: Uint8Array | null;
  sampleRate: number;
  channels: number;
  codecDelayNs: number;
}

/** A variable-length integer: its value and its length in bytes; null past the end. */
function readVint(bytes: Uint8Array, pos: number, keepMarker: boolean): { value: number; length: number; allOnes: boolean } | null {
  if (pos >= bytes.length) return null;
  const first = bytes[pos]!;
  if (first === 0) return null; // longer than 8 bytes: not valid EBML
  const length = Math.clz32(first) - 23; // 1 for 0b1xxxxxxx ... 8 for 0b00000001
  if (pos + length > bytes.length) return null;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const b = bytes[pos + i]!;
    value = value * 256 + b;
    if (b !== 0xff) allOnes = false;
  }
  return { value, length, allOnes };
}

function readUint(bytes: Uint8Array): number {
  let v = 0;
  for (const b of bytes) v = v * 256 + b;
  return v;
}

function readFloat(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length === 4) return view.getFloat32(0);
  if (bytes.length === 8) return view.getFloat64(0);
  return 0;
}

/** Opus frame length in 48 kHz samples for each TOC configuration (RFC 6716 section 3.1). */
function opusFrameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]!; // SILK: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config % 2]!; // hybrid: 10, 20 ms
  return [120, 240, 480, 960][config % 4]!; // CELT: 2.5, 5, 10, 20 ms
}

/** Samples (at 48 kHz) one Opus packet decodes to, read from its TOC byte; 0 for an empty packet. */
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.length === 0) return 0;
  const toc = packet[0]!;
  const code = toc & 3;
  const frames = code === 0 ? 1 : code < 3 ? 2 : (packet[1] ?? 0) & 0x3f;
  return frames * opusFrameSamples(toc >> 3);
}

export function isEbml(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3;
}

/** The first audio track of a WebM/Matroska file and its packets. */
export function demuxWebmAudio(bytes: Uint8Array): WebmAudioTrack {
  if (!isEbml(bytes)) throw new BadRequest("not a WebM/Matroska file", "file");
  const tracks: Track[] = [];
  const blocks = new Map<number, Uint8Array[]>();
  let track: Track | null = null;
  let pos = 0;

  while (pos < bytes.length) {
    const id = readVint(bytes, pos, true);
    if (!id || id.length > 4) break;
    const size = readVint(bytes, pos + id.length, false);
    if (!size) break;
    const body = pos + id.length + size.length;

    if (ENTERED.has(id.value)) {
      if (id.value === ID.TrackEntry) {
        track = { number: 0, type: 0, codec: "", codecPrivate: null, sampleRate: 0, channels: 1, codecDelayNs: 0 };
        tracks.push(track);
      }
      pos = body;
      continue;
    }
    // A leaf (or a master we do not need) of unknown size cannot be skipped: stop here.
    if (size.allOnes) break;
    const end = body + size.value;
    // A truncated final element (an upload cut short) ends the file.
    if (end > bytes.length) break;
    const data = bytes.subarray(body, end);

    switch (id.value) {
      case ID.SimpleBlock:
      case ID.Block:
        addBlock(data, blocks);
        break;
      case ID.TrackNumber:
        if (track) track.number = readUint(data);
        break;
      case ID.TrackType:
        if (track) track.type = readUint(data);
        break;
      case ID.CodecID:
        if (track) track.codec = new TextDecoder().decode(data).replace(/\0+$/, "");
        break;
      case ID.CodecPrivate:
        if (track) track.codecPrivate = data;
        break;
      case ID.CodecDelay:
        if (track) track.codecDelayNs = readUint(data);
        break;
      case ID.SamplingFrequency:
        if (track) track.sampleRate = readFloat(data);
        break;
      case ID.Channels:
        if (track) track.channels = readUint(data);
        break;
    }
    pos = end;
  }

  const audio = tracks.find((t) => t.type === TRACK_TYPE_AUDIO || t.codec.startsWith("A_"));
  if (!audio) throw new BadRequest("WebM/Matroska file has no audio track (truncated or corrupt?)", "file");
  return {
    codec: audio.codec,
    codecPrivate: audio.codecPrivate,
    sampleRate: audio.sampleRate,
    channels: audio.channels,
    codecDelayNs: audio.codecDelayNs,
    packets: blocks.get(audio.number) ?? [],
  };
}

/** Split a (Simple)Block into its frames, handling the three lacing schemes. */
function addBlock(block: Uint8Array, blocks: Map<number, Uint8Array[]>): void {
  const trackNo = readVint(block, 0, false);
  if (!trackNo) return;
  let pos = trackNo.length + 2; // 16-bit relative timecode
  if (pos >= block.length) return;
  const flags = block[pos++]!;
  const lacing = (flags >> 1) & 3;
  let list = blocks.get(trackNo.value);
  if (!list) blocks.set(trackNo.value, (list = []));

  if (lacing === 0) {
    list.push(block.subarray(pos));
    return;
  }
  if (pos >= block.length) return;
  const count = block[pos++]! + 1;
  const sizes: number[] = [];

  if (lacing === 1) {
    // Xiph: each size is a run of 255s plus a final byte.
    for (let f = 0; f < count - 1; f++) {
      let s = 0;
      let b: number;
      do {
        if (pos >= block.length) return;
        b = block[pos++]!;
        s += b;
      } while (b === 255);
      sizes.push(s);
    }
  } else if (lacing === 3) {
    // EBML: the first size, then signed differences to the previous size.
    const first = readVint(block, pos, false);
    if (!first) return;
    pos += first.length;
    sizes.push(first.value);
    for (let f = 1; f < count - 1; f++) {
      const d = readVint(block, pos, false);
      if (!d) return;
      pos += d.length;
      const bias = 2 ** (7 * d.length - 1) - 1;
      sizes.push(sizes[f - 1]! + d.value - bias);
    }
  } else {
    // Fixed: equal sizes.
    const each = Math.floor((block.length - pos) / count);
    for (let f = 0; f < count - 1; f++) sizes.push(each);
  }

  for (const s of sizes) {
    if (s < 0 || pos + s > block.length) return;
    list.push(block.subarray(pos, pos + s));
    pos += s;
  }
  list.push(block.subarray(pos));
}
