// Progress of long byte jobs (download, copy, unpack): a redrawn bar on a terminal,
// plain periodic log lines otherwise (journald, CI), or nothing.
import { logger } from "../log.ts";

export interface ProgressTask {
  /** What is being worked on, e.g. the model id. */
  label: string;
  /** "downloading", "copying", "unpacking". */
  verb: string;
  /** Shown once at the start, e.g. "from /media/usb/llm". */
  detail?: string;
  /** Total bytes, when known. */
  total?: number;
  /** Bytes already done before this job started (a resumed download). */
  start?: number;
}

export interface Progress {
  /** Bytes done so far (absolute, including `start`). */
  update(done: number): void;
  /** The job completed. */
  finish(): void;
  /** The job stopped early (error); ends a bar's line so the error prints cleanly. */
  fail(): void;
}

export type ProgressFactory = (task: ProgressTask) => Progress;
export type ProgressMode = "auto" | "bar" | "lines" | "none";

export interface ProgressOptions {
  /** Where a bar is drawn (default process.stderr). */
  out?: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  /** Where plain lines go (default: the "models" logger at info level). */
  line?: (text: string) => void;
  /** Least time between two plain lines, ms (default 5000). */
  intervalMs?: number;
  /** Clock, ms (tests). */
  now?: () => number;
}

const NONE: Progress = { update() {}, finish() {}, fail() {} };

/** A factory for the mode: "auto" draws a bar when `out` is a terminal and writes lines otherwise. */
export function progressFactory(mode: ProgressMode | ProgressFactory = "auto", options: ProgressOptions = {}): ProgressFactory {
  if (typeof mode === "function") return mode;
  const out = options.out ?? process.stderr;
  const chosen = mode === "auto" ? (out.isTTY ? "bar" : "lines") : mode;
  if (chosen === "none") return () => NONE;
  if (chosen === "bar") return (task) => barProgress(task, out, options.now ?? Date.now);
  const log = logger("models");
  const line = options.line ?? ((text: string) => log.info(text));
  return (task) => lineProgress(task, line, options.intervalMs ?? 5000, options.now ?? Date.now);
}

/** Measures speed over the last few seconds, so a stall shows up quickly (the bar, the lines and the console). */
export class Meter {
  private samples: [number, number][] = [];
  constructor(private now: () => number, start: number) {
    this.samples.push([now(), start]);
  }
  add(done: number) {
    const t = this.now();
    this.samples.push([t, done]);
    while (this.samples.length > 2 && t - this.samples[1]![0] > 5000) this.samples.shift();
  }
  bytesPerSecond(): number {
    const [t0, d0] = this.samples[0]!;
    const [t1, d1] = this.samples[this.samples.length - 1]!;
    return t1 > t0 ? ((d1 - d0) * 1000) / (t1 - t0) : 0;
  }
}

function barProgress(task: ProgressTask, out: NonNullable<ProgressOptions["out"]>, now: () => number): Progress {
  const meter = new Meter(now, task.start ?? 0);
  let last = 0;
  let done = task.start ?? 0;
  let closed = false;
  const draw = () => {
    const width = Math.max(40, Math.min(out.columns ?? 100, 120));
    const text = describeProgress({ done, total: task.total, bytesPerSecond: meter.bytesPerSecond() });
    const head = `${task.verb} ${task.label}`;
    const barWidth = Math.max(10, width - head.length - text.length - 6);
    const bar = task.total ? renderBar(done / task.total, barWidth) : "";
    out.write(`\r\x1b[2K${head} ${bar ? `[${bar}] ` : ""}${text}`);
  };
  return {
    update(d) {
      done = d;
      meter.add(d);
      const t = now();
      if (t - last >= 100) {
        last = t;
        draw();
      }
    },
    finish() {
      if (closed) return;
      closed = true;
      if (task.total) done = Math.max(done, task.total);
      draw();
      out.write("\n");
    },
    fail() {
      if (closed) return;
      closed = true;
      out.write("\n");
    },
  };
}

function lineProgress(task: ProgressTask, line: (text: string) => void, intervalMs: number, now: () => number): Progress {
  const meter = new Meter(now, task.start ?? 0);
  const begun = now();
  let last = begun;
  let done = task.start ?? 0;
  let closed = false;
  const from = task.start ? ` (resuming at ${formatBytes(task.start)})` : "";
  line(`${task.verb} ${task.label}${task.detail ? ` ${task.detail}` : ""}${task.total ? ` (${formatBytes(task.total)})` : ""}${from}`);
  return {
    update(d) {
      done = d;
      meter.add(d);
      const t = now();
      if (t - last >= intervalMs) {
        last = t;
        line(`${task.verb} ${task.label}: ${describeProgress({ done, total: task.total, bytesPerSecond: meter.bytesPerSecond() })}`);
      }
    },
    finish() {
      if (closed) return;
      closed = true;
      const seconds = (now() - begun) / 1000;
      line(`${task.verb} ${task.label}: done, ${formatBytes(done)} in ${formatDuration(seconds)}`);
    },
    fail() {
      closed = true;
    },
  };
}

/** "42% 120.5/287.0 MB 5.3 MB/s ETA 0:31", or "120.5 MB 5.3 MB/s" when the total is unknown. */
export function describeProgress(p: { done: number; total?: number; bytesPerSecond: number }): string {
  const speed = `${(p.bytesPerSecond / 1e6).toFixed(1)} MB/s`;
  if (!p.total) return `${formatBytes(p.done)} ${speed}`;
  const pct = Math.min(100, Math.floor((p.done / p.total) * 100));
  const eta = p.bytesPerSecond > 0 ? formatDuration(Math.max(0, p.total - p.done) / p.bytesPerSecond) : "--:--";
  return `${pct}% ${(p.done / 1e6).toFixed(1)}/${(p.total / 1e6).toFixed(1)} MB ${speed} ETA ${eta}`;
}

export function renderBar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return "#".repeat(full) + "-".repeat(width - full);
}

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** 1234567 -> "1.2 MB", 166000000 -> "166 MB". */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)} MB`;
  if (n >= 1e3) return `${Math.round(n / 1e3)} kB`;
  return `${n} B`;
}
