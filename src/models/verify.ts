// Is a profile's set of models installed and intact? Quick check (every start): the files the
// manifest names exist and every file has the size the lock recorded. Full check
// (`npm run setup -- --verify`): also the sha256 of every file. resolveProfile turns an intact
// profile into absolute paths for the engines, or throws one ModelError saying what to run.
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEFAULT_CONFIG_FILE } from "../config/load.ts";
import { ModelError, type ModelProblem } from "./errors.ts";
import { readLock, sha256File, type LockEntry, type LockedFile } from "./lock.ts";
import { getProfile, loadManifest, pinOf, requiredPaths, type Manifest, type ModelEntry, type Profile } from "./manifest.ts";
import type { ResolvedProfile, SttModelType, TtsModelType } from "./types.ts";

/** The part of the configuration the model layer reads (a LoadedConfig fits). */
export interface ModelsConfig {
  models: { profile: string; from: string; dir: string };
  /** [stt] language, checked against the profile's STT model by ensureModels (a LoadedConfig has it). */
  stt?: { language: string; backend?: string };
  /** An engine with backend "remote" runs on another machine: its models are not needed here (localModels). */
  llm?: { backend?: string };
  tts?: { backend?: string };
  /** The config file it was read from, when not the default one (named in fix commands). */
  file?: string;
}

export interface VerifyOptions {
  manifest?: Manifest;
  /** Also compare sha256 of every file with the lock (slow on a Pi: reads every byte). */
  full?: boolean;
}

export function modelFolder(modelsDir: string, entry: ModelEntry): string {
  return join(resolve(modelsDir), entry.id);
}

/** Quick check of one installed model against the manifest and its lock entry (stat only). */
export function checkModel(modelsDir: string, entry: ModelEntry, lockEntry: LockEntry | undefined): ModelProblem[] {
  const root = modelFolder(modelsDir, entry);
  const problem = (path: string, reason: ModelProblem["reason"], message: string): ModelProblem => ({ model: entry.id, kind: entry.kind, path, reason, message });
  if (!isDir(root)) return [problem(root, "not-installed", `${entry.kind} model ${entry.id} is not installed (no folder ${root})`)];
  const problems: ModelProblem[] = [];
  const seen = new Set<string>();
  for (const req of requiredPaths(entry)) {
    const abs = join(root, req.path);
    seen.add(req.path);
    if (!existsSync(abs)) problems.push(problem(abs, "missing", `${entry.kind} model file ${abs} is missing`));
    else if (req.folder && !isDir(abs)) problems.push(problem(abs, "not-a-folder", `${abs} should be a folder`));
    else if (!req.folder && !isFile(abs)) problems.push(problem(abs, "not-a-file", `${abs} should be a file`));
  }
  if (!lockEntry) {
    problems.push(problem(root, "not-locked", `${entry.kind} model ${entry.id} in ${root} was not installed by setup (it has no entry in models.lock.json)`));
    return problems;
  }
  for (const [rel, locked] of Object.entries(lockEntry.files)) {
    const abs = join(root, ...rel.split("/"));
    let size: number;
    try {
      size = statSync(abs).size;
    } catch {
      if (!seen.has(rel)) problems.push(problem(abs, "missing", `${entry.kind} model file ${abs} is missing`));
      continue;
    }
    if (size !== locked.size) problems.push(problem(abs, "wrong-size", `${entry.kind} model file ${abs} is damaged (${size} bytes, expected ${locked.size})`));
  }
  const installedFrom = pinnedHashOf(entry, lockEntry);
  const pin = pinOf(entry);
  if (pin && installedFrom && installedFrom.sha256 !== pin.sha256) {
    // Installed before the manifest pinned this file, or from another version: not the file the manifest names.
    problems.push(
      problem(root, "not-pinned-file", `${entry.kind} model ${entry.id} in ${root} was installed from a file with sha256 ${installedFrom.sha256}, not the one the manifest pins (${pin.sha256})`),
    );
  }
  return problems;
}

/** What the lock recorded for the file a pin is about: the archive, or the single file; null when unknown (installed from an unpacked folder). */
function pinnedHashOf(entry: ModelEntry, lockEntry: LockEntry): LockedFile | null {
  if (entry.archive === "tar.bz2") return lockEntry.archive ?? null;
  return lockEntry.files[requiredPaths(entry)[0]!.path] ?? null;
}

/** Quick check plus the sha256 of every locked file. */
export async function checkModelFull(modelsDir: string, entry: ModelEntry, lockEntry: LockEntry | undefined): Promise<ModelProblem[]> {
  const problems = checkModel(modelsDir, entry, lockEntry);
  if (problems.length || !lockEntry) return problems;
  const root = modelFolder(modelsDir, entry);
  for (const [rel, locked] of Object.entries(lockEntry.files)) {
    const abs = join(root, ...rel.split("/"));
    if ((await sha256File(abs)) !== locked.sha256) {
      problems.push({ model: entry.id, kind: entry.kind, path: abs, reason: "checksum", message: `${entry.kind} model file ${abs} is damaged (its sha256 differs from the one recorded at install)` });
    }
  }
  return problems;
}

