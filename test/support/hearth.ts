// Starts a real Hearth on the `test` model profile (fixtures from HEARTH_MODELS_FROM, default
// ../shared/models) with free ports and a temporary state folder.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startHearth, type Hearth } from "../../src/app.ts";
import { loadConfig, type LoadedConfig } from "../../src/config/load.ts";
import { SherpaStt } from "../../src/engines/stt/sherpa.ts";
import { SileroVad } from "../../src/engines/vad/silero.ts";
import type { ResolvedProfile } from "../../src/models/types.ts";
import { AUDIO, SHARED } from "./paths.ts";

export { AUDIO, SHARED };

export const MODELS_FROM = resolve(process.env.HEARTH_MODELS_FROM ?? join(SHARED, "models"));
/** One models folder for the whole run, so the fixtures are copied once. */
export const TEST_MODELS_DIR = resolve(process.env.HEARTH_TEST_MODELS_DIR ?? join(tmpdir(), "hearth-test-models"));

/** The HEARTH_* settings of a test Hearth: the test profile, free ports on loopback, its own state folder. */
export function testEnv(stateDir: string): Record<string, string> {
  return {
    HEARTH_MODELS_PROFILE: "test",
    HEARTH_MODELS_FROM: MODELS_FROM,
    HEARTH_MODELS_DIR: TEST_MODELS_DIR,
    HEARTH_STATE_DIR: stateDir,
    HEARTH_HTTP_HOST: "127.0.0.1",
    HEARTH_HTTP_PORT: "0",
    HEARTH_MQTT_PORT: "0",
    HEARTH_TOY_UDP_PORT: "0",
    HEARTH_LLM_SEQUENCES: "2",
    HEARTH_LLM_CONTEXT_SIZE: "2048",
    HEARTH_LOG_LEVEL: process.env.HEARTH_LOG_LEVEL ?? "warn",
  };
}

export function testConfig(overrides: Record<string, string> = {}): LoadedConfig {
  return loadConfig(undefined, { ...testEnv(mkdtempSync(join(tmpdir(), "hearth-state-"))), ...overrides });
}

/** The test profile's recognizer with its VAD, as the engines load them, on 1 thread. */
export async function testRecognizer(config: LoadedConfig, profile: ResolvedProfile): Promise<{ vad: SileroVad; stt: SherpaStt }> {
  const vad = new SileroVad(profile.vad, { threshold: config.vad.threshold, minSilenceSeconds: config.vad.min_silence_seconds, maxSegmentSeconds: config.vad.max_segment_seconds });
  const stt = await SherpaStt.load(profile.stt, vad, { threads: 1, language: config.stt.language, maxQueue: 64 });
  return { vad, stt };
}

export async function startTestHearth(overrides: Record<string, string> = {}): Promise<Hearth> {
  const config = testConfig(overrides);
  const hearth = await startHearth(config);
  return {
    ...hearth,
    async stop() {
      await hearth.stop();
      rmSync(config.state.dir, { recursive: true, force: true });
    },
  };
}

export async function readAudioFile(name: string): Promise<Uint8Array> {
  return new Uint8Array(await Bun.file(join(AUDIO, name)).arrayBuffer());
}

export async function transcripts(): Promise<Map<string, string>> {
  const text = await Bun.file(join(AUDIO, "transcripts.tsv")).text();
  return new Map(text.trim().split("\n").map((line) => line.split("\t") as [string, string]));
}

/** Word error rate after lowercasing and dropping punctuation. */
export function wordErrorRate(reference: string, hypothesis: string): number {
  const words = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}' ]/gu, " ").split(/\s+/).filter(Boolean);
  const r = words(reference);
  const h = words(hypothesis);
  const d = Array.from({ length: r.length + 1 }, (_, i) => [i, ...Array(h.length).fill(0)]);
  for (let j = 1; j <= h.length; j++) d[0]![j] = j;
  for (let i = 1; i <= r.length; i++)
    for (let j = 1; j <= h.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (r[i - 1] === h[j - 1] ? 0 : 1));
  return r.length ? d[r.length]![h.length]! / r.length : 0;
}
