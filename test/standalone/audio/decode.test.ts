// decodeAudio on real files made from utt01.wav at test time.
// apt: sox libsox-fmt-all lame flac opus-tools vorbis-tools ffmpeg
// A fixture whose tool is missing is skipped (with its name in the test title).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AudioFormat, decodeAudio, sniffFormat } from "../../../src/audio/decode.ts";
import { demuxWebmAudio } from "../../../src/audio/webm.ts";
import { BadRequest, TooLarge, UnsupportedMedia } from "../../../src/errors.ts";
import { encodeWav } from "../../../src/audio/wav.ts";
import { envelopeCorrelation, has, loadUtt01, makeTempDir, randomBytes, readBytes, run, UTT01 } from "./helpers.ts";
import { concatBytes } from "../../../src/audio/bytes.ts";

const utt = loadUtt01();
const UTT_SECONDS = utt.samples.length / utt.sampleRate; // 3.585
const tmp = makeTempDir("decode");
afterAll(() => tmp.cleanup());

interface Fixture {
  name: string;
  tools: string[];
  make: (out: string) => void;
  format: AudioFormat;
  sampleRate: number;
  /** Allowed extra/missing duration in seconds: [below, above]. */
  tolerance: [number, number];
  /** Lossless formats must give back the very same samples. */
  lossless?: boolean;
  /** What the file must start with, to be sure the case is really tested. */
  magic?: string;
}

const ff = (...args: string[]) => (out: string) => run(["ffmpeg", "-loglevel", "error", "-y", "-i", UTT01, ...args, out]);

const fixtures: Fixture[] = [
  {
    name: "mp3 (lame, 32 kbps, no gapless tag)",
    tools: ["lame"],
    make: (out) => run(["lame", "--quiet", "-b", "32", UTT01, out]),
    format: "mp3",
    sampleRate: 16000,
    // Encoder delay and padding are played: up to 1105 + 576 samples.
    tolerance: [0.001, 0.11],
  },
  {
    name: "mp3 with an ID3v2 tag (ffmpeg, gapless tag)",
    tools: ["ffmpeg"],
    make: ff("-c:a", "libmp3lame", "-b:a", "48k", "-f", "mp3", "-id3v2_version", "3", "-metadata", "title=Hearth test"),
    format: "mp3",
    sampleRate: 16000,
    tolerance: [0.01, 0.01],
    magic: "ID3",
  },
  {
    name: "mp3 44.1 kHz stereo (sox + lame)",
    tools: ["sox", "lame"],
    make: (out) => {
      run(["sox", UTT01, "-r", "44100", "-c", "2", `${out}.wav`]);
      run(["lame", "--quiet", "-b", "96", "--resample", "44.1", `${out}.wav`, out]);
    },
    format: "mp3",
    sampleRate: 44100,
    tolerance: [0.001, 0.06],
  },
  {
    name: "ogg/opus (opusenc)",
    tools: ["opusenc"],
    make: (out) => run(["opusenc", "--quiet", UTT01, out]),
    format: "ogg/opus",
    sampleRate: 48000,
    tolerance: [0.01, 0.01],
  },
  {
    name: "ogg/opus stereo (sox + opusenc)",
    tools: ["sox", "opusenc"],
    make: (out) => {
      run(["sox", UTT01, "-c", "2", `${out}.wav`]);
      run(["opusenc", "--quiet", `${out}.wav`, out]);
    },
    format: "ogg/opus",
    sampleRate: 48000,
    tolerance: [0.01, 0.01],
  },
  {
    name: "ogg/vorbis (oggenc)",
    tools: ["oggenc"],
    make: (out) => run(["oggenc", "--quiet", UTT01, "-o", out]),
    format: "ogg/vorbis",
    sampleRate: 16000,
    tolerance: [0.01, 0.01],
  },
  {
    name: "flac",
    tools: ["flac"],
    make: (out) => run(["flac", "--silent", "--force", UTT01, "-o", out]),
    format: "flac",
    sampleRate: 16000,
    tolerance: [0, 0],
    lossless: true,
  },
  {
    name: "ogg/flac",
    tools: ["flac"],
    make: (out) => run(["flac", "--silent", "--force", "--ogg", UTT01, "-o", out]),
    format: "ogg/flac",
    sampleRate: 16000,
    tolerance: [0, 0],
    lossless: true,
  },
  {
    name: "webm/opus (ffmpeg, seekable file)",
    tools: ["ffmpeg"],
    make: ff("-c:a", "libopus", "-b:a", "32k", "-f", "webm"),
    format: "webm/opus",
    sampleRate: 48000,
    // WebM end trimming (DiscardPadding) is not applied: up to one 20 ms frame more.
    tolerance: [0.005, 0.025],
  },
  {
    name: "webm/opus live (unknown-size Segment, as MediaRecorder writes)",
    tools: ["ffmpeg"],
    make: ff("-c:a", "libopus", "-f", "webm", "-live", "1"),
    format: "webm/opus",
    sampleRate: 48000,
    tolerance: [0.005, 0.025],
  },
  {
    name: "mka/opus stereo (Matroska rather than WebM)",
    tools: ["ffmpeg"],
    make: ff("-ac", "2", "-ar", "24000", "-c:a", "libopus", "-f", "matroska"),
    format: "webm/opus",
    sampleRate: 48000,
    tolerance: [0.005, 0.025],
  },
];