/** Problems of the configured profile's models; [] when all are installed and intact. */
export async function verifyProfile(config: ModelsConfig, options: VerifyOptions = {}): Promise<ModelProblem[]> {
  const profile = getProfile(options.manifest ?? loadManifest(), config.models.profile);
  const lock = readLock(config.models.dir);
  const problems: ModelProblem[] = [];
  for (const entry of localModels(config, profile)) {
    const lockEntry = lock.models[entry.id];
    problems.push(...(options.full ? await checkModelFull(config.models.dir, entry, lockEntry) : checkModel(config.models.dir, entry, lockEntry)));
  }
  return problems;
}

/** Synchronous quick check of a whole profile (what resolveProfile runs). */
export function checkProfile(config: ModelsConfig, profile: Profile): ModelProblem[] {
  const lock = readLock(config.models.dir);
  return localModels(config, profile).flatMap((entry) => checkModel(config.models.dir, entry, lock.models[entry.id]));
}

/**
 * The profile's models this device needs: an engine with backend = "remote" runs on another
 * machine, so its models are neither fetched nor checked. The VAD (2 MB) always stays: live
 * audio (xiaozhi devices) is cut into turns here whatever recognizes it.
 */
export function localModels(config: ModelsConfig, profile: Profile): ModelEntry[] {
  const remote = new Set<string>();
  if (config.llm?.backend === "remote") remote.add("llm");
  if (config.stt?.backend === "remote") remote.add("stt");
  if (config.tts?.backend === "remote") remote.add("tts");
  return profile.models.filter((m) => !remote.has(m.kind));
}

/**
 * The configured profile with absolute paths, after a quick check. Throws ModelError with one
 * message naming the first missing or damaged file and the command that fixes it.
 */
export function resolveProfile(config: ModelsConfig, options: { manifest?: Manifest } = {}): ResolvedProfile {
  const manifest = options.manifest ?? loadManifest();
  const profile = getProfile(manifest, config.models.profile);
  const problems = checkProfile(config, profile);
  if (problems.length) throw notReadyError(config, profile, problems);
  return toResolvedProfile(profile, config.models.dir);
}

/** The ModelError for a profile with problems: first problem, how many more, the fix command. */
export function notReadyError(config: ModelsConfig, profile: Profile, problems: ModelProblem[]): ModelError {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? "s" : ""})` : "";
  const fixtureOnly = !config.models.from && profile.models.some((m) => !m.url && problems.some((p) => p.model === m.id));
  const hint = fixtureOnly ? "; local-only models need HEARTH_MODELS_FROM set to the folder that holds them" : "";
  return new ModelError(`models of profile "${profile.name}" are not ready: ${first.message}${more}${hint}`, {
    fix: setupCommand(config, { from: fixtureOnly ? "/path/to/models" : undefined }),
    problems,
  });
}

/**
 * The exact setup command for this configuration, e.g. `HEARTH_MODELS_FROM=/media/usb npm run setup -- --profile test`.
 * npm, not bun: a machine with only Node.js and npm has no `bun` on its PATH (npm scripts find the one in node_modules).
 */
export function setupCommand(config: ModelsConfig, options: { from?: string; verify?: boolean } = {}): string {
  const parts: string[] = [];
  const from = options.from ?? config.models.from;
  if (from) parts.push(`HEARTH_MODELS_FROM=${shellQuote(from)}`);
  parts.push("npm run setup");
  const args: string[] = [];
  if (config.file && resolve(config.file) !== DEFAULT_CONFIG_FILE) args.push(`--config ${shellQuote(config.file)}`);
  if (config.models.profile !== "pi") args.push(`--profile ${shellQuote(config.models.profile)}`);
  if (options.verify) args.push("--verify");
  if (args.length) parts.push("--", ...args);
  return parts.join(" ");
}

/** Absolute paths by role, the way the engines take them (several files joined with ","). */
export function absoluteFiles(root: string, entry: ModelEntry): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [role, value] of Object.entries(entry.files)) {
    out[role] = (Array.isArray(value) ? value : [value]).map((p) => join(root, p)).join(",");
  }
  return out;
}

export function toResolvedProfile(profile: Profile, modelsDir: string): ResolvedProfile {
  const files = (e: ModelEntry) => absoluteFiles(modelFolder(modelsDir, e), e);
  const { stt, llm, vad } = profile;
  return {
    name: profile.name,
    stt: { id: stt.id, type: stt.type as SttModelType, files: files(stt), languages: stt.languages!, windowSeconds: stt.windowSeconds! },
    llm: { id: llm.id, file: files(llm).model! },
    vad: { id: vad.id, file: files(vad).model! },
    tts: profile.tts.map((t) => ({ id: t.voice ?? t.id, type: t.type as TtsModelType, files: files(t), language: t.language!, speakers: t.speakers! })),
  };
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
