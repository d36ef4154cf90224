// Runs the benchmark sections against one in-process Hearth and writes the results.
import { benchConcurrency } from "./concurrency.ts";
import { benchFirstClause } from "./first-clause.ts";
import { benchListen } from "./listen.ts";
import { benchLlm } from "./llm.ts";
import { benchMemory } from "./memory.ts";
import { benchMp3Section } from "./mp3.ts";
import { benchRemote } from "./remote.ts";
import { benchSafety } from "./safety.ts";
import { benchStandin } from "./standin.ts";
import { environment, loadNow, table, writeResults, type Section } from "./report.ts";
import { setup, type BenchContext } from "./setup.ts";
import { benchStt } from "./stt.ts";
import { benchToy } from "./toy.ts";
import { benchTts } from "./tts.ts";
import { benchWarm } from "./warm.ts";
import { benchXiaozhi } from "./xiaozhi.ts";

export const SECTIONS = ["stt", "listen", "llm", "standin", "tts", "mp3", "toy", "clause", "warm", "xiaozhi", "concurrency", "memory", "safety", "remote"] as const;
export type SectionName = (typeof SECTIONS)[number];

const RUNNERS: Record<SectionName, (ctx: BenchContext) => Promise<Omit<Section, "seconds">>> = {
  stt: benchStt,
  listen: benchListen,
  llm: benchLlm,
  standin: benchStandin,
  tts: benchTts,
  mp3: benchMp3Section,
  toy: benchToy,
  clause: benchFirstClause,
  warm: benchWarm,
  xiaozhi: benchXiaozhi,
  concurrency: (ctx) => benchConcurrency(ctx),
  memory: benchMemory,
  safety: () => benchSafety(),
  remote: benchRemote,
};

const TITLES: Record<SectionName, string> = { stt: "STT", listen: "Listen", llm: "LLM", standin: "Stand-in LLM", tts: "TTS", mp3: "MP3", toy: "Toy turn", clause: "First clause", warm: "Warm prompts", xiaozhi: "xiaozhi", concurrency: "Concurrency", memory: "Memory", safety: "Safety", remote: "Remote engines" };

export interface RunOptions {
  profile: string;
  runs: number;
  only: SectionName[];
  /** Folder for latest.json / latest.md; undefined = do not write. */
  out?: string;
  audioDir?: string;
  /** Sections not yet started when this many seconds have passed are skipped (0 = no limit). */
  budgetSeconds?: number;
  log(line: string): void;
}

export async function runBench(opts: RunOptions): Promise<{ sections: Section[]; failedSections: number; files?: { json: string; md: string } }> {
  const started = performance.now();
  const env = environment(opts.profile, opts.runs);
  const ctx = await setup({ profile: opts.profile, runs: opts.runs, audioDir: opts.audioDir, log: opts.log });
  const engines = ctx.hearth.engines;
  env.models = { stt: engines.profile.stt.id, llm: engines.profile.llm.id, tts: engines.profile.tts.map((t) => t.id).join(","), vad: engines.profile.vad.id };
  env.settings = {
    "stt.threads": ctx.config.stt.threads,
    "llm.threads": ctx.config.llm.threads,
    "llm.context_size": ctx.config.llm.context_size,
    "llm.sequences": ctx.config.llm.sequences,
    "tts.threads": ctx.config.tts.threads,
    toyLayer: ctx.toy ? `started by startHearth, MQTT ${ctx.toy.mqttUrl}` : `absent (${ctx.toyProblem})`,
    speech: ctx.syntheticSpeech ? "synthesized by the profile's voice" : `${ctx.utterances.length} recorded utterances`,
  };
  const sections: Section[] = [];
  let failedSections = 0;
  try {
    for (const name of opts.only) {
      const elapsed = (performance.now() - started) / 1000;
      if (opts.budgetSeconds && elapsed > opts.budgetSeconds) {
        // A very loaded machine: keep the whole run inside its budget rather than finish every section.
        opts.log(`${TITLES[name]} skipped: ${Math.round(elapsed)} s elapsed, over the ${opts.budgetSeconds} s budget`);
        sections.push({ name: TITLES[name], rows: [{ area: TITLES[name], metric: "not run (time budget)", verdict: "SKIP" }], details: {}, notes: [`Skipped: ${Math.round(elapsed)} s had elapsed, over the ${opts.budgetSeconds} s budget (--budget).`], seconds: 0 });
        continue;
      }
      opts.log(`— ${TITLES[name]} (at ${Math.round(elapsed)} s) —`);
      const t0 = performance.now();
      const load0 = loadNow()[0]!;
      try {
        const s = await RUNNERS[name](ctx);
        sections.push({ ...s, seconds: (performance.now() - t0) / 1000, load: [load0, loadNow()[0]!] });
      } catch (e) {
        failedSections++;
        const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
        opts.log(`${TITLES[name]} failed: ${message}`);
        sections.push({ name: TITLES[name], rows: [{ area: TITLES[name], metric: "section failed", verdict: "FAIL", note: String((e as Error).message ?? e) }], details: {}, notes: [], error: (e as Error).message ?? String(e), seconds: (performance.now() - t0) / 1000 });
      }
      opts.log(`${TITLES[name]}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await ctx.close();
  }
  env.machine.loadavgEnd = loadNow();
  env.totalSeconds = (performance.now() - started) / 1000;
  const files = opts.out ? writeResults(opts.out, env, sections) : undefined;
  console.log(
    `\nHearth benchmark · profile ${env.profile} · ${env.machine.cpu}, ${env.machine.cores} cores, ${env.machine.ramGb} GB · bun ${env.versions.bun}, sherpa-onnx-node ${env.versions["sherpa-onnx-node"]}, node-llama-cpp ${env.versions["node-llama-cpp"]}, hearth ${env.versions.hearth}\n` +
      `load ${env.machine.loadavgStart.join("/")} -> ${env.machine.loadavgEnd.join("/")} · median (min–max) of ${opts.runs} runs; Ratio and Δ per round (server run and floor run back to back)\n`,
  );
  console.log(table(sections.flatMap((s) => s.rows)));
  console.log(`\n${Math.round(env.totalSeconds)} s${files ? ` · ${files.json} · ${files.md}` : ""}`);
  return { sections, failedSections, files };
}