describe("decodeAudio: supported formats", () => {
  for (const fx of fixtures) {
    const missing = fx.tools.filter((t) => !has(t));
    const title = missing.length ? `${fx.name} (SKIPPED: ${missing.join(", ")} not installed)` : fx.name;
    test.skipIf(missing.length > 0)(title, async () => {
      const path = tmp.path(fx.name.replace(/\W+/g, "_"));
      fx.make(path);
      const bytes = readBytes(path);
      if (fx.magic) expect(new TextDecoder().decode(bytes.subarray(0, fx.magic.length))).toBe(fx.magic);
      const decoded = await decodeAudio(bytes, { filename: "upload.bin" });
      expect(decoded.format).toBe(fx.format);
      expect(decoded.sampleRate).toBe(fx.sampleRate);
      const seconds = decoded.samples.length / decoded.sampleRate;
      expect(seconds).toBeGreaterThanOrEqual(UTT_SECONDS - fx.tolerance[0] - 1e-9);
      expect(seconds).toBeLessThanOrEqual(UTT_SECONDS + fx.tolerance[1] + 1e-9);
      // Same speech: the energy envelopes line up.
      expect(envelopeCorrelation(decoded.samples, decoded.sampleRate, utt.samples, utt.sampleRate)).toBeGreaterThan(0.95);
      if (fx.lossless) expect(decoded.samples).toEqual(utt.samples);
    });
  }

  test("wav is decoded too", async () => {
    const decoded = await decodeAudio(readBytes(UTT01));
    expect(decoded).toMatchObject({ format: "wav", sampleRate: 16000 });
    expect(decoded.samples).toEqual(utt.samples);
  });

  test("the filename and content type do not matter, the bytes do", async () => {
    const decoded = await decodeAudio(readBytes(UTT01), { filename: "voice.mp3", contentType: "audio/mpeg" });
    expect(decoded.format).toBe("wav");
  });
});

describe.skipIf(!has("ffmpeg"))("WebM demuxing details", () => {
  let webm: Uint8Array;
  beforeAll(() => {
    const path = tmp.path("demux.webm");
    ff("-c:a", "libopus", "-b:a", "32k", "-f", "webm")(path);
    webm = readBytes(path);
  });

  test("an unknown-size Cluster (MediaRecorder) is read like a sized one", async () => {
    const patched = webm.slice();
    const clusterId = [0x1f, 0x43, 0xb6, 0x75];
    let count = 0;
    for (let i = 0; i + 5 < patched.length; i++) {
      if (clusterId.every((b, k) => patched[i + k] === b)) {
        // Overwrite the size with the "unknown" value of the same length.
        const first = patched[i + 4]!;
        const len = Math.clz32(first) - 23;
        patched[i + 4] = 0xff >> (len - 1); // marker bit followed by ones
        for (let k = 1; k < len; k++) patched[i + 4 + k] = 0xff;
        count++;
      }
    }
    expect(count).toBeGreaterThan(0);
    const original = demuxWebmAudio(webm);
    const unknown = demuxWebmAudio(patched);
    expect(unknown.packets.length).toBe(original.packets.length);
    expect((await decodeAudio(patched)).samples.length).toBe((await decodeAudio(webm)).samples.length);
  });

  test("laced blocks (Xiph, EBML, fixed) give back the same packets", async () => {
    const track = demuxWebmAudio(webm);
    expect(track.codec).toBe("A_OPUS");
    expect(track.packets.length).toBeGreaterThan(100);

    for (const lacing of ["xiph", "ebml"] as const) {
      const relaced = buildWebm(track.codecPrivate!, track.packets, lacing);
      const again = demuxWebmAudio(relaced);
      expect(again.packets.map((p) => Array.from(p))).toEqual(track.packets.map((p) => Array.from(p)));
      const decoded = await decodeAudio(relaced);
      expect(decoded.samples.length).toBe((await decodeAudio(webm)).samples.length);
    }
    // Fixed lacing needs equal sizes: cut every packet to the shortest length (demux only).
    const shortest = Math.min(...track.packets.map((p) => p.length));
    const equal = track.packets.map((p) => p.subarray(0, shortest));
    const fixed = demuxWebmAudio(buildWebm(track.codecPrivate!, equal, "fixed"));
    expect(fixed.packets.map((p) => Array.from(p))).toEqual(equal.map((p) => Array.from(p)));
  });

  test("truncated WebM: a cut-off upload decodes what arrived; headers only is BadRequest", async () => {
    const half = await decodeAudio(webm.subarray(0, webm.length >> 1));
    expect(half.samples.length / 48000).toBeGreaterThan(1);
    expect(half.samples.length / 48000).toBeLessThan(UTT_SECONDS - 0.5);
    await expect(decodeAudio(webm.subarray(0, 200))).rejects.toThrow(BadRequest);
  });
});

