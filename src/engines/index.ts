// Loads every engine of a resolved model profile, with thread counts from the config.
import type { LoadedConfig } from "../config/load.ts";
import type { ResolvedProfile } from "../models/types.ts";
import { LlmEngine } from "./llm.ts";
import { SttEngine } from "./stt.ts";
import { TtsEngine } from "./tts.ts";
import { VadEngine } from "./vad.ts";

export interface Engines {
  profile: ResolvedProfile;
  stt: SttEngine;
  llm: LlmEngine;
  tts: TtsEngine;
  vad: VadEngine;
}

export async function loadEngines(config: LoadedConfig, profile: ResolvedProfile): Promise<Engines> {
  const vad = new VadEngine(profile.vad, {
    threshold: config.vad.threshold,
    minSilenceSeconds: config.vad.min_silence_seconds,
    maxSegmentSeconds: config.vad.max_segment_seconds,
  });
  // Loaded one after the other: on a Pi, parallel loads only compete for the same SD card and cores.
  const stt = await SttEngine.load(profile.stt, vad, { threads: config.stt.threads, language: config.stt.language, maxQueue: 64 });
  const llm = await LlmEngine.load(profile.llm, {
    threads: config.llm.threads,
    contextSize: config.llm.context_size,
    sequences: config.llm.sequences,
    maxQueue: config.llm.max_queue,
    maxTokens: config.llm.max_tokens,
    temperature: config.llm.temperature,
  });
  const tts = await TtsEngine.load(profile.tts, {
    threads: config.tts.threads,
    defaultVoice: config.tts.default_voice,
    voiceMap: config.tts.voice_map,
    maxQueue: 64,
  });
  return { profile, stt, llm, tts, vad };
}

export async function closeEngines(engines: Engines) {
  engines.stt.close();
  engines.tts.close();
  await engines.llm.close();
}

export type { SttEngine, LlmEngine, TtsEngine, VadEngine };
