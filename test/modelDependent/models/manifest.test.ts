import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ModelError } from "../../../src/models/errors.ts";
import { downloadName, getProfile, loadManifest, NO_PIN, parseManifest, pinOf } from "../../../src/models/manifest.ts";
import { findLocalSource } from "../../../src/models/source.ts";
import { setupCommand, toResolvedProfile } from "../../../src/models/verify.ts";
import { sha256 } from "../../support/http-fixture.ts";
import { SHARED } from "../../support/paths.ts";

const FIXTURES = process.env.HEARTH_TEST_MODELS ?? join(SHARED, "models");
const manifest = loadManifest();

describe("models/manifest.json", () => {
  test("has the pi (default), pi-8gb, pi-yue, test and test-voices profiles", () => {
    expect(Object.keys(manifest.profiles).sort()).toEqual(["pi", "pi-8gb", "pi-yue", "test", "test-voices"]);
    expect(manifest.default).toBe("pi");
  });

  test("pi: the general SenseVoice int8 (2024-07-17), Qwen2.5-0.5B Q4_K_M, Silero VAD, an English and a Chinese voice, all from public URLs", () => {
    const pi = getProfile(manifest, "pi");
    expect(pi.stt).toMatchObject({ id: "sense-voice-int8-2024-07-17", type: "sense_voice", archive: "tar.bz2", files: { model: "model.int8.onnx", tokens: "tokens.txt" } });
    expect(downloadName(pi.stt)).toBe("sherpa-onnx-sense-voice-zh-en-ja-ko-yue-int8-2024-07-17.tar.bz2");
    expect(pi.stt.languages).toEqual(["zh", "en", "ja", "ko", "yue"]);
    expect(pi.llm.url).toBe("https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf");
    expect(pi.vad.url).toBe("https://raw.githubusercontent.com/snakers4/silero-vad/v6.2.1/src/silero_vad/data/silero_vad.onnx");
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

  test("pi-8gb is pi with Qwen2.5-1.5B; pi-yue is pi with the Cantonese SenseVoice (2025-09-09)", () => {
    const pi = getProfile(manifest, "pi");
    const big = getProfile(manifest, "pi-8gb");
    expect(big.llm.url).toContain("qwen2.5-1.5b-instruct-q4_k_m.gguf");
    expect(big.models.filter((m) => m.kind !== "llm")).toEqual(pi.models.filter((m) => m.kind !== "llm"));
    const yue = getProfile(manifest, "pi-yue");
    expect(yue.stt.id).toBe("sense-voice-int8-2025-09-09");
    expect(downloadName(yue.stt)).toBe("sherpa-onnx-sense-voice-zh-en-ja-ko-yue-int8-2025-09-09.tar.bz2");
    expect(yue.models.filter((m) => m.kind !== "stt")).toEqual(pi.models.filter((m) => m.kind !== "stt"));
  });

  test("users get the VAD the tests run: the pin is the sha256 and size of the shared fixture", () => {
    const fixture = readFileSync(resolve(FIXTURES, "vad/silero-vad/silero_vad.onnx"));
    for (const name of ["pi", "pi-8gb", "pi-yue", "test"]) {
      const vad = getProfile(manifest, name).vad;
      expect(vad.id).toBe("silero-vad");
      expect(pinOf(vad)).toEqual({ size: fixture.length, sha256: sha256(fixture) });
    }
    expect(pinOf(getProfile(manifest, "pi").vad)).toEqual({ size: 2_327_524, sha256: "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3" });
  });

  test("pins the downloads whose sha256 is known (issue 17), and says 'no pin known' for the others", () => {
    const byId = (id: string) => manifest.models.find((m) => m.id === id)!;
    const pins: Record<string, [number, string]> = {
      "sense-voice-int8-2025-09-09": [165_783_878, "7305f7905bfcf77fa0b39388a313f3da35c68d971661a65475b56fb2162c8e63"],
      "sense-voice-int8-2024-07-17": [163_002_883, "7d1efa2138a65b0b488df37f8b89e3d91a60676e416f515b952358d83dfd347e"],
      "qwen2.5-0.5b-instruct-q4_k_m": [491_400_032, "74a4da8c9fdbcd15bd1f6d01d621410d31c6fc00986f5eb687824e7b93d7a9db"],
      "qwen2.5-1.5b-instruct-q4_k_m": [1_117_320_736, "6a1a2eb6d15622bf3c96857206351ba97e1af16c30d7a74ee38970e434e9407e"],
      "icefall-zh-aishell3": [31_559_701, "ab468db3a3308cdd861495e0db2f25d79418a0c00639f74944c7cdf5dd8c6ec1"],
      "silero-vad-v4-sherpa": [643_854, "9e2449e1087496d8d4caba907f23e0bd3f78d91fa552479bb9c23ac09cbb1fd6"],
    };
    for (const [id, [size, sha]] of Object.entries(pins)) expect(pinOf(byId(id))).toEqual({ size, sha256: sha });
    expect(byId("silero-vad-v4-sherpa").url).toBe("https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models/silero_vad.onnx");
    expect(pinOf(byId("piper-en_US-amy-low"))).toBeNull();
    expect(byId("piper-en_US-amy-low").pin).toStartWith(NO_PIN);
    for (const m of manifest.models.filter((m) => m.url)) expect(m.pin).toBeTruthy();
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
    expect(p.stt.files).toEqual({ model: "/m/sense-voice-int8-2024-07-17/model.int8.onnx", tokens: "/m/sense-voice-int8-2024-07-17/tokens.txt" });
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
    m.models.push({ ...m.models.find((x: any) => x.id === "qwen2.5-0.5b-instruct-q4_k_m") });
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

  test("a download must say whether it is pinned; a pin needs a sha256 and the exact size", () => {
    const m = base();
    const amy = m.models.find((x: any) => x.id === "piper-en_US-amy-low");
    delete amy.pin;
    const qwen = m.models.find((x: any) => x.id === "qwen2.5-0.5b-instruct-q4_k_m");
    qwen.pin = "no pin known: but a sha256 is there";
    const aishell = m.models.find((x: any) => x.id === "icefall-zh-aishell3");
    delete aishell.sha256;
    const vad = m.models.find((x: any) => x.id === "silero-vad");
    vad.sha256 = "ABC";
    expect(() => parseManifest(m)).toThrow(/models\.\d+\.sha256: 64 lowercase hex digits/);
    vad.sha256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3";
    let message = "";
    try {
      parseManifest(m);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`piper-en_US-amy-low: a download needs "pin"`);
    expect(message).toContain(`qwen2.5-0.5b-instruct-q4_k_m: has a sha256 but its pin says "no pin known"`);
    expect(message).toContain(`icefall-zh-aishell3: "pin" describes a pin but there is no sha256`);
  });

  test("rejects paths that leave the model folder", () => {
    const m = base();
    m.models[0].files.model = "../../etc/passwd";
    expect(() => parseManifest(m)).toThrow("must be a relative path inside the model folder");
  });
});

describe("setupCommand", () => {
  test("names the source folder, a non-default config file and profile", () => {
    expect(setupCommand({ models: { profile: "pi", from: "", dir: "/m" } })).toBe("npm run setup");
    expect(setupCommand({ models: { profile: "test", from: "/media/usb stick", dir: "/m" }, file: "/etc/hearth/config.toml" })).toBe(
      "HEARTH_MODELS_FROM='/media/usb stick' npm run setup -- --config /etc/hearth/config.toml --profile test",
    );
    expect(setupCommand({ models: { profile: "pi", from: "/media/usb", dir: "/m" } }, { verify: true })).toBe("HEARTH_MODELS_FROM=/media/usb npm run setup -- --verify");
  });
});
