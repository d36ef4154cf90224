// [stt] language is checked against the profile's speech model before anything is fetched: a
// value the model cannot do is a ConfigError (Hearth exits 78) that names the allowed values.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../../src/config/load.ts";
import { checkSttLanguage, ensureModels } from "../../../src/models/ensure.ts";
import { getProfile, loadManifest } from "../../../src/models/manifest.ts";
import type { ModelsConfig } from "../../../src/models/verify.ts";

const manifest = loadManifest();
const tmp = mkdtempSync(join(tmpdir(), "hearth-language-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const config = (profile: string, language?: string): ModelsConfig => ({
  models: { profile, from: "", dir: join(tmp, "models") },
  ...(language === undefined ? {} : { stt: { language } }),
});

describe("[stt] language", () => {
  test('"auto", no setting, or a language of the model are accepted', () => {
    for (const [profile, language] of [["pi", "auto"], ["pi", "yue"], ["pi", "en"], ["test", "en"], ["test", undefined]] as const) {
      expect(() => checkSttLanguage(config(profile, language), getProfile(manifest, profile))).not.toThrow();
    }
  });

  test("a language the model cannot do is a ConfigError naming the allowed values", () => {
    let err: unknown;
    try {
      checkSttLanguage(config("pi", "fr"), getProfile(manifest, "pi"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      `[stt] language = "fr" is not a language the speech model of profile "pi" (sense-voice-int8-2024-07-17) transcribes: use "auto" or one of "zh", "en", "ja", "ko", "yue" (config.toml, or HEARTH_STT_LANGUAGE)`,
    );
  });

  test("ensureModels refuses it before fetching anything", async () => {
    let fetched = 0;
    const err = await ensureModels(config("test", "zh"), { manifest, progress: "none", download: { fetch: (async () => (fetched++, new Response("no"))) as any } }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(`[stt] language = "zh" is not a language the speech model of profile "test" (whisper-tiny.en-int8) transcribes: use "auto" or one of "en"`);
    expect(fetched).toBe(0);
    expect(existsSync(join(tmp, "models"))).toBe(false);
  });
});
