// One real Hearth for the whole run (startHearth, free ports, a temporary state folder), its
// config, the floors, the speech samples, and the toy layer when it is there.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startHearth, type Hearth } from "../src/app.ts";
import { loadConfig, type LoadedConfig } from "../src/config/load.ts";
import { decodeWav, encodeWav } from "../src/audio/wav.ts";
import { resample } from "../src/audio/resample.ts";
import { collectAudio } from "../src/pipeline/speak.ts";
import { getProfile, loadManifest } from "../src/models/manifest.ts";
import { checkProfile } from "../src/models/verify.ts";
import { floorRecognizer, floorTranscribe, FloorLlm } from "./floor.ts";
import { buildMessages } from "../src/pipeline/prompt.ts";
import type { ChatMessage } from "../src/engines/types.ts";

export const ROOT = resolve(import.meta.dir, "..");
export const SHARED = resolve(ROOT, "../shared");

/** What the role used by the toy benchmarks always answers (a GBNF grammar pins it): three sentences, three different lengths. */
export const REPLY_SENTENCES = [
  "Once upon a time a brave little rabbit lived at the edge of a big green forest.",
  "Every morning he hopped down to the river to drink.",
  "One day he found a shiny red apple under an old oak tree and shared it with all of his friends.",
];
export const REPLY = REPLY_SENTENCES.join(" ");
export const BENCH_ROLE = {
  start_text: "Hi! Let's talk.",
  prompt: "You are a friendly rabbit who tells short stories.",
  // No history: every measured turn sends the same prompt shape, so rounds are comparable.
  max_message_count: 0,
  language: "en",
  // Greedy: the same tokens every turn (the random test model otherwise takes a different path through the grammar each time).
  temperature: 0,
  grammar: `root ::= ${JSON.stringify(REPLY)}`,
};

export interface Utterance {
  name: string;
  file: string;
  /** 16 kHz mono. */
  samples: Float32Array;
  seconds: number;
  reference: string;
  wav: Uint8Array;
}

export interface ToyHandle {
  mqttUrl: string;
  /** The toy layer's own turn records (timings per stage), newest first. */
  recentTurns: (limit?: number) => any[];
}

export interface BenchContext {
  profile: string;
  runs: number;
  warmup: number;
  config: LoadedConfig;
  /** HEARTH_* variables this run's Hearth was configured with (the memory benchmark gives them to its child). */
  env: Record<string, string>;
  hearth: Hearth;
  utterances: Utterance[];
  /** True when the utterances were synthesized with the profile's own voice (no speech folder found). */
  syntheticSpeech: boolean;
  recognizer: any;
  floorLlm: FloorLlm;
  toy?: ToyHandle;
  toyProblem?: string;
  log(line: string): void;
  close(): Promise<void>;
}

const DEFAULT_TRANSCRIPTS: [string, string][] = [
  ["utt01.wav", "Hello, can you tell me a story about a brave little rabbit?"],
  ["utt02.wav", "What is the weather like today?"],
  ["utt03.wav", "Please set a timer for ten minutes."],
  ["utt04.wav", "How many legs does a spider have?"],
  ["utt05.wav", "Can you sing me a song about the ocean?"],
  ["utt06.wav", "Why is the sky blue during the day?"],
  ["utt07.wav", "Let's play a counting game together."],
  ["utt08.wav", "What sound does a cow make?"],
];

export interface SetupOptions {
  profile: string;
  runs: number;
  audioDir?: string;
  log(line: string): void;
}

/** HEARTH_* overrides: the user's own (e.g. HEARTH_LLM_THREADS), then what a bench run needs. */
export function benchEnv(profile: string, stateDir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith("HEARTH_") && v !== undefined) env[k] = v;
  // Not config keys: read by test/support/hearth.ts and by this bench only.
  delete env.HEARTH_TEST_MODELS_DIR;
  delete env.HEARTH_BENCH_AUDIO;
  Object.assign(env, {
    HEARTH_MODELS_PROFILE: profile,
    HEARTH_STATE_DIR: stateDir,
    HEARTH_HTTP_HOST: "127.0.0.1",
    HEARTH_HTTP_PORT: "0",
    HEARTH_HTTP_API_KEYS: "",
    HEARTH_MQTT_PORT: "0",
    HEARTH_MQTT_URL: "",
    HEARTH_TOY_UDP_PORT: "0",
    HEARTH_TOY_ADVERTISE_HOST: "127.0.0.1",
    HEARTH_TOY_INTEGRATION_MIRROR: "true",
    HEARTH_LOG_LEVEL: process.env.HEARTH_LOG_LEVEL ?? "warn",
  });
  if (profile === "test") {
    // As test/support/hearth.ts: fixtures copied once from ../shared/models into a temp folder.
    env.HEARTH_MODELS_FROM = resolve(process.env.HEARTH_MODELS_FROM ?? join(SHARED, "models"));
    env.HEARTH_MODELS_DIR = resolve(process.env.HEARTH_MODELS_DIR ?? process.env.HEARTH_TEST_MODELS_DIR ?? join(tmpdir(), "hearth-test-models"));
  }
  return env;
}

