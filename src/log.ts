// One line per event, "level area: message key=value ...", so journald shows it well.
export type LogLevel = "debug" | "info" | "warn" | "error";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = order.info;

export function setLogLevel(level: LogLevel) {
  threshold = order[level];
}

export type Logger = Record<LogLevel, (message: string, fields?: Record<string, unknown>) => void>;

export function logger(area: string): Logger {
  const write = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (order[level] < threshold) return;
    const extra = fields
      ? Object.entries(fields)
          .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
          .join(" ")
      : "";
    const line = `${level} ${area}: ${message}${extra ? " " + extra : ""}`;
    (level === "error" || level === "warn" ? console.error : console.log)(line);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
