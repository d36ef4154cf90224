import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { configSchema, type Config } from "./schema.ts";
import { resolveThreads } from "./threads.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export const DEFAULT_CONFIG_FILE = resolve(import.meta.dir, "../../config.toml");

export interface LoadedConfig extends Omit<Config, "stt" | "llm" | "tts"> {
  /** Thread counts are resolved: "auto" became a number. */
  stt: Config["stt"] & { threads: number };
  llm: Config["llm"] & { threads: number };
  tts: Config["tts"] & { threads: number };
  /** Absolute path of the file that was read; relative paths in it are resolved against its folder. */
  file: string;
}

/** Reads a TOML config file, applies HEARTH_<SECTION>_<KEY> overrides, validates, resolves paths. */
export function loadConfig(file = DEFAULT_CONFIG_FILE, env: Record<string, string | undefined> = process.env): LoadedConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let raw: Record<string, any>;
  try {
    raw = Bun.TOML.parse(text) as Record<string, any>;
  } catch (e) {
    throw new ConfigError(`${path} is not valid TOML: ${(e as Error).message}`);
  }
  // A key the file leaves out takes the documented default: the value in the shipped config.toml
  // (so a config kept on upgrade keeps working when a release adds settings).
  if (path !== DEFAULT_CONFIG_FILE) raw = withDefaults(raw, shippedDefaults());
  applyEnvOverrides(raw, env);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(path, parsed.error));
  const config = parsed.data;
  const base = dirname(path);
  config.state.dir = resolvePath(config.state.dir, base);
  config.models.dir = resolvePath(config.models.dir, base);
  if (config.models.from) config.models.from = resolvePath(config.models.from, process.cwd());
  config.toy.roles_file = resolvePath(config.toy.roles_file, config.state.dir);
  const threads = resolveThreads(config);
  return { ...config, stt: { ...config.stt, threads: threads.stt }, llm: { ...config.llm, threads: threads.llm }, tts: { ...config.tts, threads: threads.tts }, file: path };
}

let shipped: Record<string, any> | undefined;
function shippedDefaults(): Record<string, any> {
  shipped ??= Bun.TOML.parse(readFileSync(DEFAULT_CONFIG_FILE, "utf8")) as Record<string, any>;
  return structuredClone(shipped);
}

/** The file's sections and keys over the defaults' (a section that is not a table is left for the schema to reject). */
function withDefaults(raw: Record<string, any>, defaults: Record<string, any>): Record<string, any> {
  const out = defaults;
  for (const [section, value] of Object.entries(raw)) {
    const isTable = typeof value === "object" && value !== null && !Array.isArray(value);
    out[section] = isTable && typeof out[section] === "object" ? { ...out[section], ...value } : value;
  }
  return out;
}

function resolvePath(p: string, base: string): string {
  if (p === "~" || p.startsWith("~/")) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(base, p);
}

/** HEARTH_HTTP_PORT=9000 -> raw.http.port = 9000, typed after the value the file has (or the schema wants). */
function applyEnvOverrides(raw: Record<string, any>, env: Record<string, string | undefined>) {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("HEARTH_") || value === undefined) continue;
    const rest = name.slice("HEARTH_".length).toLowerCase();
    const sectionName = Object.keys(configSchema.shape).find((s) => rest.startsWith(s + "_"));
    if (!sectionName) continue; // other HEARTH_* variables (e.g. HEARTH_MODELS_FROM handled below) are not config
    const key = rest.slice(sectionName.length + 1);
    const sectionShape = (configSchema.shape as any)[sectionName].shape as Record<string, z.ZodType>;
    if (!(key in sectionShape)) {
      throw new ConfigError(`environment variable ${name} names no setting: [${sectionName}] has ${Object.keys(sectionShape).join(", ")}`);
    }
    raw[sectionName] ??= {};
    raw[sectionName][key] = coerceEnvValue(name, value, sectionShape[key]!);
  }
}

function coerceEnvValue(name: string, value: string, schema: z.ZodType): unknown {
  const type = (schema as any).def?.type as string;
  switch (type) {
    case "number": {
      const n = Number(value);
      if (value.trim() === "" || Number.isNaN(n)) throw new ConfigError(`${name}=${value}: expected a number`);
      return n;
    }
    case "boolean":
      if (/^(1|true|yes|on)$/i.test(value)) return true;
      if (/^(0|false|no|off)$/i.test(value)) return false;
      throw new ConfigError(`${name}=${value}: expected true or false`);
    case "union": {
      const autoOrNumber = (schema as any).def.options.some((o: any) => o.def?.type === "number");
      if (!autoOrNumber) return value; // e.g. [mqtt] url: "" or a URL
      if (value.trim() === "auto") return "auto"; // threads: "auto" or a number
      if (/^\d+$/.test(value.trim())) return Number(value);
      throw new ConfigError(`${name}=${value}: expected "auto" or a number`);
    }
    case "array":
      return value.split(",").map((s) => s.trim()).filter(Boolean);
    case "record":
      try {
        return JSON.parse(value);
      } catch {
        throw new ConfigError(`${name}: expected a JSON object, e.g. {"alloy":"amy"}`);
      }
    default:
      return value;
  }
}

function describeIssues(path: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => {
    const where = issue.path.length >= 2 ? `[${String(issue.path[0])}] ${issue.path.slice(1).join(".")}` : `[${issue.path.join(".")}]`;
    if (issue.code === "unrecognized_keys") {
      const at = issue.path.length ? `[${issue.path.join(".")}]` : "top level";
      return `${at}: unknown setting ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    }
    return `${where}: ${issue.message}`;
  });
  return `invalid configuration in ${path}:\n  ${lines.join("\n  ")}`;
}
