// roles.json (FoloToy format, toy-protocol.md §5): parse, defaults, per-toy overrides, live reload.
import { existsSync, readFileSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { z } from "zod";
import { logger } from "../log.ts";
import { writeFileDurable } from "../util/durable.ts";
import { normalizeLanguage } from "./voices.ts";

const log = logger("roles");
/** Per-device overrides are keyed by a device id (a FoloToy SN is its MAC in hex). */
const DEVICE_ID = /^[0-9a-zA-Z]{8,32}$/;

// Liberal about types, as users' files were written for another server: "0.7" is 0.7, "false" is false.
const numeric = z.preprocess((v) => (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : v), z.number());
const boolish = z.preprocess((v) => (v === "true" || v === 1 ? true : v === "false" || v === 0 ? false : v), z.boolean());

const roleFields = {
  /** The greeting played when the role is selected (updatestartvoice). */
  start_text: z.string().nullish(),
  /** Required: the role's instructions, sent as the first user message. */
  prompt: z.string(),
  /** Earlier turns of this toy sent with each request (also bounded by tokens). */
  max_message_count: numeric.pipe(z.number().int().min(0)).nullish(),
  /** Replaces [toy] system_prompt for this role. */
  system_prompt: z.string().nullish(),
  /** false: send no [system, prompt, start_text] preamble. */
  send_initial_messages: boolish.nullish(),
  /** A cloud model name: accepted and ignored (one local LLM serves every role). */
  model: z.string().nullish(),
  temperature: numeric.pipe(z.number().min(0).max(2)).nullish(),
  max_tokens: numeric.pipe(z.number().int().min(1)).nullish(),
  top_p: numeric.pipe(z.number().min(0).max(1)).nullish(),
  frequency_penalty: numeric.pipe(z.number().min(-2).max(2)).nullish(),
  presence_penalty: numeric.pipe(z.number().min(-2).max(2)).nullish(),
  /** A local voice ("amy", "aishell3:12", an OpenAI name); unknown names fall back by language. */
  voice_name: z.string().nullish(),
  /** ISO-639-1 language of the role ("zh-CN" is read as "zh"): its replies use a voice of it, and it hints the STT. */
  language: z.string().nullish(),
  /** Advanced (Hearth): speech speed of the role's voice, 1 = normal. */
  speed: numeric.pipe(z.number().min(0.25).max(4)).nullish(),
  /** Advanced (Hearth): a GBNF grammar every reply of this role must match. */
  grammar: z.string().nullish(),
  /** Hearth: "strict" makes the safety layer stricter for this role (a role can never relax it). */
  safety_level: z.enum(["standard", "strict"]).nullish(),
  /** Hearth: words or phrases this role never hears or says (added to [safety] blocked_phrases). */
  blocked_phrases: z.array(z.string().min(1)).nullish(),
  /** Hearth: the device tools (xiaozhi MCP) the model may call: true = all, or a list of tool names. Off by default. */
  device_tools: z.union([boolish, z.array(z.string().min(1))]).nullish(),
};

export const roleSchema = z.looseObject(roleFields);
export const roleOverrideSchema = z.looseObject(roleFields).partial();

export interface Role {
  prompt: string;
  start_text?: string;
  max_message_count?: number;
  system_prompt?: string;
  send_initial_messages?: boolean;
  model?: string;
  temperature?: number;
  max_tokens?: number;
  top_p?: number;
  frequency_penalty?: number;
  presence_penalty?: number;
  voice_name?: string;
  language?: string;
  speed?: number;
  grammar?: string;
  safety_level?: "standard" | "strict";
  blocked_phrases?: string[];
  device_tools?: boolean | string[];
}

export interface RolesConfig {
  /** Role button ("1".."7") -> role. */
  roles: Record<string, Role>;
  /** SN -> role button -> fields overriding that role for that toy. */
  toys: Record<string, Record<string, Partial<Role>>>;
}

/** Cloud-provider settings of the official server: what they mean here is mapped (see mapProviderFields), the rest ignored. `model` too. */
const PROVIDER_FIELD = /^(llm|stt|tts)_type$|_config$/;
const KNOWN = new Set(Object.keys(roleFields));

export type ParsedRoles =
  | {
      ok: true;
      config: RolesConfig;
      /** Provider settings that became local ones, e.g. `1: llm_config.temperature -> temperature`. */
      mapped: string[];
      /** Provider settings with no local meaning, e.g. `llm_type`, `llm_config.api_base`. */
      ignored: string[];
      unknown: string[];
    }
  | { ok: false; error: string };

/** Provider config keys with a local meaning: FoloToy's `<kind>_config.<key>` -> the role field. */
const PROVIDER_KEYS: Record<string, Record<string, keyof Role>> = {
  llm_config: { temperature: "temperature", max_tokens: "max_tokens", max_completion_tokens: "max_tokens", top_p: "top_p", frequency_penalty: "frequency_penalty", presence_penalty: "presence_penalty", system_prompt: "system_prompt" },
  stt_config: { language: "language" },
  tts_config: { voice_name: "voice_name", voice: "voice_name", speed: "speed", rate: "speed", language: "language" },
};
/** A cloud voice named by locale ("zh-CN-XiaoxiaoNeural", "en-US-AriaNeural"): it says which language the role speaks. */
const LOCALE_VOICE = /^([a-z]{2,3})-[A-Za-z]{2,4}-/;

/**
 * Gives the official server's role-level provider settings their local meaning (a role's own
 * top-level field wins): llm_config temperature/max_tokens/top_p/penalties, stt_config.language,
 * tts_config voice_name/speed (edge-tts `rate` "+20%" is speed 1.2); a role without `language`
 * takes it from a locale-named cloud voice. `language` is normalized ("zh-CN" -> "zh").
 * Returns the fields to use; notes what was mapped and what was ignored.
 */
function mapProviderFields(data: Record<string, unknown>, where: string, mapped: string[], ignored: Set<string>): Record<string, unknown> {
  const out = { ...data };
  for (const [config, keys] of Object.entries(PROVIDER_KEYS)) {
    const section = data[config];
    if (typeof section !== "object" || section === null || Array.isArray(section)) continue;
    for (const [k, raw] of Object.entries(section as Record<string, unknown>)) {
      const field = keys[k];
      if (!field) {
        ignored.add(`${config}.${k}`);
        continue;
      }
      if (out[field] !== undefined && out[field] !== null) {
        ignored.add(`${config}.${k} (the role's own ${field} wins)`);
        continue;
      }
      const value = k === "rate" ? rateToSpeed(raw) : raw;
      const checked = (roleFields[field as keyof typeof roleFields] as z.ZodType).safeParse(value);
      if (!checked.success || checked.data === null || checked.data === undefined) {
        ignored.add(`${config}.${k} (${JSON.stringify(raw)} is not a valid ${field})`);
        continue;
      }
      out[field] = checked.data;
      mapped.push(`${where}: ${config}.${k} -> ${field}`);
    }
  }
  if (typeof out.language === "string") out.language = normalizeLanguage(out.language);
  const locale = typeof out.voice_name === "string" ? LOCALE_VOICE.exec(out.voice_name) : null;
  if ((out.language === undefined || out.language === null) && locale) {
    out.language = normalizeLanguage(locale[1]);
    mapped.push(`${where}: voice_name ${out.voice_name} -> language ${out.language}`);
  }
  return out;
}

/** edge-tts `rate` ("+20%", "-10%") as a speed (1.2, 0.9); a number is taken as a speed. */
function rateToSpeed(raw: unknown): unknown {
  const m = typeof raw === "string" ? /^\s*([+-]?\d+(?:\.\d+)?)\s*%\s*$/.exec(raw) : null;
  return m ? Math.round((1 + Number(m[1]) / 100) * 100) / 100 : raw;
}

/** Parses roles.json text. Errors name the role and the field. */
export function parseRoles(text: string): ParsedRoles {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `not valid JSON: ${(e as Error).message}` };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { ok: false, error: 'expected a JSON object like {"1": {"prompt": "..."}}' };
  const ignored = new Set<string>();
  const unknown = new Set<string>();
  const mapped: string[] = [];
  const note = (fields: Record<string, unknown>, where: string) => {
    for (const k of Object.keys(fields)) {
      if (PROVIDER_FIELD.test(k)) {
        if (!(k in PROVIDER_KEYS)) ignored.add(k);
      } else if (k === "model") ignored.add(k);
      else if (!KNOWN.has(k)) unknown.add(`${where}.${k}`);
    }
  };
  const config: RolesConfig = { roles: {}, toys: {} };
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === "toys") {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, error: '"toys" must be an object {"<sn>": {"<role>": {...}}}' };
      for (const [sn, perRole] of Object.entries(value as Record<string, unknown>)) {
        if (!DEVICE_ID.test(sn)) return { ok: false, error: `"toys": "${sn}" is not a toy SN (8-32 letters and digits)` };
        if (typeof perRole !== "object" || perRole === null || Array.isArray(perRole)) return { ok: false, error: `"toys"."${sn}" must be an object {"<role>": {...}}` };
        config.toys[sn] = {};
        for (const [roleKey, fields] of Object.entries(perRole as Record<string, unknown>)) {
          if (!/^\d+$/.test(roleKey)) return { ok: false, error: `"toys"."${sn}": "${roleKey}" is not a role number` };
          const parsed = roleOverrideSchema.safeParse(fields);
          if (!parsed.success) return { ok: false, error: describe(`"toys"."${sn}"."${roleKey}"`, parsed.error, fields) };
          note(parsed.data, `toys.${sn}.${roleKey}`);
          config.toys[sn]![roleKey] = clean(mapProviderFields(parsed.data, `toys.${sn}.${roleKey}`, mapped, ignored));
        }
      }
      continue;
    }
    if (!/^\d+$/.test(key)) {
      unknown.add(key);
      continue;
    }
    const parsed = roleSchema.safeParse(value);
    if (!parsed.success) return { ok: false, error: describe(`role "${key}"`, parsed.error, value) };
    note(parsed.data, key);
    config.roles[key] = clean(mapProviderFields(parsed.data, key, mapped, ignored)) as Role;
  }
  if (Object.keys(config.roles).length === 0) return { ok: false, error: 'no roles: expected keys "1".."7", e.g. {"1": {"prompt": "..."}}' };
  return { ok: true, config, mapped, ignored: [...ignored], unknown: [...unknown] };
}

