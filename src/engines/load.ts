// Loads the backend of every engine for a resolved model profile, with thread counts from the config.
import type { LoadedConfig } from "../config/load.ts";
import type { ResolvedProfile } from "../models/types.ts";
import { LlamaCppLlm } from "./llm/llama.ts";
import { SherpaStt } from "./stt/sherpa.ts";
import { SherpaTts } from "./tts/sherpa.ts";
import type { Engines } from "./types.ts";
import { SileroVad } from "./vad/silero.ts";

export type { Engines };

export async function loadEngines(config: LoadedConfig, profile: ResolvedProfile): Promise<Engines> {
  const vad = new SileroVad(profile.vad, {
    threshold: config.vad.threshold,
    minSilenceSeconds: config.vad.min_silence_seconds,
    maxSegmentSeconds: config.vad.max_segment_seconds,
  });
  // Loaded one after the other: on a Pi, parallel loads only compete for the same SD card and cores.
  const stt = await SherpaStt.load(profile.stt, vad, { threads: config.stt.threads, language: config.stt.language, maxQueue: 64 });
  const llm = await LlamaCppLlm.load(profile.llm, {
    threads: config.llm.threads,
    contextSize: config.llm.context_size,
    sequences: config.llm.sequences,
    maxQueue: config.llm.max_queue,
    maxTokens: config.llm.max_tokens,
    temperature: config.llm.temperature,
  });
  const tts = await SherpaTts.load(profile.tts, { threads: config.tts.threads, maxQueue: 64 });
  return { profile, stt, llm, tts, vad };
}

export async function closeEngines(engines: Engines) {
  engines.stt.close();
  engines.tts.close();
  await engines.llm.close();
}
