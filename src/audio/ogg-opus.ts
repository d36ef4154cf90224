// Ogg Opus (RFC 7845) as it streams: the OpusHead and OpusTags pages, then one page of 20 ms
// packets per chunk of audio, the last page marked end-of-stream with a granule position that
// trims the padding. Browsers play it (<audio>, MediaSource), and so does every Opus decoder.
import { concatBytes, concatSamples } from "./bytes.ts";
import { OpusEncoder, type OpusRate } from "./opus.ts";

const FRAME_MS = 20;
/** Granule positions count 48 kHz samples, whatever the input rate. */
const GRANULE_RATE = 48000;
/**
 * The encoder's lookahead (2.5 ms + 4 ms at any rate, VOIP application), which the decoder drops
 * from the start: 6.5 ms at 48 kHz.
 */
const PRE_SKIP = 312;
const MAX_SEGMENTS = 255;
const VENDOR = "Hearth (libopus 1.4, opusscript)";

const FLAG_BOS = 0x02;
const FLAG_EOS = 0x04;

/** Writes one mono Ogg Opus stream. `push` returns the bytes to send now; `finish` the last ones. */
export class OggOpusWriter {
  private readonly encoder: OpusEncoder;
  private readonly serial = (Math.random() * 0x1_0000_0000) >>> 0;
  private sequence = 0;
  private granule = 0;
  private inputSamples = 0;
  private rest = new Float32Array(0);
  private headersSent = false;
  private finished = false;

  constructor(readonly sampleRate: OpusRate) {
    this.encoder = new OpusEncoder({ sampleRate, frameMs: FRAME_MS });
  }

  push(samples: Float32Array): Uint8Array {
    if (this.finished) throw new Error("the Ogg Opus stream is finished");
    this.inputSamples += samples.length;
    const all = this.rest.length ? concatSamples([this.rest, samples]) : samples;
    const size = this.encoder.frameSize;
    const packets: Uint8Array[] = [];
    let offset = 0;
    for (; offset + size <= all.length; offset += size) packets.push(this.encoder.encode(all.subarray(offset, offset + size)));
    this.rest = all.slice(offset);
    return concatBytes([...this.headers(), ...this.pages(packets, false)]);
  }

  /** The rest of the audio, padded, on the end-of-stream page. Frees the encoder. */
  finish(): Uint8Array {
    if (this.finished) return new Uint8Array(0);
    this.finished = true;
    const size = this.encoder.frameSize;
    // Push the lookahead out of the encoder too, so the last real samples are decodable.
    const lookahead = Math.ceil((PRE_SKIP * this.sampleRate) / GRANULE_RATE);
    const tail = new Float32Array(Math.ceil((this.rest.length + lookahead) / size) * size);
    tail.set(this.rest);
    const packets: Uint8Array[] = [];
    for (let offset = 0; offset < tail.length; offset += size) packets.push(this.encoder.encode(tail.subarray(offset, offset + size)));
    this.encoder.close();
    return concatBytes([...this.headers(), ...this.pages(packets, true)]);
  }

  private headers(): Uint8Array[] {
    if (this.headersSent) return [];
    this.headersSent = true;
    return [this.page([opusHead(this.sampleRate)], 0, FLAG_BOS), this.page([opusTags()], 0, 0)];
  }

  private pages(packets: Uint8Array[], last: boolean): Uint8Array[] {
    const out: Uint8Array[] = [];
    const perPacket = (GRANULE_RATE * FRAME_MS) / 1000;
    let start = 0;
    while (start < packets.length || (last && out.length === 0)) {
      // As many packets as the page's 255 lacing values hold.
      let end = start;
      let segments = 0;
      while (end < packets.length && segments + lacingCount(packets[end]!.length) <= MAX_SEGMENTS) segments += lacingCount(packets[end++]!.length);
      this.granule += (end - start) * perPacket;
      const final = last && end >= packets.length;
      // The last page's granule position says where the real audio ends (RFC 7845 §4.4).
      const granule = final ? Math.min(this.granule, PRE_SKIP + Math.round((this.inputSamples * GRANULE_RATE) / this.sampleRate)) : this.granule;
      out.push(this.page(packets.slice(start, end), granule, final ? FLAG_EOS : 0));
      start = end;
      if (final) break;
    }
    return out;
  }

  private page(packets: Uint8Array[], granule: number, flags: number): Uint8Array {
    const lacing: number[] = [];
    for (const p of packets) {
      for (let n = p.length; ; n -= 255) {
        lacing.push(Math.min(n, 255));
        if (n < 255) break;
      }
    }
    const body = concatBytes(packets);
    const page = new Uint8Array(27 + lacing.length + body.length);
    const view = new DataView(page.buffer);
    page.set([0x4f, 0x67, 0x67, 0x53]); // "OggS"
    page[4] = 0; // version
    page[5] = flags;
    view.setBigUint64(6, BigInt(granule), true);
    view.setUint32(14, this.serial, true);
    view.setUint32(18, this.sequence++, true);
    // CRC at 22..25 is computed with the field zeroed
    page[26] = lacing.length;
    page.set(lacing, 27);
    page.set(body, 27 + lacing.length);
    view.setUint32(22, oggCrc(page), true);
    return page;
  }
}

/** Lacing values a packet of this length takes (a multiple of 255 needs a closing 0). */
function lacingCount(length: number): number {
  return Math.floor(length / 255) + 1;
}

function opusHead(inputRate: number): Uint8Array {
  const head = new Uint8Array(19);
  const view = new DataView(head.buffer);
  head.set(new TextEncoder().encode("OpusHead"));
  head[8] = 1; // version
  head[9] = 1; // channels
  view.setUint16(10, PRE_SKIP, true);
  view.setUint32(12, inputRate, true);
  view.setInt16(16, 0, true); // output gain
  head[18] = 0; // channel mapping family: mono/stereo
  return head;
}

function opusTags(): Uint8Array {
  const vendor = new TextEncoder().encode(VENDOR);
  const tags = new Uint8Array(8 + 4 + vendor.length + 4);
  const view = new DataView(tags.buffer);
  tags.set(new TextEncoder().encode("OpusTags"));
  view.setUint32(8, vendor.length, true);
  tags.set(vendor, 12);
  view.setUint32(12 + vendor.length, 0, true); // no user comments
  return tags;
}

let crcTable: Uint32Array | undefined;

/** Ogg's CRC-32: polynomial 0x04c11db7, initial value 0, not reflected. */
export function oggCrc(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let r = i << 24;
      for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
      crcTable[i] = r >>> 0;
    }
  }
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) ^ crcTable[((crc >>> 24) ^ b) & 0xff]!) >>> 0;
  return crc;
}