function describe(where: string, error: z.ZodError, value: unknown): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.join(".");
      const present = typeof value === "object" && value !== null && issue.path.length > 0 && String(issue.path[0]) in value;
      if (issue.code === "invalid_type" && issue.path.length > 0 && !present) return `${where} has no "${field}" (required)`;
      if (issue.path.length === 0) return `${where} must be an object with at least "prompt"`;
      return `${where}: "${field}": ${issue.message}`;
    })
    .join("; ");
}

/** Keeps the known fields, with null meaning absent. */
function clean(data: Record<string, unknown>): Partial<Role> {
  const out: Record<string, unknown> = {};
  for (const k of KNOWN) if (data[k] !== undefined && data[k] !== null) out[k] = data[k];
  return out as Partial<Role>;
}

/** The role a toy's button selects, with that toy's overrides. Unknown buttons fall back to the lowest role. */
export function resolveRole(config: RolesConfig, sn: string, button: number | string): { key: string; role: Role } {
  let key = String(button);
  const override = config.toys[sn]?.[key];
  let base = config.roles[key];
  if (!base && !override?.prompt) {
    const fallback = Object.keys(config.roles).sort((a, b) => Number(a) - Number(b))[0]!;
    log.warn("toy selected a role that roles.json does not define; using the first role", { sn, role: key, using: fallback });
    key = fallback;
    base = config.roles[key];
    return { key, role: { ...base!, ...config.toys[sn]?.[key] } };
  }
  return { key, role: { ...(base ?? { prompt: "" }), ...override } as Role };
}

