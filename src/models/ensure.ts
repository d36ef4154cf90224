// What `npm start` calls: the profile's models, fetched first if any is missing or damaged.
import { ConfigError } from "../config/load.ts";
import { logger } from "../log.ts";
import { ModelError } from "./errors.ts";
import type { ModelFetchTracker } from "./fetch-status.ts";
import { fetchProfile, type FetchOptions } from "./fetch.ts";
import { progressFactory } from "./progress.ts";
import { getProfile, loadManifest, type Profile } from "./manifest.ts";
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
  checkSttLanguage(config, profile); // before any download: a wrong setting should not cost one
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

export interface PatientOptions extends FetchOptions {
  /** Wait before the first new try of a failed fetch (default 30 s), doubled each time up to 5 min. */
  retryAfterMs?: number;
}

const MAX_RETRY_WAIT_MS = 5 * 60_000;

/**
 * As ensureModels, for a starting appliance: the tracker follows the fetch (the console's Status
 * page shows it), and a fetch that failed for a reason time can fix (no internet yet, the USB
 * stick not plugged in) is tried again after a pause, until it works or `signal` aborts. Other
 * failures (a setting to correct) are thrown as before.
 */
export async function ensureModelsPatiently(config: ModelsConfig, tracker: ModelFetchTracker, options: PatientOptions = {}): Promise<ResolvedProfile> {
  const source = config.models.from || "the internet";
  const progress = progressFactory(options.progress ?? "auto");
  let waitMs = options.retryAfterMs ?? 30_000;
  for (;;) {
    tracker.start(config.models.profile, source);
    try {
      const profile = await ensureModels(config, { ...options, progress: tracker.progress(progress), observer: tracker });
      tracker.finished();
      return profile;
    } catch (e) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (!(e instanceof ModelError) || !e.retryable) {
        if (e instanceof ModelError) tracker.failed(e);
        throw e;
      }
      tracker.failed(e, Date.now() + waitMs);
      log.error(`${e.message}. Trying again in ${Math.round(waitMs / 1000)} s (the console's Status page shows the download)`);
      await sleep(waitMs, options.signal);
      waitMs = Math.min(MAX_RETRY_WAIT_MS, waitMs * 2);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/**
 * [stt] language must be "auto" or a language the profile's speech model transcribes. Throws
 * ConfigError (Hearth exits with 78: fix the file) naming the allowed values.
 */
export function checkSttLanguage(config: ModelsConfig, profile: Profile): void {
  const language = config.stt?.language;
  if (language === undefined || language === "auto" || config.stt?.backend === "remote") return;
  const allowed = profile.stt.languages ?? [];
  if (allowed.includes(language)) return;
  throw new ConfigError(
    `[stt] language = "${language}" is not a language the speech model of profile "${profile.name}" (${profile.stt.id}) transcribes: ` +
      `use "auto" or one of ${allowed.map((l) => `"${l}"`).join(", ")} (config.toml, or HEARTH_STT_LANGUAGE)`,
  );
}
