import { z } from "zod";

/** What the safety layer checks (src/pipeline/safety); [safety] categories names a subset. */
export const SAFETY_CATEGORIES = [
  "fire",
  "weapons",
  "poison",
  "danger",
  "self_harm",
  "sexual",
  "drugs",
  "violence",
  "strangers",
  "personal_info",
  "hate",
  "manipulation",
] as const;

// One strict object per [section]: unknown keys are errors, so a typo never starts silently.
const section = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape);
// 0 = any free port (used by tests; the chosen port is logged)
const port = z.number().int().min(0).max(65535);
// "auto" = derived from the cores the board has (config/threads.ts); a number overrides it.
const threads = z.union([z.literal("auto"), z.number().int().min(1).max(64)]);

/**
 * Where an engine runs: "local" (on this device) or "remote" (OpenAI-compatible servers on the LAN,
 * src/engines/remote). The same keys in [stt], [llm] and [tts]; env HEARTH_LLM_BACKEND,
 * HEARTH_LLM_URLS (comma-separated), and so on.
 */
const engineBackend = {
  backend: z.enum(["local", "remote"]),
  urls: z.array(
    z
      .url({ protocol: /^https?$/ })
      .regex(/\/v1\/?$/, 'a base URL ending in /v1, e.g. "http://192.168.1.50:8080/v1"')
      .transform((u) => u.replace(/\/+$/, "")),
  ),
  api_key: z.string(),
  model: z.string(),
  timeout_seconds: z.number().min(1).max(600),
};
type EngineBackend = { backend: "local" | "remote"; urls: string[] };
const remoteNeedsUrls = (value: EngineBackend, ctx: z.RefinementCtx) => {
  if (value.backend === "remote" && value.urls.length === 0) {
    ctx.addIssue({ code: "custom", path: ["urls"], message: 'backend = "remote" needs at least one URL, e.g. urls = ["http://192.168.1.50:8080/v1"]' });
  }
};

const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time like "20:00"');

/** A quiet time: [parental] quiet_hours in config.toml, and per toy in the console. */
export const quietHoursSchema = z.strictObject({
  /** 0 = Sunday ... 6 = Saturday; absent = every day. */
  days: z.array(z.number().int().min(0).max(6)).optional(),
  from: time,
  /** May be earlier than `from`: the quiet time then runs past midnight. */
  to: time,
});

export const configSchema = z.strictObject({
  http: section({
    host: z.string().min(1),
    port,
    api_keys: z.array(z.string().min(1)),
    max_upload_mb: z.number().positive().max(2048),
    max_audio_seconds: z.number().positive().max(6 * 3600),
    public_url: z.union([z.literal(""), z.url({ protocol: /^http$/ })]),
    cors_origins: z.array(z.union([z.literal("*"), z.url({ protocol: /^https?$/ }).regex(/^https?:\/\/[^/]+\/?$/, "an origin: scheme://host[:port], no path")])),
    max_requests: z.number().int().min(8).max(100_000),
    body_timeout_seconds: z.number().min(1).max(3600),
    metrics_token: z.string(),
  }),
  models: section({
    profile: z.string().min(1),
    from: z.string(),
    dir: z.string().min(1),
  }),
  state: section({ dir: z.string().min(1) }),
  stt: section({ threads, language: z.string().min(1), ...engineBackend }).superRefine(remoteNeedsUrls),
  llm: section({
    threads,
    context_size: z.number().int().min(256).max(131072),
    sequences: z.number().int().min(1).max(16),
    max_queue: z.number().int().min(0).max(1000),
    max_tokens: z.number().int().min(1).max(32768),
    temperature: z.number().min(0).max(2),
    warm_prompts: z.boolean(),
    ...engineBackend,
  }).superRefine(remoteNeedsUrls),
  tts: section({
    threads,
    default_voice: z.string(),
    voice_map: z.record(z.string(), z.string()),
    ...engineBackend,
  }).superRefine(remoteNeedsUrls),
  vad: section({
    threshold: z.number().gt(0).lt(1),
    min_silence_seconds: z.number().min(0.05).max(5),
    max_segment_seconds: z.number().min(1).max(30),
  }),
  mqtt: section({
    port,
    url: z.union([z.literal(""), z.string().regex(/^(mqtts?|tcp|wss?):\/\//, "an mqtt:// URL")]),
    username: z.string(),
    password: z.string(),
    accept_unknown_toys: z.boolean(),
    max_connections: z.number().int().min(1).max(100_000),
    max_connections_per_address: z.number().int().min(1).max(100_000),
  }),
  toy: section({
    udp_port: port,
    advertise_host: z.string(),
    roles_file: z.string().min(1),
    system_prompt: z.string(),
    sentence_separators: z.string().min(1),
    first_clause_words: z.number().int().min(0).max(50),
    reply_timeout_seconds: z.number().min(1).max(600),
    reply_max_tokens: z.number().int().min(16).max(4096),
    max_turn_seconds: z.number().min(5).max(3600),
    audio_ttl_seconds: z.number().min(10).max(7 * 86400),
    integration_mirror: z.boolean(),
    heard_nothing_reply: z.boolean(),
    known_toys: z.record(z.string().regex(/^[0-9a-zA-Z]{8,32}$/), z.string()),
    max_toys: z.number().int().min(1).max(100_000),
    max_recordings: z.number().int().min(1).max(10_000),
  }),
  xiaozhi: section({
    enabled: z.boolean(),
    require_pairing: z.boolean(),
    role: z.string().regex(/^\d+$/, "a role key of roles.json, e.g. \"1\""),
    device_roles: z.record(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "a device id (its MAC)"), z.string().regex(/^\d+$/, "a role key of roles.json")),
    websocket_url: z.union([z.literal(""), z.string().regex(/^wss?:\/\/\S+$/, "a ws:// or wss:// URL")]),
    listen_mode: z.enum(["auto", "manual", "realtime"]),
    end_of_speech_seconds: z.number().min(0.2).max(5),
  }),
  safety: section({
    level: z.enum(["standard", "strict"]),
    categories: z.array(z.enum(SAFETY_CATEGORIES)),
    blocked_phrases: z.array(z.string().min(1)),
  }),
  parental: section({
    quiet_hours: z.array(quietHoursSchema).max(14),
    daily_limit_minutes: z.number().int().min(0).max(24 * 60),
  }),
  conversations: section({
    retention_days: z.number().min(0).max(3650),
    max_exchanges: z.number().int().min(1).max(100_000),
    max_turns: z.number().int().min(1).max(1_000_000),
  }),
  /** The web console. password: the parent password; empty = no password (the console is open and says so). */
  console: section({
    password: z.union([z.literal(""), z.string().min(8, "at least 8 characters (or empty: no password)").max(200)]),
  }),
  log: section({ level: z.enum(["debug", "info", "warn", "error"]) }),
});

export type Config = z.infer<typeof configSchema>;