export const DEFAULT_ROLES: Record<string, Role> = {
  "1": {
    start_text: "Hi! I'm your friend. What would you like to talk about?",
    prompt: "You are a cheerful friend for a young child. Keep every answer to one to three short sentences, and ask a simple question back now and then.",
    max_message_count: 10,
    language: "en",
  },
  "2": {
    start_text: "Story time! Tell me what the story should be about.",
    prompt: "You are a storyteller for children. Tell short, gentle stories in simple sentences, a few sentences at a time, and ask what should happen next.",
    max_message_count: 10,
    language: "en",
  },
  "3": {
    start_text: "I love questions about the world. Ask me anything!",
    prompt: "You explain how the world works to a curious child: animals, space, weather, the body. Use simple words and one fun fact per answer.",
    max_message_count: 10,
    language: "en",
  },
  "4": {
    start_text: "你好！我是你的好朋友，我们聊聊天吧。",
    prompt: "你是一个小朋友的好朋友。请用简单的中文回答，每次一到三句话。",
    max_message_count: 10,
    language: "zh",
  },
  "5": {
    start_text: "Let's play a word game! I'll start.",
    prompt: "You play simple word games with a child: rhymes, guess the animal, I spy. Keep turns short and praise good answers.",
    max_message_count: 10,
    language: "en",
  },
  "6": {
    start_text: "It's almost bedtime. Shall I tell you a calm little story?",
    prompt: "You tell calm, sleepy bedtime stories with soft words and a slow pace. Keep each answer short.",
    max_message_count: 6,
    language: "en",
  },
  "7": {
    start_text: "Numbers are fun! Want to count or do a little sum?",
    prompt: "You help a young child with counting and very simple sums. Be patient, give one small step at a time, and celebrate right answers.",
    max_message_count: 10,
    language: "en",
  },
};


