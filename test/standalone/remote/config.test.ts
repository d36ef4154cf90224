// The configuration contract of remote engines ([llm] backend/urls/api_key, HEARTH_LLM_URLS, the
// same for [stt] and [tts]) and what it changes in model setup: a remote engine's models are
// neither fetched nor checked.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig } from "../../../src/config/load.ts";
import { setLogLevel } from "../../../src/log.ts";
import { ensureModels } from "../../../src/models/ensure.ts";
import { ModelError } from "../../../src/models/errors.ts";
import { getProfile, loadManifest } from "../../../src/models/manifest.ts";
import { checkProfile, localModels, resolveProfile } from "../../../src/models/verify.ts";

setLogLevel("error");

describe("remote engines in config.toml", () => {
  test("local by default; backend and comma-separated URLs from the environment, per engine", () => {
    const local = loadConfig(DEFAULT_CONFIG_FILE, {});
    for (const e of ["stt", "llm", "tts"] as const) expect(local[e]).toMatchObject({ backend: "local", urls: [], api_key: "", model: "", timeout_seconds: 30 });
    const config = loadConfig(DEFAULT_CONFIG_FILE, {
      HEARTH_LLM_BACKEND: "remote",
      HEARTH_LLM_URLS: "http://192.168.1.50:8080/v1, http://192.168.1.51:8080/v1/",
      HEARTH_LLM_API_KEY: "secret",
      HEARTH_STT_BACKEND: "remote",
      HEARTH_STT_URLS: "http://192.168.1.60:8080/v1",
    });
    expect(config.llm).toMatchObject({ backend: "remote", urls: ["http://192.168.1.50:8080/v1", "http://192.168.1.51:8080/v1"], api_key: "secret" });
    expect(config.stt).toMatchObject({ backend: "remote", urls: ["http://192.168.1.60:8080/v1"] });
    expect(config.tts.backend).toBe("local");
  });

  test("remote without URLs, a URL without /v1, or an unknown backend stop the start with the key named", () => {
    expect(() => loadConfig(DEFAULT_CONFIG_FILE, { HEARTH_TTS_BACKEND: "remote" })).toThrow(/\[tts\] urls: backend = "remote" needs at least one URL/);
    expect(() => loadConfig(DEFAULT_CONFIG_FILE, { HEARTH_LLM_BACKEND: "remote", HEARTH_LLM_URLS: "http://192.168.1.50:8080" })).toThrow(/\[llm\] urls\.0: a base URL ending in \/v1/);
    expect(() => loadConfig(DEFAULT_CONFIG_FILE, { HEARTH_STT_BACKEND: "cloud" })).toThrow(ConfigError);
  });

  test("a remote engine's models are not needed: no GGUF with a remote LLM, only the 2 MB VAD with all three remote", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-no-models-"));
    try {
      const manifest = loadManifest();
      const profile = getProfile(manifest, "pi");
      const env = { HEARTH_MODELS_DIR: dir, HEARTH_MODELS_FROM: "" };
      const remote = (engines: string[]) =>
        loadConfig(DEFAULT_CONFIG_FILE, { ...env, ...Object.fromEntries(engines.flatMap((e) => [[`HEARTH_${e}_BACKEND`, "remote"], [`HEARTH_${e}_URLS`, "http://10.0.0.2:8080/v1"]])) });
      const kinds = (engines: string[]) => localModels(remote(engines), profile).map((m) => m.kind);
      expect(kinds([])).toEqual(["stt", "llm", "vad", "tts", "tts"]);
      expect(kinds(["LLM"])).toEqual(["stt", "vad", "tts", "tts"]);
      expect(kinds(["STT"])).toEqual(["llm", "vad", "tts", "tts"]); // the VAD stays: live audio is cut into turns here
      expect(checkProfile(remote(["LLM"]), profile).map((p) => p.kind)).not.toContain("llm");
      // All three remote: only the 2 MB VAD is needed (here it is missing: the one problem left)
      const all = remote(["STT", "LLM", "TTS"]);
      expect(kinds(["STT", "LLM", "TTS"])).toEqual(["vad"]);
      expect(checkProfile(all, profile).map((p) => [p.kind, p.reason])).toEqual([["vad", "not-installed"]]);
      expect(() => resolveProfile(all)).toThrow(/vad model silero-vad is not installed/);
      // [stt] language is checked against the local speech model only
      const french = { ...env, HEARTH_STT_LANGUAGE: "fr" };
      await expect(ensureModels(loadConfig(DEFAULT_CONFIG_FILE, french))).rejects.toThrow(ConfigError);
      // with a remote STT it gets past that check, to fetching the models (from an empty folder here: a ModelError)
      const remoteFrench = loadConfig(DEFAULT_CONFIG_FILE, { ...french, HEARTH_MODELS_FROM: dir, HEARTH_STT_BACKEND: "remote", HEARTH_STT_URLS: "http://10.0.0.2:8080/v1" });
      const error = await ensureModels(remoteFrench, { progress: "none" }).catch((e) => e);
      expect(error).toBeInstanceOf(ModelError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