/** A minimal WebM with one Opus track whose packets are laced 4 to a SimpleBlock. */
function buildWebm(opusHead: Uint8Array, packets: Uint8Array[], lacing: "xiph" | "ebml" | "fixed"): Uint8Array {
  const el = (id: number[], ...children: Uint8Array[]): Uint8Array => {
    const body = concatBytes(children);
    const size = [0x01, 0, 0, 0, 0, 0, 0, 0];
    for (let i = 7, v = body.length; i >= 1; i--, v = Math.floor(v / 256)) size[i] = v % 256;
    return concatBytes([new Uint8Array(id), new Uint8Array(size), body]);
  };
  const u8 = (...b: number[]) => new Uint8Array(b);
  const text = (s: string) => new TextEncoder().encode(s);
  const f64 = (v: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v);
    return b;
  };
  const lacingBits = { xiph: 1, fixed: 2, ebml: 3 }[lacing];
  const blocks: Uint8Array[] = [];
  for (let i = 0; i < packets.length; i += 4) {
    const group = packets.slice(i, i + 4);
    const header = [0x81, 0, 0, 0x80 | (lacingBits << 1), group.length - 1];
    const sizes = group.slice(0, -1).map((p) => p.length);
    if (group.length > 1) {
      if (lacing === "xiph") {
        for (let s of sizes) {
          for (; s >= 255; s -= 255) header.push(255);
          header.push(s);
        }
      } else if (lacing === "ebml") {
        header.push(0x40 | (sizes[0]! >> 8), sizes[0]! & 0xff); // 2-byte vint
        for (let k = 1; k < sizes.length; k++) {
          const v = sizes[k]! - sizes[k - 1]! + 8191; // signed, biased by 2^13 - 1
          header.push(0x40 | (v >> 8), v & 0xff);
        }
      }
    }
    blocks.push(el([0xa3], u8(...header), ...group));
  }
  const track = el(
    [0xae],
    el([0xd7], u8(1)),
    el([0x83], u8(2)),
    el([0x86], text("A_OPUS")),
    el([0x63, 0xa2], opusHead),
    el([0xe1], el([0xb5], f64(48000)), el([0x9f], u8(1))),
  );
  return concatBytes([
    el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], text("webm"))),
    el([0x18, 0x53, 0x80, 0x67], el([0x16, 0x54, 0xae, 0x6b], track), el([0x1f, 0x43, 0xb6, 0x75], el([0xe7], u8(0)), ...blocks)),
  ]);
}