/**
 * The roles file, live: created with DEFAULT_ROLES when missing, watched (editors that write a
 * new file and rename it over the old one included), reloaded after a short debounce. A broken
 * edit keeps the last good roles and logs what is wrong with which file.
 */
export class RolesFile {
  private config: RolesConfig;
  private lastText?: string;
  private watcher?: FSWatcher;
  private debounce?: ReturnType<typeof setTimeout>;
  /** The problem with the file as it is now on disk, if any. */
  lastError?: string;

  constructor(
    readonly file: string,
    private readonly onReload?: (config: RolesConfig) => void,
  ) {
    this.config = { roles: structuredClone(DEFAULT_ROLES), toys: {} };
  }

  get current(): RolesConfig {
    return this.config;
  }

  /** First load; creates the file with the default roles if it does not exist. */
  load(): void {
    if (!existsSync(this.file)) {
      writeFileDurable(this.file, JSON.stringify(DEFAULT_ROLES, null, 2) + "\n");
      log.info("created roles file with the default roles 1..7", { file: this.file });
    }
    const result = this.reload();
    if (!result.ok) log.error("using the built-in default roles until the roles file is fixed", { file: this.file });
  }

  /** Reads the file again. On error the last good roles stay in force. */
  reload(): { ok: boolean; error?: string } {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (e) {
      return this.fail(`cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const parsed = parseRoles(text);
    if (!parsed.ok) return this.fail(parsed.error);
    this.lastText = text;
    if (this.lastError) log.info("roles file is good again: the new roles are in force", { file: this.file });
    this.lastError = undefined;
    this.config = parsed.config;
    if (parsed.mapped.length) {
      log.info("roles file: cloud-provider settings used for the local engines", { file: this.file, mapped: parsed.mapped.join("; ") });
    }
    if (parsed.ignored.length) {
      log.info("roles file: ignoring cloud-provider fields (speech, the LLM and voices all run locally here)", { file: this.file, fields: parsed.ignored.join(", ") });
    }
    if (parsed.unknown.length) log.debug("roles file: unknown fields ignored", { file: this.file, fields: parsed.unknown.join(",") });
    log.info("roles loaded", { file: this.file, roles: Object.keys(parsed.config.roles).join(","), toys: Object.keys(parsed.config.toys).length });
    this.onReload?.(this.config);
    return { ok: true };
  }

  /** The file as it is on disk (the last good roles as JSON if it cannot be read). */
  read(): string {
    try {
      return readFileSync(this.file, "utf8");
    } catch {
      return JSON.stringify(this.config.roles, null, 2) + "\n";
    }
  }

  /** Validates, saves atomically and applies new roles.json text; a bad text changes nothing. */
  write(text: string): { ok: true } | { ok: false; error: string } {
    const parsed = parseRoles(text);
    if (!parsed.ok) return { ok: false, error: parsed.error };
    writeFileDurable(this.file, text);
    const applied = this.reload();
    return applied.ok ? { ok: true } : { ok: false, error: applied.error! };
  }

  /** Starts watching the file's folder (so a replaced file is still seen). */
  watch(debounceMs = 300): void {
    const name = basename(this.file);
    try {
      this.watcher = watch(dirname(this.file), (_event, filename) => {
        if (filename !== null && filename !== name) return;
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => this.onFileEvent(), debounceMs);
      });
      this.watcher.on("error", (e) => log.warn("cannot watch the roles file any more; reload it with /sys/config load_roles_config", { file: this.file, error: e.message }));
    } catch (e) {
      log.warn("cannot watch the roles file; changes need a restart or /sys/config load_roles_config", { file: this.file, error: (e as Error).message });
    }
  }

  close(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }

  private onFileEvent() {
    if (!existsSync(this.file)) {
      // an editor between "delete" and "rename", or a real deletion: keep the roles, say so once
      if (this.lastError !== "missing") log.warn("roles file disappeared; keeping the last good roles", { file: this.file });
      this.lastError = "missing";
      return;
    }
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch {
      return; // mid-replace; the next event reads it
    }
    if (text === this.lastText) return;
    this.reload();
  }

  private fail(problem: string): { ok: false; error: string } {
    const error = `roles file ${this.file}: ${problem}`;
    if (this.lastError !== error) log.error(`${error}; keeping the last good roles`);
    this.lastError = error;
    return { ok: false, error };
  }
}
