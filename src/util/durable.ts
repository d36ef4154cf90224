// Durable file writes: what these functions return having written survives a power cut.
// A whole-file write goes to a temporary file that is fsynced and then renamed over the target
// (so a crash leaves either the old or the new file, never half of one); an append is fsynced
// before it returns. New files are 0600 and new folders 0700: what goes through here is state.
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Marks a temporary file of writeFileDurable: `<file>.tmp-<pid>-<random>`. */
export const TMP_MARKER = ".tmp-";

export interface DurableWriteOptions {
  /** Mode of a newly created file (default 0600). An existing file's mode is not kept. */
  mode?: number;
  /** Test seam: runs after the temporary file is written and fsynced, before the rename. */
  beforeRename?: (tmp: string) => void;
}

/** fsyncs a folder, so that a file created, renamed or removed in it stays that way after a power cut. */
export function syncDir(dir: string) {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch (e) {
    if (ignorableDirSyncError(e)) return;
    throw e;
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    if (!ignorableDirSyncError(e)) throw e;
  } finally {
    closeSync(fd);
  }
}

// Some file systems and platforms cannot open or fsync a folder; the data is synced anyway.
function ignorableDirSyncError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "EISDIR" || code === "EINVAL" || code === "EPERM" || code === "EBADF" || code === "ENOTSUP" || code === "EACCES";
}

/** Creates `dir` (and missing parents, 0700) and makes the creation durable. */
export function ensureDir(dir: string) {
  const first = mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  if (first !== undefined) syncDir(dirname(first));
}

function writeAll(fd: number, bytes: Uint8Array) {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

/**
 * Replaces `file` with `text`, durably: writes `<file>.tmp-<pid>-<rand>`, fsyncs it, renames it
 * over `file` and fsyncs the folder. Creates the parent folder. On an error the temporary file is
 * removed and the old `file` is untouched; after a crash a stale temporary file may be left
 * (its name contains TMP_MARKER; the owner of the folder removes those on start).
 */
export function writeFileDurable(file: string, text: string, options: DurableWriteOptions = {}) {
  const dir = dirname(file);
  ensureDir(dir);
  const tmp = `${file}${TMP_MARKER}${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    const fd = openSync(tmp, "wx", options.mode ?? FILE_MODE);
    try {
      writeAll(fd, Buffer.from(text, "utf8"));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    options.beforeRename?.(tmp);
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw e;
  }
  syncDir(dir);
}

/** Deletes the temporary files a crash left behind from writeFileDurable(file) (call before reading `file` at start). */
export function removeStaleTemporaries(file: string): number {
  const prefix = basename(file) + TMP_MARKER;
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dirname(file));
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    try {
      unlinkSync(join(dirname(file), name));
      removed++;
    } catch {
      // gone meanwhile, or not ours to delete
    }
  }
  return removed;
}

/**
 * Appends `line` and a newline to `file` and fsyncs it (creating the file and its folder when
 * missing). `line` must not contain a newline (JSON.stringify output never does). When the file
 * does not end with a newline (a torn append from a power cut) one is written first, so the torn
 * line stays one garbled line and this one is intact.
 */
export function appendLineDurable(file: string, line: string, options: { mode?: number } = {}) {
  if (line.includes("\n")) throw new Error("appendLineDurable: the line contains a newline");
  const dir = dirname(file);
  ensureDir(dir);
  let created = true;
  let fd: number;
  try {
    fd = openSync(file, "ax", options.mode ?? FILE_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    created = false;
    fd = openSync(file, "a+");
  }
  try {
    let prefix = "";
    if (!created) {
      const size = fstatSync(fd).size;
      if (size > 0) {
        const last = Buffer.alloc(1);
        readSync(fd, last, 0, 1, size - 1);
        if (last[0] !== 0x0a) prefix = "\n";
      }
    }
    writeAll(fd, Buffer.from(prefix + line + "\n", "utf8"));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (created) syncDir(dir);
}

/**
 * Reads a JSON Lines file. A line that is not JSON (the torn last line a power cut leaves, or
 * garbage) is skipped and counted, as is one that `accept` rejects; blank lines are ignored.
 * A missing file gives nothing; any other read error (permissions, a folder) is thrown.
 */
export function readJsonLines<T>(file: string, accept?: (value: unknown) => value is T): { items: T[]; skipped: number } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { items: [], skipped: 0 };
    throw e;
  }
  const items: T[] = [];
  let skipped = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    if (accept && !accept(value)) skipped++;
    else items.push(value as T);
  }
  return { items, skipped };
}
