// One line per event, "level area: message key=value ...", so journald shows it well.
//
// Values often come from outside (a toy's JSON, a client's text), so a line can never grow past
// MAX_LINE_CHARS, no value past MAX_VALUE_CHARS, and control characters are escaped. A warning or
// error repeated more than REPEAT_LIMIT times within REPEAT_WINDOW_MS is suppressed for the rest
// of that window and counted in one summary line, so a misbehaving device cannot flood the log.
export type LogLevel = "debug" | "info" | "warn" | "error";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = order.info;

/** Longest value (after JSON encoding) and longest line written; the rest is cut and its length noted. */
export const MAX_VALUE_CHARS = 1000;
export const MAX_LINE_CHARS = 4000;
/** The same warning or error (area + message) at most this often per window; then one summary line. */
export const REPEAT_LIMIT = 10;
export const REPEAT_WINDOW_MS = 60_000;
const MAX_TRACKED = 1000;

export function setLogLevel(level: LogLevel) {
  threshold = order[level];
}

export type Logger = Record<LogLevel, (message: string, fields?: Record<string, unknown>) => void>;

interface Repeats {
  windowStart: number;
  count: number;
  suppressed: number;
}
const repeats = new Map<string, Repeats>();

export function logger(area: string): Logger {
  const write = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (order[level] < threshold) return;
    if ((level === "warn" || level === "error") && !admitRepeat(level, area, message)) return;
    emit(level, formatLine(level, area, message, fields));
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** The line as written: every value cut to MAX_VALUE_CHARS, the whole to MAX_LINE_CHARS. */
export function formatLine(level: LogLevel, area: string, message: string, fields?: Record<string, unknown>): string {
  const extra = fields
    ? Object.entries(fields)
        .map(([k, v]) => `${k}=${formatValue(v)}`)
        .join(" ")
    : "";
  return clip(`${level} ${area}: ${clip(message, MAX_VALUE_CHARS)}${extra ? " " + extra : ""}`, MAX_LINE_CHARS);
}

/** A bare word stays bare; anything with spaces, quotes or control characters is JSON (escaped). */
function formatValue(v: unknown): string {
  if (typeof v === "string") {
    const short = clip(v, MAX_VALUE_CHARS);
    return short && !/[\s"\p{C}]/u.test(short) ? short : JSON.stringify(short);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(v);
  } catch {
    json = String(v); // a cycle or a BigInt
  }
  return clip(json ?? String(v), MAX_VALUE_CHARS);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…[${text.length - max} more chars]` : text;
}

function emit(level: LogLevel, line: string) {
  (level === "error" || level === "warn" ? console.error : console.log)(line);
}

/** False while the same warning is over its limit in the current window; the first one over schedules the summary. */
function admitRepeat(level: LogLevel, area: string, message: string): boolean {
  const key = `${level} ${area}: ${message}`;
  const now = Date.now();
  let r = repeats.get(key);
  if (!r || now - r.windowStart >= REPEAT_WINDOW_MS) {
    if (!r && repeats.size >= MAX_TRACKED) repeats.clear();
    r = { windowStart: now, count: 0, suppressed: 0 };
    repeats.set(key, r);
  }
  if (++r.count <= REPEAT_LIMIT) return true;
  if (r.suppressed++ === 0) {
    const window = r;
    const timer = setTimeout(() => {
      emit(level, clip(`${key} [repeated ${window.suppressed} more times in ${REPEAT_WINDOW_MS / 1000} s; not logged]`, MAX_LINE_CHARS));
      if (repeats.get(key) === window) repeats.delete(key);
    }, Math.max(0, window.windowStart + REPEAT_WINDOW_MS - now));
    timer.unref?.();
  }
  return false;
}

/** Forgets every repeat count (tests). */
export function resetLogRepeats() {
  repeats.clear();
}
