// Installs the models of a profile into <models.dir>/<id>/: from a local folder when
// [models] from / HEARTH_MODELS_FROM is set, else from each model's URL. Every install is
// staged in <models.dir>/.staging and moved into place with one rename, then recorded in
// models.lock.json: a crash leaves the old state (or a .part download to resume), never half a model.
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, open, readdir, rename, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { logger } from "../log.ts";
import { downloadFile, type DownloadOptions } from "./download.ts";
import { ModelError, type ModelProblem } from "./errors.ts";
import type { FetchObserver } from "./fetch-status.ts";
import { describeFolder, readLock, writeLockEntry, type LockEntry } from "./lock.ts";
import { downloadName, getProfile, loadManifest, pinOf, requiredPaths, type Manifest, type ModelEntry, type ModelKind } from "./manifest.ts";
import { checkPinnedFile, checkPinnedHash, checkPinnedSize, type PinSource } from "./pin.ts";
import { formatBytes, progressFactory, type ProgressFactory, type ProgressMode } from "./progress.ts";
import { checkSourceFolder, findLocalSource } from "./source.ts";
import { checkTarTools, unpackTarBz2 } from "./unpack.ts";
import { checkModel, checkModelFull, localModels, modelFolder, setupCommand, type ModelsConfig } from "./verify.ts";

export interface FetchOptions {
  /** The manifest (default: models/manifest.json). */
  manifest?: Manifest;
  /** Check installed models by sha256, not just by size, and reinstall damaged ones. */
  verify?: boolean;
  /** Progress display (default "auto": a bar on a terminal, log lines otherwise). */
  progress?: ProgressMode | ProgressFactory;
  /** Download tuning (retries, timeouts, fetch implementation). */
  download?: Omit<DownloadOptions, "progress" | "label" | "approxSize" | "signal" | "onRetry">;
  /** Told which models are fetched, of retried downloads and of failures (the console's Status page). */
  observer?: FetchObserver;
  signal?: AbortSignal;
}

export interface FetchedModel {
  id: string;
  kind: ModelKind;
  /** present: already installed and intact; adopted: files were in place, now recorded in the lock;
   *  installed: fetched; repaired: fetched again because the installed copy was damaged. */
  action: "present" | "adopted" | "installed" | "repaired";
  /** URL or local path it was installed from (null when present). */
  source: string | null;
  /** What was wrong before (for repaired). */
  problems: ModelProblem[];
}

export interface FetchReport {
  profile: string;
  modelsDir: string;
  models: FetchedModel[];
}

const log = logger("models");
const STAGING = ".staging";
const TRASH = ".trash";
const DOWNLOADS = ".downloads";
const PROCESS_LOCK = ".fetch.lock";

/** Makes every model of the configured profile present and intact. Throws ModelError. */
export async function fetchProfile(config: ModelsConfig, options: FetchOptions = {}): Promise<FetchReport> {
  const manifest = options.manifest ?? loadManifest();
  const profile = getProfile(manifest, config.models.profile);
  const modelsDir = resolve(config.models.dir);
  const from = config.models.from ? resolve(config.models.from) : "";
  try {
    await mkdir(modelsDir, { recursive: true });
  } catch (e) {
    throw new ModelError(`cannot create the models folder ${modelsDir} ([models] dir): ${(e as Error).message}`);
  }
  const release = await acquireProcessLock(modelsDir);
  try {
    await cleanStale(modelsDir);
    const progress = progressFactory(options.progress ?? "auto");
    const ctx: Context = { config, modelsDir, from, progress, options };
    // First what each model needs, so that a model that cannot be had fails the run before any long copy or download.
    const plans: Plan[] = [];
    for (const entry of localModels(config, profile)) plans.push(await plan(entry, ctx));
    const needed = plans.filter((p) => p.problems.length > 0 && !p.adopt);
    if (from && needed.length) checkSourceFolder(from); // only when something is needed: an unplugged stick is fine otherwise
    for (const p of needed) {
      if (from) {
        if (findLocalSource(from, p.entry).kind === "archive") checkTarTools();
      } else if (!p.entry.url) throw noUrlError(p.entry, ctx);
      else if (p.entry.archive === "tar.bz2") checkTarTools();
    }
    options.observer?.planned(needed.map((p) => ({ id: p.entry.id, kind: p.entry.kind, size: p.entry.size })));
    const report: FetchReport = { profile: profile.name, modelsDir, models: [] };
    for (const p of plans) {
      options.signal?.throwIfAborted();
      report.models.push(await carryOut(p, ctx));
    }
    return report;
  } finally {
    await rm(join(modelsDir, STAGING), { recursive: true, force: true }).catch(() => {});
    await rm(join(modelsDir, TRASH), { recursive: true, force: true }).catch(() => {});
    await rmdir(join(modelsDir, DOWNLOADS)).catch(() => {}); // only if empty: a .part stays for the next run
    await release();
  }
}

