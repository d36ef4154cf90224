// <models.dir>/models.lock.json: per model id, the size and sha256 of every file installed
// (and of the archive it came from), written once after a successful fetch. Later checks
// compare against it: sizes on every start, sha256 on `npm run setup -- --verify`.
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { lstat, readdir, rename, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { logger } from "../log.ts";

export const LOCK_FILE_NAME = "models.lock.json";

export interface LockedFile {
  size: number;
  sha256: string;
}

export interface LockEntry {
  /** Manifest URL at install time ("" for local-only fixtures). */
  url: string;
  /** Where it came from: the URL, or the local file/folder it was copied from. */
  source: string;
  installedAt: string;
  /** The archive (or single downloaded file) it was installed from. */
  archive?: { name: string } & LockedFile;
  /** Every file of the model folder, by path relative to it ("/" separated). */
  files: Record<string, LockedFile>;
}

export interface Lock {
  version: 1;
  models: Record<string, LockEntry>;
}

const log = logger("models");

export function lockPath(modelsDir: string): string {
  return join(modelsDir, LOCK_FILE_NAME);
}

/** The lock of a models folder; an empty one if there is none (or it is unreadable: models are then re-checked). */
export function readLock(modelsDir: string): Lock {
  const file = lockPath(modelsDir);
  if (!existsSync(file)) return { version: 1, models: {} };
  try {
    const raw = JSON.parse(readFileSync(file, "utf8"));
    if (raw?.version === 1 && raw.models && typeof raw.models === "object") return raw as Lock;
    log.warn("ignoring a lock file of an unknown format", { file });
  } catch (e) {
    log.warn("ignoring an unreadable lock file", { file, error: (e as Error).message });
  }
  return { version: 1, models: {} };
}

/** Records (or with entry = null removes) one model in the lock; atomic (temp file + rename). */
export async function writeLockEntry(modelsDir: string, id: string, entry: LockEntry | null): Promise<void> {
  const lock = readLock(modelsDir);
  if (entry) lock.models[id] = entry;
  else delete lock.models[id];
  const sorted: Lock = { version: 1, models: Object.fromEntries(Object.entries(lock.models).sort(([a], [b]) => a.localeCompare(b))) };
  const file = lockPath(modelsDir);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(sorted, null, 2) + "\n");
  await rename(tmp, file);
}

/** sha256 of a file, hex, streamed (never the whole file in memory). */
export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hasher.update(chunk as Buffer);
  return hasher.digest("hex");
}

/** Every regular file under root (relative "/" paths, sorted); symlinks are not followed. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push(relative(root, full).split(sep).join("/"));
    }
  };
  await walk(root);
  return out.sort();
}

/** Size and sha256 of every file of a model folder, for the lock. */
export async function describeFolder(root: string): Promise<Record<string, LockedFile>> {
  const files: Record<string, LockedFile> = {};
  for (const rel of await listFiles(root)) {
    const full = join(root, ...rel.split("/"));
    files[rel] = { size: (await lstat(full)).size, sha256: await sha256File(full) };
  }
  return files;
}
