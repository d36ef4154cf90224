// Thread counts from the cores the board has. STT, the LLM and TTS run at the same time when
// several toys talk at once, and llama.cpp slows down many times over when its threads outnumber
// the free cores (it waits on the slowest thread), so "auto" splits the cores instead of giving
// each engine all of them: half to the LLM, a quarter each to STT and TTS, at least 1 each.
import { availableParallelism } from "node:os";
import type { Config } from "./schema.ts";

export function autoThreads(cores: number): { stt: number; llm: number; tts: number } {
  return { llm: Math.max(1, Math.floor(cores / 2)), stt: Math.max(1, Math.floor(cores / 4)), tts: Math.max(1, Math.floor(cores / 4)) };
}

export function resolveThreads(config: { [E in "stt" | "llm" | "tts"]: { threads: Config[E]["threads"]; [other: string]: unknown } }, cores = availableParallelism()): { stt: number; llm: number; tts: number } {
  const auto = autoThreads(cores);
  const pick = (value: number | "auto", fallback: number) => (value === "auto" ? fallback : value);
  return { stt: pick(config.stt.threads, auto.stt), llm: pick(config.llm.threads, auto.llm), tts: pick(config.tts.threads, auto.tts) };
}