describe("decodeAudio: unsupported and bad input", () => {
  test("empty file -> BadRequest 'file is empty'", async () => {
    const err = await decodeAudio(new Uint8Array(0)).catch((e) => e);
    expect(err).toBeInstanceOf(BadRequest);
    expect(err.message).toBe("file is empty");
    expect(err.param).toBe("file");
  });

  test("random bytes and text -> UnsupportedMedia listing the supported formats", async () => {
    const noise = randomBytes(4096, 99);
    expect(sniffFormat(noise)).toBeNull();
    for (const bytes of [noise, new TextEncoder().encode("hello, this is not audio")]) {
      const err = await decodeAudio(bytes, { filename: "x.bin" }).catch((e) => e);
      expect(err).toBeInstanceOf(UnsupportedMedia);
      expect(err.status).toBe(415);
      expect(err.message).toContain("'x.bin'");
      for (const name of ["WAV", "MP3", "Ogg Opus", "Ogg Vorbis", "FLAC", "WebM"]) expect(err.message).toContain(name);
    }
  });

  test.skipIf(!has("ffmpeg"))("webm/vorbis -> UnsupportedMedia naming the format", async () => {
    const path = tmp.path("unsupported.webm");
    ff("-c:a", "libvorbis", "-f", "webm")(path);
    const err = await decodeAudio(readBytes(path)).catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedMedia);
    expect(err.message).toMatch(/A_VORBIS.*only Opus/);
    expect(err.message).toContain("Supported formats");
  });

  // Phone recordings (iPhone voice memos, Safari's MediaRecorder) have no WASM decoder here: the
  // system's ffmpeg decodes them when it is installed, else a 415 says how to fix it.
  const phone: Array<[string, string[], string, RegExp]> = [
    ["m4a (AAC in MP4)", ["-c:a", "aac", "-f", "ipod"], "m4a", /MP4\/M4A/],
    ["raw AAC (ADTS)", ["-c:a", "aac", "-f", "adts"], "aac", /AAC \(ADTS\)/],
  ];
  for (const [name, args, ext, what] of phone) {
    test.skipIf(!has("ffmpeg"))(`${name}: decoded by the system's ffmpeg, bounded by maxSeconds; without ffmpeg a 415 naming the fix`, async () => {
      const path = tmp.path(`phone.${ext}`);
      ff(...args)(path);
      const decoded = await decodeAudio(readBytes(path), { maxSeconds: 60 });
      expect(decoded.format).toMatch(what);
      expect(decoded.sampleRate).toBe(16000);
      // AAC adds encoder priming (about 0.13 s in ADTS, which has no edit list to remove it)
      expect(Math.abs(decoded.samples.length / 16000 - utt.samples.length / utt.sampleRate)).toBeLessThan(0.2);
      await expect(decodeAudio(readBytes(path), { maxSeconds: 2 })).rejects.toThrow(TooLarge);
      const path0 = process.env.PATH;
      process.env.PATH = "/nonexistent";
      try {
        const err = await decodeAudio(readBytes(path)).catch((e) => e);
        expect(err).toBeInstanceOf(UnsupportedMedia);
        expect(err.message).toMatch(what);
        expect(err.message).toContain("sudo apt-get install ffmpeg");
      } finally {
        process.env.PATH = path0;
      }
    });
  }

  for (const codec of ["pcm_mulaw", "pcm_alaw"]) {
    test.skipIf(!has("ffmpeg"))(`${codec} WAV (telephone G.711) decodes natively, close to the original`, async () => {
      const path = tmp.path(`${codec}.wav`);
      ff("-c:a", codec, "-ar", "8000")(path);
      const decoded = await decodeAudio(readBytes(path));
      expect(decoded.format).toBe("wav");
      expect(decoded.sampleRate).toBe(8000);
      expect(Math.abs(decoded.samples.length / 8000 - utt.samples.length / utt.sampleRate)).toBeLessThan(0.01);
      const rms = (x: Float32Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
      expect(rms(decoded.samples) / rms(utt.samples)).toBeGreaterThan(0.8);
      expect(rms(decoded.samples) / rms(utt.samples)).toBeLessThan(1.25);
    });
  }

  test("truncated WAV header -> BadRequest", async () => {
    const wav = encodeWav(utt.samples, 16000);
    await expect(decodeAudio(wav.subarray(0, 30))).rejects.toThrow(BadRequest);
  });

  test.skipIf(!has("opusenc") || !has("flac"))("corrupt Ogg and FLAC bodies -> BadRequest", async () => {
    const opusPath = tmp.path("corrupt.opus");
    run(["opusenc", "--quiet", UTT01, opusPath]);
    const flacPath = tmp.path("corrupt.flac");
    run(["flac", "--silent", "--force", UTT01, "-o", flacPath]);
    for (const [path, keep] of [[opusPath, 80], [flacPath, 42]] as const) {
      const head = readBytes(path).subarray(0, keep); // the magic and the first header
      const bytes = concatBytes([head, randomBytes(5000, 3)]);
      const err = await decodeAudio(bytes).catch((e) => e);
      expect(err).toBeInstanceOf(BadRequest);
      expect(err.status).toBe(400);
    }
  });

  test.skipIf(!has("lame"))("an MP3 cut in half decodes the first half; a few bytes is BadRequest", async () => {
    const path = tmp.path("half.mp3");
    run(["lame", "--quiet", "-b", "32", UTT01, path]);
    const mp3 = readBytes(path);
    const half = await decodeAudio(mp3.subarray(0, mp3.length >> 1));
    expect(Math.abs(half.samples.length / 16000 - UTT_SECONDS / 2)).toBeLessThan(0.15);
    await expect(decodeAudio(mp3.subarray(0, 40))).rejects.toThrow(BadRequest);
  });

  test("maxSeconds -> TooLarge", async () => {
    await expect(decodeAudio(readBytes(UTT01), { maxSeconds: 2 })).rejects.toThrow(TooLarge);
    expect((await decodeAudio(readBytes(UTT01), { maxSeconds: 4 })).samples.length).toBe(utt.samples.length);
  });
});
