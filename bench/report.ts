// Rows, the one table, and the results files (bench/results/latest.json + latest.md).
import { readFileSync, mkdirSync, writeFileSync, renameSync } from "node:fs";
import { cpus, loadavg, totalmem, release, platform, arch } from "node:os";
import { join, resolve } from "node:path";
import { fmt, fmtNumber, statJson, type Stat } from "./stats.ts";

export type Verdict = "PASS" | "FAIL" | "INFO" | "SKIP";

/** One line of the table. `server` is measured through Hearth, `floor` by calling the library directly. */
export interface Row {
  area: string;
  metric: string;
  unit?: string;
  server?: Stat;
  floor?: Stat;
  /** Paired server/floor (each round's two runs back to back), or a single-valued figure's value. */
  ratio?: Stat;
  /** Paired server - floor, in `deltaUnit` (ms by default): the absolute cost Hearth adds. */
  delta?: Stat;
  deltaUnit?: string;
  target?: string;
  verdict?: Verdict;
  note?: string;
}

export interface Section {
  name: string;
  rows: Row[];
  /** Everything else worth keeping (raw per-run values, breakdowns), JSON-friendly. */
  details: Record<string, unknown>;
  /** Sentences for the Markdown report: what the numbers mean, why a target fails. */
  notes: string[];
  error?: string;
  seconds: number;
  /** 1-minute load average when the section started and ended (other work on the machine). */
  load?: [number, number];
}

export interface Environment {
  date: string;
  profile: string;
  models: Record<string, string>;
  machine: { cpu: string; cores: number; ramGb: number; os: string; loadavgStart: number[]; loadavgEnd?: number[] };
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  runs: number;
  totalSeconds?: number;
}

const ROOT = resolve(import.meta.dir, "..");

function packageVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return "not installed";
  }
}

function git(args: string[]): string {
  try {
    const p = Bun.spawnSync(["git", ...args], { cwd: ROOT });
    return p.exitCode === 0 ? p.stdout.toString().trim() : "";
  } catch {
    return "";
  }
}

export function environment(profile: string, runs: number): Environment {
  const cpuModel = (() => {
    try {
      const info = readFileSync("/proc/cpuinfo", "utf8");
      return info.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? info.match(/^Model\s*:\s*(.+)$/m)?.[1] ?? cpus()[0]?.model ?? "unknown";
    } catch {
      return cpus()[0]?.model ?? "unknown";
    }
  })();
  const commit = git(["rev-parse", "--short", "HEAD"]);
  const dirty = git(["status", "--porcelain", "--untracked-files=no"]) ? " (+ uncommitted changes)" : "";
  return {
    date: new Date().toISOString(),
    profile,
    models: {},
    machine: {
      cpu: cpuModel,
      cores: cpus().length,
      ramGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      os: `${platform()} ${release()} ${arch()}`,
      loadavgStart: loadavg().map((x) => Math.round(x * 100) / 100),
    },
    versions: {
      bun: Bun.version,
      "sherpa-onnx-node": packageVersion("sherpa-onnx-node"),
      "node-llama-cpp": packageVersion("node-llama-cpp"),
      "wasm-media-encoders": packageVersion("wasm-media-encoders"),
      "@breezystack/lamejs": packageVersion("@breezystack/lamejs"),
      hearth: commit ? `${commit}${dirty}` : "unknown (not a git checkout)",
    },
    settings: {},
    runs,
  };
}

// ---- the table ----------------------------------------------------------------------------

const HEAD = ["Area", "Metric", "Through Hearth", "Floor (direct)", "Ratio", "Δ", "Target", "Result"];

function cells(r: Row): string[] {
  const u = r.unit ?? "";
  return [
    r.area,
    r.metric,
    fmt(r.server, u),
    fmt(r.floor, u),
    r.ratio ? fmt(r.ratio) : "",
    r.delta ? fmt(r.delta, r.deltaUnit ?? "ms") : "",
    r.target ?? "",
    r.verdict ?? "",
  ];
}

export function table(rows: Row[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(HEAD), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map((r) => line(cells(r)))].join("\n");
}

function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  return [
    `| ${HEAD.join(" | ")} |`,
    `|${HEAD.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${cells(r).map((c, i) => (i === 7 && c ? `**${c}**` : esc(c))).join(" | ")} |`),
  ].join("\n");
}

export function markdown(env: Environment, sections: Section[]): string {
  const rows = sections.flatMap((s) => s.rows);
  const out: string[] = [];
  out.push(`# Hearth benchmark: profile \`${env.profile}\``);
  out.push("");
  out.push(`${env.date} · ${env.machine.cpu}, ${env.machine.cores} cores, ${env.machine.ramGb} GB RAM · ${env.machine.os}`);
  out.push("");
  out.push(
    `Versions: ${Object.entries(env.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
  );
  out.push("");
  out.push(`Models: ${Object.entries(env.models).map(([k, v]) => `${k} \`${v}\``).join(", ")}.`);
  out.push("");
  out.push(`Settings: ${Object.entries(env.settings).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")}.`);
  out.push("");
  out.push(
    `Load average at start ${env.machine.loadavgStart.join(" / ")}, at end ${env.machine.loadavgEnd?.join(" / ") ?? "?"}; ${env.runs} measured runs per figure unless noted; total ${Math.round(env.totalSeconds ?? 0)} s.`,
  );
  out.push("");
  out.push("Figures are `median (min–max)`. *Ratio* and *Δ* are taken per round (the server run and its floor run back to back) and then summarized, so they are not the ratio of the two medians.");
  out.push("");
  out.push(markdownTable(rows));
  out.push("");
  for (const s of sections) {
    out.push(`## ${s.name}`);
    out.push("");
    if (s.error) out.push(`**Section failed:** ${s.error}`, "");
    for (const n of s.notes) out.push(`- ${n}`);
    if (s.notes.length) out.push("");
    out.push(`(${Math.round(s.seconds)} s${s.load ? `; load average ${s.load[0]} -> ${s.load[1]}` : ""})`);
    out.push("");
  }
  return out.join("\n");
}

export function rowJson(r: Row) {
  return {
    area: r.area,
    metric: r.metric,
    unit: r.unit,
    server: statJson(r.server),
    floor: statJson(r.floor),
    ratio: statJson(r.ratio),
    delta: statJson(r.delta),
    deltaUnit: r.delta ? (r.deltaUnit ?? "ms") : undefined,
    target: r.target,
    verdict: r.verdict,
    note: r.note,
  };
}

/** Writes latest.json and latest.md atomically (a .tmp file renamed over the old one). */
export function writeResults(dir: string, env: Environment, sections: Section[]): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, "latest.json");
  const md = join(dir, "latest.md");
  const data = {
    environment: env,
    rows: sections.flatMap((s) => s.rows).map(rowJson),
    sections: sections.map((s) => ({ name: s.name, seconds: Math.round(s.seconds), load: s.load, error: s.error, notes: s.notes, details: s.details })),
  };
  writeFileSync(json + ".tmp", JSON.stringify(data, null, 2) + "\n");
  renameSync(json + ".tmp", json);
  writeFileSync(md + ".tmp", markdown(env, sections));
  renameSync(md + ".tmp", md);
  return { json, md };
}

export function verdict(ok: boolean | undefined): Verdict {
  return ok === undefined ? "SKIP" : ok ? "PASS" : "FAIL";
}

export function loadNow(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

export { fmtNumber };
