// Pinned downloads: a model whose manifest entry has a sha256 must be installed from exactly that
// file (the archive, or the single file), whether it was downloaded or copied from a USB stick.
// Anything else is refused with one message naming the file, what was expected, what was found,
// and what to do. Entries without a sha256 ("no pin known") are trusted on first use: the lock
// records what was installed and later checks compare against that.
import { statSync } from "node:fs";
import { ModelError } from "./errors.ts";
import type { LockedFile } from "./lock.ts";
import { sha256File } from "./lock.ts";
import { downloadName, pinOf, type ModelEntry } from "./manifest.ts";

/** Where the file being checked came from: decides the advice in the message. */
export type PinSource = { kind: "download" } | { kind: "local"; path: string };

export function bytes(n: number): string {
  return `${n.toLocaleString("en-US")} bytes`;
}

/** The refusal for a file that is not the pinned one. `got.sha256` may be absent (size alone already differs). */
export function pinMismatchError(entry: ModelEntry, file: string, got: { size: number; sha256?: string }, source: PinSource): ModelError {
  const pin = pinOf(entry)!;
  const name = downloadName(entry) ?? file.split("/").pop()!;
  const gotText = got.sha256 && got.size === pin.size ? `${bytes(got.size)} with sha256 ${got.sha256}` : bytes(got.size);
  const what =
    source.kind === "download"
      ? `the download of ${name} for ${entry.kind} model ${entry.id}`
      : `${source.path} (used as ${name} for ${entry.kind} model ${entry.id})`;
  const advice =
    source.kind === "download"
      ? `It was deleted and nothing was installed. Run the same command again to download it again; if it is refused again, the file published at ${entry.url} is not the one Hearth was tested with: do not install it by hand, and report it`
      : `Nothing was installed. It is a damaged or partial copy, or another version of the file: replace it with the published file${entry.url ? ` from ${entry.url}` : ""}, or leave HEARTH_MODELS_FROM empty to download it`;
  return new ModelError(`${what} does not match the manifest's pin: expected ${bytes(pin.size)} with sha256 ${pin.sha256}, got ${gotText}. ${advice}`);
}

/**
 * Checks a file against its model's pin by size (a stat) and, if that matches, sha256 (reads the
 * whole file). Returns its size and sha256 (null sha256 when not pinned: nothing was read).
 * Throws pinMismatchError.
 */
export async function checkPinnedFile(entry: ModelEntry, file: string, source: PinSource): Promise<{ size: number; sha256: string | null }> {
  const pin = pinOf(entry);
  const size = statSync(file).size;
  if (!pin) return { size, sha256: null };
  if (size !== pin.size) throw pinMismatchError(entry, file, { size }, source);
  const sha256 = await sha256File(file);
  if (sha256 !== pin.sha256) throw pinMismatchError(entry, file, { size, sha256 }, source);
  return { size, sha256 };
}

/** Checks an already hashed file (e.g. from describeFolder) against the pin. Throws pinMismatchError. */
export function checkPinnedHash(entry: ModelEntry, file: string, got: LockedFile, source: PinSource): void {
  const pin = pinOf(entry);
  if (pin && (got.size !== pin.size || got.sha256 !== pin.sha256)) throw pinMismatchError(entry, file, got, source);
}

/** Only the size (a stat), for big single files that are hashed later anyway. Throws pinMismatchError. */
export function checkPinnedSize(entry: ModelEntry, file: string, source: PinSource): void {
  const pin = pinOf(entry);
  if (!pin) return;
  const size = statSync(file).size;
  if (size !== pin.size) throw pinMismatchError(entry, file, { size }, source);
}
