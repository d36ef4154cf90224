// Test voices of another language and rate, made from the shared tone fixture at test time
// (nothing is written into ../shared): the same 4-speaker Piper-shaped model with its ONNX
// metadata changed, as sherpa-onnx reads it (offline-tts-vits-model.cc): `language` (Piper's
// "English" -> "Chinese"), `voice` (the espeak-ng voice that phonemizes the text: "en-us" ->
// "cmn") and `sample_rate` (22050 -> 8000). The tone it sings is computed per sample, so at
// 8000 Hz it is simply higher; its length still follows the text.
//
// modelsFromWithVoices() returns a folder to use as HEARTH_MODELS_FROM for the `test-voices`
// profile (models/manifest.json): the shared fixtures (linked) plus tts/fixture-piper-tone-zh-8k/,
// a Mandarin voice at 8 kHz like aishell3. The shared fixture itself is the English 22.05 kHz voice.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadEngines } from "../../src/engines/load.ts";
import type { Engines } from "../../src/engines/types.ts";
import { ensureModels } from "../../src/models/ensure.ts";
import { MODELS_FROM, testConfig } from "./hearth.ts";

export const TONE_DIR = join(MODELS_FROM, "tts", "fixture-piper-tone");
/** The voice names the `test-voices` profile installs (manifest "voice" fields). */
export const EN_VOICE = "fixture-piper-tone";
export const ZH_8K_VOICE = "tone-zh-8k";

// ---- a minimal protobuf reader/writer: enough for ModelProto's top-level fields -------------

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [value, pos];
    shift += 7;
  }
}

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

interface Field {
  number: number;
  wire: number;
  /** The whole field as it was (tag included). */
  raw: Uint8Array;
  /** Length-delimited fields: the payload. */
  payload?: Uint8Array;
}

function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, afterTag] = readVarint(buf, pos);
    pos = afterTag;
    const wire = tag & 7;
    let payload: Uint8Array | undefined;
    if (wire === 0) pos = readVarint(buf, pos)[1];
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [len, at] = readVarint(buf, pos);
      payload = buf.subarray(at, at + len);
      pos = at + len;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    out.push({ number: Math.floor(tag / 8), wire, raw: buf.subarray(start, pos), payload });
  }
  return out;
}

function lengthDelimited(number: number, payload: Uint8Array): Uint8Array {
  return Uint8Array.from([...varint(number * 8 + 2), ...varint(payload.length), ...payload]);
}

const METADATA_PROPS = 14; // ModelProto.metadata_props: repeated StringStringEntryProto {key = 1, value = 2}

/** An ONNX model's metadata_props as a map. */
export function onnxMetadata(model: Uint8Array): Record<string, string> {
  const text = new TextDecoder();
  const meta: Record<string, string> = {};
  for (const f of fields(model)) {
    if (f.number !== METADATA_PROPS || !f.payload) continue;
    const kv = fields(f.payload);
    const key = kv.find((x) => x.number === 1)?.payload;
    const value = kv.find((x) => x.number === 2)?.payload;
    if (key) meta[text.decode(key)] = value ? text.decode(value) : "";
  }
  return meta;
}

/** The same ONNX model with some metadata_props changed (the graph and everything else untouched). */
export function withOnnxMetadata(model: Uint8Array, changes: Record<string, string>): Uint8Array {
  const meta = { ...onnxMetadata(model), ...changes };
  const encoder = new TextEncoder();
  const parts = fields(model)
    .filter((f) => f.number !== METADATA_PROPS)
    .map((f) => f.raw);
  for (const [key, value] of Object.entries(meta)) {
    const entry = Uint8Array.from([...lengthDelimited(1, encoder.encode(key)), ...lengthDelimited(2, encoder.encode(value))]);
    parts.push(lengthDelimited(METADATA_PROPS, entry));
  }
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

// ---- the fixture folders ---------------------------------------------------------------------

/** A copy of the tone voice with other metadata, in `dir` (model.onnx rewritten, tokens copied, espeak-ng-data linked). */
export function makeToneVoice(dir: string, metadata: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "model.onnx"), withOnnxMetadata(readFileSync(join(TONE_DIR, "model.onnx")), metadata));
  copyFileSync(join(TONE_DIR, "tokens.txt"), join(dir, "tokens.txt"));
  if (!existsSync(join(dir, "espeak-ng-data"))) symlinkSync(join(TONE_DIR, "espeak-ng-data"), join(dir, "espeak-ng-data"));
}

/** The Mandarin 8 kHz voice's metadata, as a converted aishell3-like Piper voice would carry it. */
export const ZH_8K_METADATA = { language: "Chinese", voice: "cmn", sample_rate: "8000" };

let cached: string | undefined;

/**
 * A models folder for HEARTH_MODELS_FROM with the `test-voices` profile's models: the shared
 * fixtures (linked) and the generated Mandarin 8 kHz voice, in <tmp>/hearth-voice-fixtures-<hash>
 * (the hash of what it is made from, so it is made once and reused by later runs; the same bytes
 * every time, so an installed copy stays valid).
 */
export function modelsFromWithVoices(): string {
  if (cached) return cached;
  const model = withOnnxMetadata(readFileSync(join(TONE_DIR, "model.onnx")), ZH_8K_METADATA);
  const hash = new Bun.CryptoHasher("sha256").update(MODELS_FROM).update(model).digest("hex").slice(0, 12);
  const root = join(tmpdir(), `hearth-voice-fixtures-${hash}`);
  if (!existsSync(join(root, "tts", "fixture-piper-tone-zh-8k", "model.onnx"))) {
    const staging = `${root}.${process.pid}.staging`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(join(staging, "tts"), { recursive: true });
    for (const kind of ["stt", "llm", "vad"]) symlinkSync(join(MODELS_FROM, kind), join(staging, kind));
    symlinkSync(TONE_DIR, join(staging, "tts", "fixture-piper-tone"));
    makeToneVoice(join(staging, "tts", "fixture-piper-tone-zh-8k"), ZH_8K_METADATA);
    try {
      renameSync(staging, root);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another test process made it first
    }
  }
  cached = root;
  return root;
}

/** HEARTH_* overrides that make a test Hearth (or toy layer) use the `test-voices` profile. */
export function voicesProfileEnv(): Record<string, string> {
  return { HEARTH_MODELS_PROFILE: "test-voices", HEARTH_MODELS_FROM: modelsFromWithVoices() };
}

let engines: Promise<Engines> | undefined;

/** The real engines on the `test-voices` profile, loaded once per process. */
export function testVoicesEngines(): Promise<Engines> {
  engines ??= (async () => {
    const config = testConfig(voicesProfileEnv());
    rmSync(config.state.dir, { recursive: true, force: true });
    return loadEngines(config, await ensureModels(config));
  })();
  return engines;
}