export async function setup(opts: SetupOptions): Promise<BenchContext> {
  const stateDir = mkdtempSync(join(tmpdir(), "hearth-bench-"));
  const env = benchEnv(opts.profile, stateDir);
  const config = loadConfig(undefined, env);
  if (!config.models.from) {
    // Never start a 700 MB download from a benchmark.
    const problems = checkProfile(config, getProfile(loadManifest(), opts.profile));
    if (problems.length) {
      rmSync(stateDir, { recursive: true, force: true });
      throw new Error(`models of profile "${opts.profile}" are not installed in ${config.models.dir} (${problems[0]!.message}). Run "bun run setup" first, or set HEARTH_MODELS_FROM.`);
    }
  }
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(config.toy.roles_file, JSON.stringify({ "1": BENCH_ROLE }, null, 2) + "\n");

  opts.log(`starting Hearth (profile ${opts.profile}, models in ${config.models.dir})`);
  const hearth = await startHearth(config);
  const engines = hearth.engines;
  const recognizer = floorRecognizer(engines.profile.stt, config.stt.threads, config.stt.language);
  const floorLlm = await FloorLlm.load(engines.profile.llm, { threads: config.llm.threads, contextSize: config.llm.context_size, sequences: config.llm.sequences });

  const { utterances, synthetic } = await loadUtterances(opts.audioDir, hearth);
  const ctx: BenchContext = {
    profile: opts.profile,
    runs: opts.runs,
    warmup: 1,
    config,
    env,
    hearth,
    utterances,
    syntheticSpeech: synthetic,
    recognizer,
    floorLlm,
    log: opts.log,
    async close() {
      await floorLlm.close().catch(() => {});
      await hearth.stop().catch(() => {});
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  try {
    ctx.toy = toyLayer(hearth);
  } catch (e) {
    ctx.toyProblem = (e as Error).message;
  }
  return ctx;
}

/** The toy layer startHearth started (src/app.ts): its embedded MQTT broker and its turn records. */
function toyLayer(hearth: Hearth): ToyHandle {
  const toy = hearth.folotoy;
  if (!toy || !(toy.mqttPort > 0)) throw new Error("startHearth returned no FoloToy front end (src/app.ts does not start it)");
  return { mqttUrl: `mqtt://127.0.0.1:${toy.mqttPort}`, recentTurns: (n) => hearth.pipeline.conversations.turns({ limit: n }) };
}

/**
 * Real speech: HEARTH_BENCH_AUDIO / --audio, else ../shared/audio (transcripts.tsv + WAVs). On a
 * Pi without that folder, the utterances are spoken by the profile's own voice instead (a real
 * voice on the pi profile), resampled to 16 kHz.
 */
async function loadUtterances(audioDir: string | undefined, hearth: Hearth): Promise<{ utterances: Utterance[]; synthetic: boolean }> {
  const dir = audioDir ?? process.env.HEARTH_BENCH_AUDIO ?? join(SHARED, "audio");
  const tsv = join(dir, "transcripts.tsv");
  if (existsSync(tsv)) {
    const lines = readFileSync(tsv, "utf8").trim().split("\n").map((l) => l.split("\t") as [string, string]);
    const utterances = lines
      .filter(([name]) => /^utt\d+\.wav$/.test(name) && existsSync(join(dir, name)))
      .map(([name, reference]) => {
        const wav = new Uint8Array(readFileSync(join(dir, name)));
        const d = decodeWav(wav);
        const samples = d.sampleRate === 16000 ? d.samples : resample(d.samples, d.sampleRate, 16000);
        return { name, file: join(dir, name), samples, seconds: samples.length / 16000, reference, wav };
      });
    if (utterances.length) return { utterances, synthetic: false };
  }
  const out = mkdtempSync(join(tmpdir(), "hearth-bench-speech-"));
  const utterances: Utterance[] = [];
  for (const [name, reference] of DEFAULT_TRANSCRIPTS) {
    const audio = await collectAudio(hearth.engines.tts.synthesize(reference, { voice: hearth.pipeline.voices.resolve() }));
    if (!audio) continue;
    const samples = resample(audio.samples, audio.sampleRate, 16000);
    const wav = encodeWav(samples, 16000);
    const file = join(out, name);
    writeFileSync(file, wav);
    utterances.push({ name, file, samples, seconds: samples.length / 16000, reference, wav });
  }
  return { utterances, synthetic: true };
}


/**
 * The first steps of a turn's floor, shared by the toy and xiaozhi sections: the utterance through
 * the recognizer alone, then the prompt the pipeline would build for it with BENCH_ROLE.
 */
export async function floorPrompt(ctx: BenchContext, u: Utterance): Promise<{ stt: { text: string; ms: number }; messages: ChatMessage[] }> {
  const stt = await floorTranscribe(ctx.recognizer, u.samples);
  const { messages } = buildMessages({
    role: BENCH_ROLE,
    systemPrompt: ctx.config.toy.system_prompt,
    history: [],
    transcript: stt.text || u.reference,
    countTokens: (t) => ctx.hearth.engines.llm.countTokens(t),
    budgetTokens: 1e9,
  });
  return { stt, messages };
}
