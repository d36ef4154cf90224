// What `bun start` calls: the profile's models, fetched first if any is missing or damaged.
import { logger } from "../log.ts";
import { fetchProfile, type FetchOptions } from "./fetch.ts";
import { getProfile, loadManifest } from "./manifest.ts";
import type { ResolvedProfile } from "./types.ts";
import { checkProfile, resolveProfile, type ModelsConfig } from "./verify.ts";

const log = logger("models");

/**
 * Quick-checks the configured profile; if something is missing or damaged, fetches it (with
 * progress) from [models] from or the internet; then returns the profile with absolute paths.
 * Throws ModelError (HTTP 503 NotReady) with one line saying what is wrong and what to run.
 */
export async function ensureModels(config: ModelsConfig, options: FetchOptions = {}): Promise<ResolvedProfile> {
  const manifest = options.manifest ?? loadManifest();
  const profile = getProfile(manifest, config.models.profile);
  const problems = checkProfile(config, profile);
  if (problems.length) {
    const where = config.models.from ? `from ${config.models.from}` : "from the internet";
    log.info(`models of profile ${profile.name} are not ready (${problems[0]!.message}); fetching them ${where}`);
    await fetchProfile(config, { ...options, manifest });
  }
  const resolved = resolveProfile(config, { manifest });
  log.info(`models ready`, { profile: profile.name, stt: resolved.stt.id, llm: resolved.llm.id, tts: resolved.tts.map((t) => t.id).join(",") });
  return resolved;
}
