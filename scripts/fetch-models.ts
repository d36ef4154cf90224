// `npm run setup`: installs the models of the configured profile (see docs/models.md).
// (npm finds the bun in node_modules; `bun run setup ...` works too where bun is on the PATH.)
//
//   npm run setup                            fetch what is missing (internet, or [models] from)
//   npm run setup -- --profile test --from ../shared/models
//   npm run setup -- --verify                also check every installed file's sha256
//   npm run setup -- --list                  profiles, models, sizes, what is installed
//   npm run setup -- --config /etc/hearth/config.toml
//
// Exit status: 0 ready, 1 failed (one line on stderr says why and what to do), 2 bad usage.
import { resolve } from "node:path";
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig } from "../src/config/load.ts";
import { setLogLevel } from "../src/log.ts";
import { fetchProfile } from "../src/models/fetch.ts";
import { readLock } from "../src/models/lock.ts";
import { getProfile, loadManifest, type Manifest } from "../src/models/manifest.ts";
import { formatBytes } from "../src/models/progress.ts";
import { checkModel, resolveProfile, type ModelsConfig } from "../src/models/verify.ts";

const USAGE = `usage: npm run setup -- [--profile NAME] [--from DIR] [--verify] [--list] [--config FILE]
  --profile NAME  model profile from models/manifest.json (default: [models] profile, HEARTH_MODELS_PROFILE)
  --from DIR      copy models from this folder (USB stick) instead of downloading (HEARTH_MODELS_FROM)
  --verify        check the sha256 of every installed file and reinstall damaged models
  --list          show the profiles, their models and sizes, and which are installed
  --config FILE   configuration file (default: config.toml next to the code)`;

interface Args {
  profile?: string;
  from?: string;
  verify: boolean;
  list: boolean;
  config: string;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const args: Args = { verify: false, list: false, config: DEFAULT_CONFIG_FILE };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let value: string | undefined;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const takeValue = () => {
      const v = value ?? argv[++i];
      if (v === undefined || (value === undefined && v.startsWith("--"))) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case "--profile":
        args.profile = takeValue();
        break;
      case "--from":
        args.from = takeValue();
        break;
      case "--config":
        args.config = takeValue();
        break;
      case "--verify":
        args.verify = true;
        break;
      case "--list":
        args.list = true;
        break;
      case "-h":
      case "--help":
        console.log(USAGE);
        process.exit(0);
      default:
        throw new UsageError(`unknown argument ${arg}`);
    }
  }
  return args;
}

function list(config: ModelsConfig, manifest: Manifest): void {
  const lock = readLock(config.models.dir);
  console.log(`Model profiles (models folder: ${config.models.dir}${config.models.from ? `, source: ${config.models.from}` : ""}):`);
  for (const name of Object.keys(manifest.profiles)) {
    const profile = getProfile(manifest, name);
    const total = profile.models.reduce((n, m) => n + m.size, 0);
    const mark = name === config.models.profile ? "*" : " ";
    console.log(`\n${mark} ${name}  ~${formatBytes(total)}  ${profile.description}${name === manifest.default ? " (default)" : ""}`);
    for (const m of profile.models) {
      const problems = checkModel(config.models.dir, m, lock.models[m.id]);
      const reason = problems[0]?.reason;
      const state =
        reason === undefined ? "installed"
        : reason === "not-installed" ? "not installed"
        : reason === "not-locked" ? "not recorded (run setup)"
        : reason === "not-pinned-file" ? "not the pinned file (run setup)"
        : "damaged";
      const origin = m.url ? "" : "  (local only)";
      console.log(`    ${m.kind.padEnd(3)}  ${(m.voice ? `${m.id} [${m.voice}]` : m.id).padEnd(40)} ${`~${formatBytes(m.size)}`.padStart(9)}  ${state}${origin}`);
    }
  }
  console.log(`\n* = configured profile (${config.models.profile})`);
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  try {
    const config = loadConfig(args.config);
    setLogLevel(config.log.level);
    if (args.profile) config.models.profile = args.profile;
    if (args.from !== undefined) config.models.from = args.from ? resolve(args.from) : "";
    const manifest = loadManifest();
    if (args.list) {
      list(config, manifest);
      return 0;
    }
    const started = Date.now();
    const report = await fetchProfile(config, { manifest, verify: args.verify });
    const resolved = resolveProfile(config, { manifest });
    for (const m of report.models) {
      const what = m.action === "present" ? (args.verify ? "verified" : "present") : m.action;
      console.log(`  ${m.kind.padEnd(3)}  ${m.id.padEnd(40)} ${what}${m.source ? ` from ${m.source}` : ""}`);
    }
    const changed = report.models.filter((m) => m.action !== "present").length;
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `profile ${resolved.name} is ready in ${report.modelsDir}` +
        (changed ? ` (${changed} model${changed > 1 ? "s" : ""} installed in ${secs} s)` : args.verify ? " (all files match their sha256)" : " (nothing to do)"),
    );
    return 0;
  } catch (e) {
    const err = e as Error;
    if (err instanceof ConfigError || err.name === "ModelError") console.error(`error: ${err.message}`);
    else console.error(`error: ${err.stack ?? err.message}`);
    return 1;
  }
}

process.exit(await main());
