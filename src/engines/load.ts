// Loads the backend of every engine, each chosen by its section's `backend`: "local" (a resolved
// model profile, thread counts from the config) or "remote" (OpenAI-compatible servers, see
// engines/remote). Local backends are imported only when used: a front end whose engines are all
// remote loads no language model runtime, recognizer or voice (a Pi Zero-class board is enough).
import type { LoadedConfig } from "../config/load.ts";
import type { ResolvedProfile } from "../models/types.ts";
import { RemoteLlm } from "./llm/remote.ts";
import type { UpstreamPool } from "./remote/pool.ts";
import type { UpstreamStatus } from "./remote/upstream.ts";
import { RemoteStt } from "./stt/remote.ts";
import { RemoteTts } from "./tts/remote.ts";
import type { Engines, Llm, Stt, Tts, Vad } from "./types.ts";

export type { Engines };

export async function loadEngines(config: LoadedConfig, profile: ResolvedProfile): Promise<Engines> {
  // Loaded one after the other: on a Pi, parallel loads only compete for the same SD card and cores.
  let vad: Vad | undefined;
  let stt: Stt;
  if (config.stt.backend === "remote") {
    stt = await RemoteStt.load({ ...remote(config.stt), language: config.stt.language, maxQueue: 64 });
  } else {
    const { SileroVad } = await import("./vad/silero.ts");
    const { SherpaStt } = await import("./stt/sherpa.ts");
    vad = new SileroVad(profile.vad, {
      threshold: config.vad.threshold,
      minSilenceSeconds: config.vad.min_silence_seconds,
      maxSegmentSeconds: config.vad.max_segment_seconds,
    });
    stt = await SherpaStt.load(profile.stt, vad, { threads: config.stt.threads, language: config.stt.language, maxQueue: 64 });
  }
  const llmSettings = {
    contextSize: config.llm.context_size,
    sequences: config.llm.sequences,
    maxQueue: config.llm.max_queue,
    maxTokens: config.llm.max_tokens,
    temperature: config.llm.temperature,
  };
  let llm: Llm;
  if (config.llm.backend === "remote") {
    llm = await RemoteLlm.load({ ...remote(config.llm), ...llmSettings });
  } else {
    const { LlamaCppLlm } = await import("./llm/llama.ts");
    llm = await LlamaCppLlm.load(profile.llm, { threads: config.llm.threads, ...llmSettings });
  }
  let tts: Tts;
  if (config.tts.backend === "remote") {
    tts = await RemoteTts.load({ ...remote(config.tts), maxQueue: 64 });
  } else {
    const { SherpaTts } = await import("./tts/sherpa.ts");
    tts = await SherpaTts.load(profile.tts, { threads: config.tts.threads, maxQueue: 64 });
  }
  return { profile, stt, llm, tts, vad };
}

function remote(section: { urls: string[]; api_key: string; model: string; timeout_seconds: number }) {
  return { urls: section.urls, apiKey: section.api_key, model: section.model, timeoutMs: section.timeout_seconds * 1000 };
}

export async function closeEngines(engines: Engines) {
  engines.stt.close();
  engines.tts.close();
  await engines.llm.close();
}

/**
 * The upstreams of the remote engines, for /health: each one's state, and a problem per engine
 * none of whose upstreams is reachable. Undefined when every engine is local.
 */
export function remoteHealth(engines: Pick<Engines, "stt" | "llm" | "tts">): { upstreams: Record<string, UpstreamStatus[]>; problems: string[] } | undefined {
  const { stt, llm, tts } = engines;
  const pools: UpstreamPool[] = [];
  if (stt instanceof RemoteStt) pools.push(stt.pool);
  if (llm instanceof RemoteLlm) pools.push(llm.pool);
  if (tts instanceof RemoteTts) pools.push(tts.pool);
  if (!pools.length) return undefined;
  return {
    upstreams: Object.fromEntries(pools.map((pool) => [pool.engine, pool.status()])),
    problems: pools.filter((pool) => !pool.available()).map((pool) => `${pool.engine}: no server is up (${pool.upstreams.map((u) => u.lastError ?? u.url).join("; ")})`),
  };
}
