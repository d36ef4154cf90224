// What the console's Status page shows while models are fetched at start: per model, bytes done
// of the total, speed and time left, how often its download was retried and why, and, when the
// fetch failed, what went wrong and what to do, in plain words. Fed by fetchProfile's progress
// jobs and observer (fetch.ts), read by /api/status.
import type { ModelKind } from "./manifest.ts";
import { Meter, type Progress, type ProgressFactory } from "./progress.ts";

export interface ModelFetchFile {
  /** The model id from the manifest. */
  id: string;
  kind: ModelKind;
  state: "waiting" | "active" | "done" | "failed";
  /** "downloading", "copying", "unpacking" while active. */
  verb?: string;
  done: number;
  total?: number;
  bytesPerSecond?: number;
  /** Seconds left at the current speed. */
  etaSeconds?: number;
  /** Failed download attempts so far (retried by itself). */
  retries: number;
  /** Why the last attempt failed, in plain words. */
  lastError?: string;
}

export interface ModelFetchSnapshot {
  state: "fetching" | "failed" | "done";
  profile: string;
  /** "the internet", or the folder the models are copied from. */
  source: string;
  files: ModelFetchFile[];
  /** 1 for the first try; more after a failed fetch was tried again. */
  attempt: number;
  /** What went wrong, in plain words (state "failed"). */
  error?: string;
  /** What to do about it, with the commands to run. */
  fix?: string;
  /** Epoch ms of the next try, while one is planned. */
  retryAt?: number;
}

/** What fetchProfile reports besides byte progress. */
export interface FetchObserver {
  /** The models about to be fetched (after the checks), in order. */
  planned(models: { id: string; kind: ModelKind; size: number }[]): void;
  /** A download attempt of `id` failed; it is tried again after `delayMs`. */
  retrying(id: string, reason: string, delayMs: number): void;
  /** Fetching `id` failed for good (this time). */
  gaveUp(id: string, reason: string): void;
}

/** Technical reasons a download fails, in words a parent understands. */
export function plainReason(reason: string): string {
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo|unable to connect|ConnectionRefused|ECONNREFUSED|FailedToOpenSocket|ENETUNREACH|EHOSTUNREACH|network is unreachable/i.test(reason)) {
    return `cannot reach the download server: is this machine connected to the internet? (${reason})`;
  }
  if (/no data for/i.test(reason)) return `the download stalled: no data arrived for a while (${reason})`;
  if (/HTTP 404|HTTP 410/.test(reason)) return `the file is not on the download server (${reason})`;
  if (/HTTP 5\d\d|HTTP 429|HTTP 408/.test(reason)) return `the download server is busy or having trouble (${reason}); this usually passes`;
  if (/connection closed|ECONNRESET|socket/i.test(reason)) return `the connection broke off (${reason})`;
  return reason;
}

export class ModelFetchTracker implements FetchObserver {
  private current?: ModelFetchSnapshot;
  constructor(private readonly now: () => number = Date.now) {}

  /** A fetch of `profile` starts (again). */
  start(profile: string, source: string) {
    this.current = { state: "fetching", profile, source, files: this.current?.files ?? [], attempt: (this.current?.attempt ?? 0) + 1 };
  }

  planned(models: { id: string; kind: ModelKind; size: number }[]) {
    if (!this.current) return;
    const before = new Map(this.current.files.map((f) => [f.id, f]));
    // a new try keeps what the last one counted: retries and the last error
    this.current.files = models.map((m) => ({ id: m.id, kind: m.kind, state: "waiting", done: before.get(m.id)?.done ?? 0, total: m.size || undefined, retries: before.get(m.id)?.retries ?? 0, lastError: before.get(m.id)?.lastError }));
  }

  retrying(id: string, reason: string, delayMs: number) {
    const file = this.file(id);
    if (!file) return;
    Object.assign(file, { state: "active", verb: "downloading", bytesPerSecond: undefined, etaSeconds: undefined }); // being tried, though no byte came yet
    file.retries++;
    file.lastError = `${plainReason(reason)}; trying again in ${Math.max(1, Math.round(delayMs / 1000))} s`;
  }

  gaveUp(id: string, reason: string) {
    const file = this.file(id);
    if (!file) return;
    file.state = "failed";
    file.lastError = plainReason(reason);
  }

  /** A ProgressFactory that records each job (by its label, the model id) and passes it on to `next` (the log or a bar). */
  progress(next: ProgressFactory): ProgressFactory {
    return (task) => {
      const forward = next(task);
      const file = this.file(task.label);
      if (!file) return forward;
      const meter = new Meter(this.now, task.start ?? 0);
      Object.assign(file, { state: "active", verb: task.verb, done: task.start ?? 0, total: task.total ?? file.total, bytesPerSecond: undefined, etaSeconds: undefined });
      const progress: Progress = {
        update(done) {
          forward.update(done);
          meter.add(done);
          file.done = done;
          file.bytesPerSecond = meter.bytesPerSecond();
          file.etaSeconds = file.total && file.bytesPerSecond > 0 ? Math.max(0, file.total - done) / file.bytesPerSecond : undefined;
        },
        finish() {
          forward.finish();
          file.state = "done"; // an archive's unpacking, next, makes it active again
          file.lastError = undefined;
          file.etaSeconds = undefined;
        },
        fail() {
          forward.fail();
          file.state = "failed";
        },
      };
      return progress;
    };
  }

  /** The fetch failed; `retryAt`: when it is tried again (absent: it is not). */
  failed(error: { message: string; fix?: string | null }, retryAt?: number) {
    if (!this.current) return;
    const fix = error.fix ?? undefined;
    const suffix = fix ? `. Fix: ${fix}` : "";
    this.current.state = "failed";
    this.current.error = suffix && error.message.endsWith(suffix) ? error.message.slice(0, -suffix.length) : error.message;
    this.current.fix = fix;
    this.current.retryAt = retryAt;
    for (const f of this.current.files) if (f.state === "active") f.state = "failed";
  }

  finished() {
    if (!this.current) return;
    if (this.current.files.length === 0) return void (this.current = undefined); // nothing was missing
    this.current.state = "done";
    this.current.error = this.current.fix = this.current.retryAt = undefined;
  }

  /** Undefined when nothing was fetched (the models were all there). */
  snapshot(): ModelFetchSnapshot | undefined {
    return this.current && structuredClone(this.current);
  }

  private file(id: string): ModelFetchFile | undefined {
    return this.current?.files.find((f) => f.id === id);
  }
}
