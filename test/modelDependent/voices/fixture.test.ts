// The generated test voice (test/support/voice-fixtures.ts) is what the other voice tests take it
// for: the shared tone model with only its metadata changed, read by sherpa-onnx as an 8 kHz
// Mandarin Piper voice (espeak-ng cmn), singing Chinese text as long as the text.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SherpaTts } from "../../../src/engines/tts/sherpa.ts";
import { collectAudio } from "../../../src/pipeline/speak.ts";
import { makeToneVoice, onnxMetadata, TONE_DIR, withOnnxMetadata, ZH_8K_METADATA } from "../../support/voice-fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "hearth-voice-fixture-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("only the metadata changes: Piper's language, espeak voice and rate; the graph is the same bytes", () => {
  const original = new Uint8Array(readFileSync(join(TONE_DIR, "model.onnx")));
  expect(onnxMetadata(original)).toMatchObject({ comment: "piper", language: "English", voice: "en-us", sample_rate: "22050", n_speakers: "4" });
  const changed = withOnnxMetadata(original, ZH_8K_METADATA);
  expect(onnxMetadata(changed)).toEqual({ ...onnxMetadata(original), language: "Chinese", voice: "cmn", sample_rate: "8000" });
  const graph = (m: Uint8Array) => Buffer.from(m).indexOf(Buffer.from("fixture_piper_tone"));
  expect(graph(changed)).toBe(graph(original)); // everything before the metadata is untouched
  expect(Buffer.from(changed.subarray(0, graph(changed))).equals(Buffer.from(original.subarray(0, graph(original))))).toBe(true);
  expect(withOnnxMetadata(original, {})).toEqual(original); // a no-op rewrite is byte for byte the same
});

test("sherpa-onnx loads it as an 8 kHz 4-speaker voice that speaks Chinese text through espeak-ng's cmn", async () => {
  makeToneVoice(join(dir, "zh"), ZH_8K_METADATA);
  const tts = await SherpaTts.load(
    [{ id: "zh", type: "vits", language: "zh", speakers: 4, files: { model: join(dir, "zh", "model.onnx"), tokens: join(dir, "zh", "tokens.txt"), dataDir: join(dir, "zh", "espeak-ng-data") } }],
    { threads: 1, maxQueue: 4 },
  );
  try {
    expect(tts.voices()).toEqual([{ id: "zh", language: "zh", speakers: 4, sampleRate: 8000 }]);
    const short = (await collectAudio(tts.synthesize("你好。", { voice: "zh:0" })))!;
    const long = (await collectAudio(tts.synthesize("你好，小朋友，今天我们一起去公园玩吧。", { voice: "zh:0" })))!;
    expect(short.sampleRate).toBe(8000);
    expect(short.samples.length).toBeGreaterThan(0);
    expect(long.samples.length).toBeGreaterThan(3 * short.samples.length);
  } finally {
    tts.close();
  }
});
