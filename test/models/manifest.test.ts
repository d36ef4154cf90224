import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { ModelError } from "../../src/models/errors.ts";
import { downloadName, getProfile, loadManifest, parseManifest } from "../../src/models/manifest.ts";
import { findLocalSource } from "../../src/models/source.ts";
import { setupCommand, toResolvedProfile } from "../../src/models/verify.ts";

const FIXTURES = process.env.HEARTH_TEST_MODELS ?? resolve(import.meta.dir, "../../../shared/models");
const manifest = loadManifest();

describe("models/manifest.json", () => {
  test("has the pi (default), pi-8gb and test profiles", () => {
    expect(Object.keys(manifest.profiles).sort()).toEqual(["pi", "pi-8gb", "test"]);
    expect(manifest.default).toBe("pi");
  });

  test("pi: SenseVoice int8, Qwen2.5-0.5B Q4_K_M, Silero VAD, an English and a Chinese voice, all from public URLs", () => {
    const pi = getProfile(manifest, "pi");
    expect(pi.stt).toMatchObject({ type: "sense_voice", archive: "tar.bz2", files: { model: "model.int8.onnx", tokens: "tokens.txt" } });
    expect(downloadName(pi.stt)).toBe("sherpa-onnx-sense-voice-zh-en-ja-ko-yue-int8-2025-09-09.tar.bz2");
    expect(pi.stt.languages).toEqual(["zh", "en", "ja", "ko", "yue"]);
    expect(pi.llm.url).toBe("https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf");
    expect(pi.vad.url).toBe("https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models/silero_vad.onnx");
    expect(pi.tts.map((t) => [t.voice, t.language, t.speakers])).toEqual([
      ["amy", "en", 1],
      ["aishell3", "zh", 174],
    ]);
    for (const m of pi.models) {
      expect(m.url).toStartWith("https://");
      expect(m.size).toBeGreaterThan(1_000_000);
    }
    for (const t of pi.tts) expect(t.url).toStartWith("https://github.com/k2-fsa/sherpa-onnx/releases/download/tts-models/");
  });

  test("pi-8gb is pi with Qwen2.5-1.5B", () => {
    const pi = getProfile(manifest, "pi");
    const big = getProfile(manifest, "pi-8gb");
    expect(big.llm.url).toContain("qwen2.5-1.5b-instruct-q4_k_m.gguf");
    expect(big.models.filter((m) => m.kind !== "llm")).toEqual(pi.models.filter((m) => m.kind !== "llm"));
  });

  test("every test-profile model is in the shared fixtures folder at its `local` path, with all its files", () => {
    for (const m of getProfile(manifest, "test").models) {
      expect(findLocalSource(FIXTURES, m)).toEqual({ kind: "folder", path: resolve(FIXTURES, m.local) });
    }
  });

  test("resolves to sherpa-onnx config names: several rule FSTs joined with ','", () => {
    const p = toResolvedProfile(getProfile(manifest, "pi"), "/m");
    expect(p.tts[1]!.files).toEqual({
      model: "/m/icefall-zh-aishell3/model.onnx",
      tokens: "/m/icefall-zh-aishell3/tokens.txt",
      lexicon: "/m/icefall-zh-aishell3/lexicon.txt",
      ruleFsts: "/m/icefall-zh-aishell3/phone.fst,/m/icefall-zh-aishell3/date.fst,/m/icefall-zh-aishell3/number.fst,/m/icefall-zh-aishell3/new_heteronym.fst",
      ruleFars: "/m/icefall-zh-aishell3/rule.far",
    });
    expect(p.tts[0]!.files.dataDir).toBe("/m/piper-en_US-amy-low/espeak-ng-data");
    expect(p.llm.file).toBe("/m/qwen2.5-0.5b-instruct-q4_k_m/qwen2.5-0.5b-instruct-q4_k_m.gguf");
    expect(p.stt.files).toEqual({ model: "/m/sense-voice-int8-2025-09-09/model.int8.onnx", tokens: "/m/sense-voice-int8-2025-09-09/tokens.txt" });
  });
});

describe("manifest validation", () => {
  const base = () => JSON.parse(JSON.stringify(manifest));

  test("rejects a profile naming a model that does not exist, or of the wrong kind", () => {
    const m = base();
    m.profiles.pi.llm = "nope";
    m.profiles.test.vad = "tiny-random-llama";
    expect(() => parseManifest(m)).toThrow(/profile pi: no model with id "nope"[\s\S]*profile test: "tiny-random-llama" is a llm model, used as vad/);
  });

  test("rejects an unknown engine type, a duplicate id and a multi-file download that is not an archive", () => {
    const m = base();
    m.models[0].type = "wav2vec";
    m.models.push({ ...m.models[1] });
    m.models.find((x: any) => x.id === "icefall-zh-aishell3").archive = "none";
    const err = (() => {
      try {
        parseManifest(m);
      } catch (e) {
        return e as ModelError;
      }
    })()!;
    expect(err).toBeInstanceOf(ModelError);
    expect(err.message).toContain(`type "wav2vec" is not a stt engine type`);
    expect(err.message).toContain(`model id "qwen2.5-0.5b-instruct-q4_k_m" appears twice`);
    expect(err.message).toContain("icefall-zh-aishell3: a download that is not an archive must be exactly one file");
  });

  test("rejects paths that leave the model folder", () => {
    const m = base();
    m.models[0].files.model = "../../etc/passwd";
    expect(() => parseManifest(m)).toThrow("must be a relative path inside the model folder");
  });
});

describe("setupCommand", () => {
  test("names the source folder, a non-default config file and profile", () => {
    expect(setupCommand({ models: { profile: "pi", from: "", dir: "/m" } })).toBe("bun run setup");
    expect(setupCommand({ models: { profile: "test", from: "/media/usb stick", dir: "/m" }, file: "/etc/hearth/config.toml" })).toBe(
      "HEARTH_MODELS_FROM='/media/usb stick' bun run setup --config /etc/hearth/config.toml --profile test",
    );
    expect(setupCommand({ models: { profile: "pi", from: "/media/usb", dir: "/m" } }, { verify: true })).toBe("HEARTH_MODELS_FROM=/media/usb bun run setup --verify");
  });
});
