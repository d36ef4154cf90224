// `bun run bench`: Hearth against its floors (the same models called directly), one table,
// results in bench/results/latest.{json,md}. See bench/README.md.
//
//   bun run bench [--profile test|pi] [--runs 5] [--only stt,llm,tts,mp3,toy,concurrency,memory]
//                 [--out bench/results] [--no-write] [--audio DIR] [--budget SECONDS]
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { runBench, SECTIONS, type SectionName } from "../bench/run.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    profile: { type: "string", default: "test" },
    runs: { type: "string", default: "5" },
    only: { type: "string" },
    out: { type: "string" },
    "no-write": { type: "boolean", default: false },
    audio: { type: "string" },
    budget: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(`usage: bun run bench [--profile test|pi] [--runs N] [--only ${SECTIONS.join(",")}] [--out DIR] [--no-write] [--audio DIR] [--budget SECONDS]

  --profile   model profile (default test: the fixture models from HEARTH_MODELS_FROM or ../shared/models)
  --runs      measured runs per figure, after one warm-up (default 5)
  --only      comma-separated sections (default: all)
  --out       where latest.json and latest.md go (default bench/results; a partial run (--only) writes nothing unless --out is given)
  --audio     folder with transcripts.tsv + uttNN.wav (default HEARTH_BENCH_AUDIO or ../shared/audio; without one, speech is synthesized)
  --budget    seconds after which sections not yet started are skipped (default 1200 on the test profile, none otherwise)
Other settings come from config.toml and HEARTH_* variables (e.g. HEARTH_LLM_THREADS=4).`);
  process.exit(0);
}

const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a positive integer, got ${values.runs}`);
  process.exit(2);
}
const only = (values.only ? values.only.split(",").map((s) => s.trim()).filter(Boolean) : [...SECTIONS]) as SectionName[];
const unknown = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
if (unknown.length) {
  console.error(`unknown section(s) ${unknown.join(", ")}; sections are ${SECTIONS.join(", ")}`);
  process.exit(2);
}
const out = values["no-write"] ? undefined : values.out ? resolve(values.out) : values.only ? undefined : resolve(import.meta.dir, "../bench/results");

try {
  const { failedSections } = await runBench({
    profile: values.profile!,
    runs,
    only,
    out,
    audioDir: values.audio,
    budgetSeconds: values.budget !== undefined ? Number(values.budget) : values.profile === "test" ? 1200 : 0,
    log: (line) => console.error(`bench: ${line}`),
  });
  // Targets are reported, not asserted: only a section that could not run fails the command.
  process.exit(failedSections ? 1 : 0);
} catch (e) {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
}
