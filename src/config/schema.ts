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
  }),
  models: section({
    profile: z.string().min(1),
    from: z.string(),
    dir: z.string().min(1),
  }),
  state: section({ dir: z.string().min(1) }),
  stt: section({ threads, language: z.string().min(1) }),
  llm: section({
    threads,
    context_size: z.number().int().min(256).max(131072),
    sequences: z.number().int().min(1).max(16),
    max_queue: z.number().int().min(0).max(1000),
    max_tokens: z.number().int().min(1).max(32768),
    temperature: z.number().min(0).max(2),
  }),
  tts: section({
    threads,
    default_voice: z.string(),
    voice_map: z.record(z.string(), z.string()),
  }),
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
  }),
  toy: section({
    udp_port: port,
    advertise_host: z.string(),
    roles_file: z.string().min(1),
    system_prompt: z.string(),
    sentence_separators: z.string().min(1),
    reply_timeout_seconds: z.number().min(1).max(600),
    reply_max_tokens: z.number().int().min(16).max(4096),
    max_turn_seconds: z.number().min(5).max(3600),
    audio_ttl_seconds: z.number().min(10).max(7 * 86400),
    integration_mirror: z.boolean(),
    heard_nothing_reply: z.boolean(),
    known_toys: z.record(z.string().regex(/^[0-9a-zA-Z]{8,32}$/), z.string()),
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
  log: section({ level: z.enum(["debug", "info", "warn", "error"]) }),
});

export type Config = z.infer<typeof configSchema>;
