// One HTTP download to a file: streamed to <dest>.part, resumed with a Range request when a
// .part is there, retried with backoff, renamed to <dest> only once complete. A crash at any
// point leaves at most a .part, which the next run resumes.
import { existsSync, statSync } from "node:fs";
import { open, rename, truncate } from "node:fs/promises";
import { logger } from "../log.ts";
import { ModelError } from "./errors.ts";
import { formatBytes, progressFactory, type Progress, type ProgressFactory } from "./progress.ts";

export interface DownloadOptions {
  /** fetch implementation (tests). */
  fetch?: typeof fetch;
  /** Retries after a failed attempt (default 5); the count restarts whenever an attempt made progress. */
  retries?: number;
  /** First wait before a retry, doubled each time up to 30 s (default 1000 ms). */
  retryDelayMs?: number;
  /** Abort an attempt when no byte arrives for this long (default 60 s). */
  stallTimeoutMs?: number;
  progress?: ProgressFactory;
  /** Shown in progress and messages (default: the file name). */
  label?: string;
  /** Approximate size, for progress when the server sends no length. */
  approxSize?: number;
  signal?: AbortSignal;
  /** Told of each failed attempt that is retried: why, and the wait before the next one. */
  onRetry?(reason: string, delayMs: number): void;
}

export interface DownloadResult {
  path: string;
  size: number;
  /** Attempts made (1 = no retry). */
  attempts: number;
  /** Whether any attempt continued an existing .part. */
  resumed: boolean;
}

/** A failure that retrying cannot fix (404, 403...). */
class Permanent extends Error {}

const log = logger("models");

export function partPath(dest: string): string {
  return `${dest}.part`;
}

/** Downloads url to dest (via dest.part). Throws ModelError once retries are exhausted; the .part is kept. */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const retries = options.retries ?? 5;
  const baseDelay = options.retryDelayMs ?? 1000;
  const label = options.label ?? dest.split("/").pop()!;
  const part = partPath(dest);
  let attempts = 0;
  let failuresInARow = 0;
  let resumed = false;
  for (;;) {
    attempts++;
    const before = sizeOf(part);
    if (before > 0) resumed = true;
    try {
      const size = await attempt(url, part, label, options);
      await rename(part, dest);
      return { path: dest, size, attempts, resumed };
    } catch (e) {
      if (options.signal?.aborted) throw e;
      const message = (e as Error).message;
      if (e instanceof Permanent) throw new ModelError(`cannot download ${label} from ${url}: ${message}`, { reason: message });
      failuresInARow = sizeOf(part) > before ? 1 : failuresInARow + 1; // progress restarts the count
      if (failuresInARow > retries || attempts >= 100) {
        const kept = sizeOf(part) > 0 ? `; the ${formatBytes(sizeOf(part))} already received are kept in ${part} and the next run resumes from there` : "";
        throw new ModelError(`download of ${label} from ${url} failed after ${attempts} attempt${attempts > 1 ? "s" : ""}: ${message}${kept}`, { reason: message });
      }
      const delay = Math.min(30_000, baseDelay * 2 ** (failuresInARow - 1));
      log.warn(`download of ${label} interrupted (${message}); retrying in ${(delay / 1000).toFixed(1)} s from byte ${sizeOf(part)}`);
      options.onRetry?.(message, delay);
      await Bun.sleep(delay);
    }
  }
}

function sizeOf(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** One request: appends to part from its current size. Resolves with the complete size. */
async function attempt(url: string, part: string, label: string, options: DownloadOptions): Promise<number> {
  const doFetch = options.fetch ?? fetch;
  const stallMs = options.stallTimeoutMs ?? 60_000;
  let start = sizeOf(part);
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  let stallTimer: ReturnType<typeof setTimeout> | undefined;
  const armStallTimer = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => controller.abort(new Error(`no data for ${stallMs >= 10_000 ? Math.round(stallMs / 1000) : (stallMs / 1000).toFixed(1)} s`)), stallMs);
  };
  let progress: Progress | undefined;
  try {
    armStallTimer();
    const headers: Record<string, string> = { "accept-encoding": "identity", "user-agent": "hearth-model-fetcher" };
    if (start > 0) headers.range = `bytes=${start}-`;
    let res: Response;
    try {
      res = await doFetch(url, { headers, redirect: "follow", signal: controller.signal });
    } catch (e) {
      throw new Error(reasonOf(controller, e));
    }
    if (res.status === 416 && start > 0) {
      // Nothing left to send: either the .part is already complete, or it is longer than the file.
      const total = Number(/\/(\d+)\s*$/.exec(res.headers.get("content-range") ?? "")?.[1]);
      await res.body?.cancel();
      if (total === start) return start;
      await truncate(part, 0);
      throw new Error(`the server refused to resume at byte ${start}; starting over`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      const text = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
      if (res.status >= 500 || res.status === 408 || res.status === 429) throw new Error(text);
      throw new Permanent(text);
    }
    let total: number | undefined;
    const length = res.headers.get("content-length");
    if (res.status === 206) {
      const m = /bytes\s+(\d+)-(\d+)\/(\d+|\*)/.exec(res.headers.get("content-range") ?? "");
      if (!m || Number(m[1]) !== start) {
        await res.body?.cancel();
        await truncate(part, 0);
        throw new Error(`the server resumed at the wrong place (${res.headers.get("content-range")}); starting over`);
      }
      total = m[3] !== "*" ? Number(m[3]) : length ? start + Number(length) : undefined;
    } else {
      if (start > 0) {
        log.info(`the server of ${label} does not support resuming; starting over`);
        start = 0;
      }
      total = length ? Number(length) : undefined;
    }
    if (!res.body) throw new Error("empty response");
    progress = (options.progress ?? progressFactory("none"))({ label, verb: "downloading", detail: start ? undefined : `from ${url}`, total: total ?? options.approxSize, start });
    const fh = await open(part, start === 0 ? "w" : "a");
    let done = start;
    try {
      const reader = res.body.getReader();
      for (;;) {
        let chunk: { done: boolean; value?: Uint8Array };
        try {
          chunk = await reader.read();
        } catch (e) {
          throw new Error(`${reasonOf(controller, e)} after ${formatBytes(done)}`);
        }
        if (chunk.done) break;
        armStallTimer();
        const bytes = chunk.value!;
        await fh.write(bytes);
        done += bytes.length;
        progress.update(done);
      }
    } finally {
      await fh.close();
    }
    if (total !== undefined && done !== total) {
      throw new Error(`the connection closed after ${formatBytes(done)} of ${formatBytes(total)}`);
    }
    progress.finish();
    return done;
  } catch (e) {
    progress?.fail();
    throw e;
  } finally {
    clearTimeout(stallTimer);
    options.signal?.removeEventListener("abort", onOuterAbort);
  }
}

function reasonOf(controller: AbortController, e: unknown): string {
  if (controller.signal.aborted && controller.signal.reason instanceof Error) return controller.signal.reason.message;
  const err = e as { code?: string; message?: string };
  return err?.code && !String(err.message).includes(err.code) ? `${err.code}: ${err.message}` : String(err?.message ?? e);
}