interface Context {
  config: ModelsConfig;
  modelsDir: string;
  from: string;
  progress: ProgressFactory;
  options: FetchOptions;
}

interface Plan {
  entry: ModelEntry;
  /** Empty: present and intact. */
  problems: ModelProblem[];
  /** Complete files without a lock entry (a crash right after the final rename, or copied by hand): just record them. */
  adopt: boolean;
}

async function plan(entry: ModelEntry, ctx: Context): Promise<Plan> {
  const lockEntry = readLock(ctx.modelsDir).models[entry.id];
  const problems = ctx.options.verify ? await checkModelFull(ctx.modelsDir, entry, lockEntry) : checkModel(ctx.modelsDir, entry, lockEntry);
  return { entry, problems, adopt: problems.length > 0 && problems.every((p) => p.reason === "not-locked") };
}

async function carryOut({ entry, problems, adopt }: Plan, ctx: Context): Promise<FetchedModel> {
  const base = { id: entry.id, kind: entry.kind };
  if (problems.length === 0) return { ...base, action: "present", source: null, problems };
  let notThePinnedFile = false;
  if (adopt) {
    const root = modelFolder(ctx.modelsDir, entry);
    const files = await describeFolder(root);
    const single = singleFileOf(entry);
    const pin = pinOf(entry);
    if (single && pin && (files[single]?.sha256 !== pin.sha256 || files[single]?.size !== pin.size)) {
      // Copied in by hand, but not the file the manifest pins: install the pinned one instead of recording it.
      log.warn(`${entry.kind} model file ${join(root, single)} is not the file the manifest pins (sha256 ${pin.sha256}); installing ${entry.id} again`);
      notThePinnedFile = true;
    } else {
      log.info(`recording ${entry.id}, found complete in ${root}, in the lock`);
      await writeLockEntry(ctx.modelsDir, entry.id, { url: entry.url, source: root, installedAt: new Date().toISOString(), files });
      return { ...base, action: "adopted", source: root, problems };
    }
  }
  const repairing = notThePinnedFile || problems.some((p) => p.reason !== "not-installed");
  if (repairing) log.warn(`${problems[0]!.message}; installing ${entry.id} again`);
  let source: string;
  try {
    source = await installModel(entry, ctx);
  } catch (e) {
    ctx.options.observer?.gaveUp(entry.id, e instanceof ModelError && e.reason ? e.reason : (e as Error).message);
    throw e;
  }
  return { ...base, action: repairing ? "repaired" : "installed", source, problems };
}

function noUrlError(entry: ModelEntry, ctx: Context): ModelError {
  return new ModelError(
    `${entry.kind} model ${entry.id} has no download URL (it is a local test fixture): set HEARTH_MODELS_FROM to the folder that holds ${entry.local}`,
    { fix: setupCommand(ctx.config, { from: "/path/to/models" }) },
  );
}

/** Stages, checks, records and moves one model into place. Returns where it came from. */
async function installModel(entry: ModelEntry, ctx: Context): Promise<string> {
  const staging = await mkdtemp(join(ctx.modelsDir, STAGING, `${entry.id}-`));
  try {
    let root = staging;
    let source: string;
    let archive: LockEntry["archive"];
    let downloaded: string | null = null;
    let singleDownload: string | null = null;
    const single = singleFileOf(entry);
    let pinSource: PinSource = { kind: "download" };
    if (ctx.from) {
      const local = findLocalSource(ctx.from, entry);
      source = local.path;
      pinSource = { kind: "local", path: local.path };
      if (local.kind === "folder") {
        await copyTree(local.path, staging, entry.id, ctx.progress);
        if (single) pinSource = { kind: "local", path: join(local.path, single) };
        else if (pinOf(entry)) {
          log.warn(`${entry.id} is copied from the unpacked folder ${local.path}: the sha256 the manifest pins is that of the archive ${downloadName(entry)}, which cannot be checked on unpacked files; they are recorded as found`);
        }
      } else if (local.kind === "archive") {
        await checkPinnedFile(entry, local.path, pinSource);
        const unpacked = await unpackTarBz2(local.path, staging, { label: entry.id, progress: ctx.progress, detail: `from ${local.path}` });
        archive = { name: basename(local.path), ...unpacked };
        root = await singleTopFolder(staging);
      } else {
        checkPinnedSize(entry, local.path, pinSource); // the sha256 is checked on the copy, hashed for the lock anyway
        const target = join(staging, requiredPaths(entry)[0]!.path);
        await copyTree(local.path, target, entry.id, ctx.progress);
      }
    } else {
      if (!entry.url) throw noUrlError(entry, ctx);
      source = entry.url;
      const name = downloadName(entry)!;
      downloaded = join(ctx.modelsDir, DOWNLOADS, name);
      await mkdir(dirname(downloaded), { recursive: true });
      if (existsSync(downloaded)) log.info(`using ${downloaded}, downloaded completely earlier`);
      else {
        try {
          await downloadFile(entry.url, downloaded, {
            ...ctx.options.download,
            label: entry.id,
            approxSize: entry.size || undefined,
            progress: ctx.progress,
            signal: ctx.options.signal,
            onRetry: (reason, delayMs) => ctx.options.observer?.retrying(entry.id, reason, delayMs),
          });
        } catch (e) {
          if (!(e instanceof ModelError)) throw e;
          const usb = setupCommand({ ...ctx.config, models: { ...ctx.config.models, from: "/media/usb" } });
          throw new ModelError(
            `${e.message}. Without internet there are two ways forward: copy the models from a USB stick or a folder (docs/models.md says what it holds: ${usb}), or try Hearth now with the tiny test models, which prove the plumbing and not quality (HEARTH_MODELS_PROFILE=test HEARTH_MODELS_FROM=<folder with the test models> npm start; see "Model profiles" in the README)`,
            { fix: `${setupCommand(ctx.config)} (again, once online), or ${usb}`, retryable: true, reason: e.reason },
          );
        }
      }
      try {
        // Before unpacking: a file that is not the pinned one is never unpacked. Single files are
        // checked by size here and by sha256 once hashed for the lock (one read of a big file).
        if (entry.archive === "tar.bz2") await checkPinnedFile(entry, downloaded, pinSource);
        else checkPinnedSize(entry, downloaded, pinSource);
      } catch (e) {
        await rm(downloaded, { force: true }); // the next run downloads it again
        throw e;
      }
      if (entry.archive === "tar.bz2") {
        try {
          const unpacked = await unpackTarBz2(downloaded, staging, { label: entry.id, progress: ctx.progress });
          archive = { name, ...unpacked };
        } catch (e) {
          await rm(downloaded, { force: true }); // damaged: the next run downloads it again
          throw new ModelError(`${(e as Error).message}; it was deleted, run the same command again to download it again`);
        }
        root = await singleTopFolder(staging);
      } else {
        singleDownload = requiredPaths(entry)[0]!.path;
        await rename(downloaded, join(staging, singleDownload));
        downloaded = null;
      }
    }
    const missing = requiredPaths(entry).filter((r) => !existsSync(join(root, r.path)));
    if (missing.length) {
      throw new ModelError(`${source} does not contain ${missing.map((m) => m.path).join(", ")}, which the manifest names for ${entry.id} (is it the right file, and the manifest up to date?)`);
    }
    await makeWritable(root);
    const files = await describeFolder(root);
    if (single) checkPinnedHash(entry, join(root, single), files[single]!, pinSource);
    if (singleDownload) archive = { name: downloadName(entry)!, ...files[singleDownload]! };
    await moveIntoPlace(root, modelFolder(ctx.modelsDir, entry), ctx.modelsDir);
    await writeLockEntry(ctx.modelsDir, entry.id, { url: entry.url, source, installedAt: new Date().toISOString(), ...(archive ? { archive } : {}), files });
    if (downloaded) await rm(downloaded, { force: true });
    const total = Object.values(files).reduce((n, f) => n + f.size, 0);
    log.info(`installed ${entry.id}`, { files: Object.keys(files).length, size: formatBytes(total) });
    return source;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** For a model downloaded as one file (archive "none"): that file's path in the model folder; else null. */
function singleFileOf(entry: ModelEntry): string | null {
  return entry.archive === "none" ? requiredPaths(entry)[0]!.path : null;
}

/** The one folder an archive unpacked into, or the staging folder itself if it held several things. */
async function singleTopFolder(staging: string): Promise<string> {
  const entries = (await readdir(staging, { withFileTypes: true })).filter((e) => !e.name.startsWith("._"));
  if (entries.length === 1 && entries[0]!.isDirectory()) return join(staging, entries[0]!.name);
  return staging;
}

/** Puts a staged folder at target with a rename; an old target goes to .trash first and is then deleted. */
async function moveIntoPlace(staged: string, target: string, modelsDir: string): Promise<void> {
  let old: string | null = null;
  if (existsSync(target)) {
    await mkdir(join(modelsDir, TRASH), { recursive: true });
    old = join(modelsDir, TRASH, `${basename(target)}-${Date.now()}-${process.pid}`);
    await rename(target, old);
  }
  await rename(staged, target);
  if (old) await removeTree(old);
}

/** Copies a file or folder (following symlinks) with byte progress; big files are streamed. */
async function copyTree(src: string, dest: string, label: string, progressOf: ProgressFactory): Promise<void> {
  const files: { from: string; to: string; size: number }[] = [];
  const walk = async (from: string, to: string) => {
    const st = await stat(from);
    if (st.isDirectory()) {
      await mkdir(to, { recursive: true });
      for (const name of (await readdir(from)).sort()) await walk(join(from, name), join(to, name));
    } else if (st.isFile()) {
      files.push({ from, to, size: st.size });
    }
  };
  await walk(src, dest);
  const total = files.reduce((n, f) => n + f.size, 0);
  const progress = progressOf({ label, verb: "copying", detail: `from ${src}`, total });
  let done = 0;
  try {
    for (const f of files) {
      await mkdir(dirname(f.to), { recursive: true });
      if (f.size < 8 * 1024 * 1024) {
        await copyFile(f.from, f.to);
        done += f.size;
        progress.update(done);
        continue;
      }
      const fh = await open(f.to, "w");
      try {
        for await (const chunk of createReadStream(f.from, { highWaterMark: 1 << 20 })) {
          await fh.write(chunk as Buffer);
          done += (chunk as Buffer).length;
          progress.update(done);
        }
      } finally {
        await fh.close();
      }
    }
  } catch (e) {
    progress.fail();
    throw new ModelError(`cannot copy ${src} to ${dest}: ${(e as Error).message}`);
  }
  progress.finish();
}

/** Owner can write every file and folder (copies from a read-only medium keep its modes). */
async function makeWritable(root: string): Promise<void> {
  const walk = async (p: string) => {
    const st = await stat(p);
    if (st.isDirectory()) {
      await chmod(p, (st.mode & 0o7777) | 0o755);
      for (const name of await readdir(p)) await walk(join(p, name));
    } else {
      await chmod(p, (st.mode & 0o777) | 0o644);
    }
  };
  await walk(root);
}

async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch {
    await makeWritable(path).catch(() => {});
    await rm(path, { recursive: true, force: true });
  }
}

/** Leftovers of an interrupted run: staged installs and replaced models (never .downloads: those resume). */
async function cleanStale(modelsDir: string): Promise<void> {
  for (const dir of [STAGING, TRASH]) await removeTree(join(modelsDir, dir));
  await mkdir(join(modelsDir, STAGING), { recursive: true });
}

/** One fetcher per models folder at a time (setup and a starting service could race). */
async function acquireProcessLock(modelsDir: string): Promise<() => Promise<void>> {
  const file = join(modelsDir, PROCESS_LOCK);
  for (let i = 0; i < 2; i++) {
    try {
      await writeFile(file, String(process.pid), { flag: "wx" });
      return () => unlink(file).catch(() => {});
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new ModelError(`cannot write in the models folder ${modelsDir}: ${(e as Error).message}`);
      const pid = Number(readFileSync(file, "utf8").trim());
      if (pid && isAlive(pid)) {
        throw new ModelError(`another process (pid ${pid}) is fetching models into ${modelsDir}: wait for it to finish, or delete ${file} if it is gone`, { retryable: true });
      }
      await unlink(file).catch(() => {}); // stale: its process died
    }
  }
  throw new ModelError(`cannot lock ${file}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
