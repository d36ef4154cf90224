// models/manifest.json: which models exist, where they come from, which files they have,
// and which of them each profile uses. Read and validated here; nothing else parses it.
import { readFileSync } from "node:fs";
import { isAbsolute, normalize, resolve } from "node:path";
import { z } from "zod";
import type { SttModelType, TtsModelType } from "./types.ts";
import { ModelError } from "./errors.ts";

export const DEFAULT_MANIFEST_FILE = resolve(import.meta.dir, "../../models/manifest.json");

const STT_TYPES: readonly SttModelType[] = ["whisper", "sense_voice", "moonshine", "paraformer", "transducer", "nemo_ctc", "fire_red_asr"];
const TTS_TYPES: readonly TtsModelType[] = ["vits", "matcha", "kokoro"];
const ENGINE_TYPES: Record<ModelKind, readonly string[]> = { stt: STT_TYPES, tts: TTS_TYPES, llm: ["gguf"], vad: ["silero"] };
/** File roles that name a folder rather than a file. */
export const FOLDER_ROLES: ReadonlySet<string> = new Set(["dataDir", "dictDir"]);

const relPath = z
  .string()
  .min(1)
  .refine((p) => !isAbsolute(p) && !normalize(p).split(/[\\/]/).includes(".."), "must be a relative path inside the model folder");

const modelSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only (it is a folder name)"),
  kind: z.enum(["stt", "llm", "tts", "vad"]),
  type: z.string().min(1),
  description: z.string().optional(),
  url: z.union([z.literal(""), z.url({ protocol: /^https?$/ })]),
  /** Bytes of the download (archive or single file): exact when sha256 is pinned, else approximate (display, totals). */
  size: z.number().int().nonnegative(),
  /** sha256 (lowercase hex) of the download. With it, a download or local copy of another size or hash is refused. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits").optional(),
  /** Where the pin comes from, or a text starting with "no pin known" (trust on first use). Required with a url. */
  pin: z.string().min(1).optional(),
  archive: z.enum(["tar.bz2", "none"]),
  local: relPath,
  files: z.record(z.string(), z.union([relPath, z.array(relPath).min(1)])),
  languages: z.array(z.string().min(2)).min(1).optional(),
  windowSeconds: z.number().positive().optional(),
  language: z.string().min(2).optional(),
  speakers: z.number().int().positive().optional(),
  voice: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/).optional(),
  license: z.string(),
});

const profileSchema = z.strictObject({
  description: z.string(),
  stt: z.string(),
  llm: z.string(),
  vad: z.string(),
  tts: z.array(z.string()).min(1),
});

const manifestSchema = z.strictObject({
  $comment: z.string().optional(),
  version: z.literal(1),
  default: z.string(),
  profiles: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/), profileSchema),
  models: z.array(modelSchema).min(1),
});

export type ModelKind = "stt" | "llm" | "tts" | "vad";
/** How a manifest entry's "pin" starts when no sha256 is known for its download. */
export const NO_PIN = "no pin known";
export type ModelEntry = z.infer<typeof modelSchema>;
export type ProfileEntry = z.infer<typeof profileSchema>;
export type Manifest = z.infer<typeof manifestSchema>;

/** A profile with its model entries looked up, in a fixed order: stt, llm, vad, tts... */
export interface Profile {
  name: string;
  description: string;
  stt: ModelEntry;
  llm: ModelEntry;
  vad: ModelEntry;
  tts: ModelEntry[];
  /** All models of the profile, stt, llm, vad, then the voices. */
  models: ModelEntry[];
}

/** Validates a parsed manifest (kinds, engine types, required fields, references). Throws ModelError. */
export function parseManifest(raw: unknown, source = "manifest"): Manifest {
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`);
    throw new ModelError(`invalid model manifest ${source}:\n  ${lines.join("\n  ")}`);
  }
  const manifest = parsed.data;
  const problems: string[] = [];
  const byId = new Map<string, ModelEntry>();
  for (const m of manifest.models) {
    if (byId.has(m.id)) problems.push(`model id "${m.id}" appears twice`);
    byId.set(m.id, m);
    if (!ENGINE_TYPES[m.kind].includes(m.type)) problems.push(`${m.id}: type "${m.type}" is not a ${m.kind} engine type (${ENGINE_TYPES[m.kind].join(", ")})`);
    if (Object.keys(m.files).length === 0) problems.push(`${m.id}: files is empty`);
    if ((m.kind === "llm" || m.kind === "vad") && typeof m.files.model !== "string") problems.push(`${m.id}: a ${m.kind} needs files.model (one file)`);
    if (m.kind === "stt" && (!m.languages || !m.windowSeconds)) problems.push(`${m.id}: an stt model needs languages and windowSeconds`);
    if (m.kind === "tts" && (!m.language || !m.speakers)) problems.push(`${m.id}: a tts voice needs language and speakers`);
    if (m.kind === "tts" && !m.files.model) problems.push(`${m.id}: a tts voice needs files.model`);
    if (m.url && m.archive === "none") {
      const roles = Object.values(m.files);
      if (roles.length !== 1 || typeof roles[0] !== "string" || roles[0].includes("/")) {
        problems.push(`${m.id}: a download that is not an archive must be exactly one file (files has ${roles.length} entries)`);
      }
    }
    if (m.url && m.archive === "tar.bz2" && !m.url.endsWith(".tar.bz2")) problems.push(`${m.id}: archive is tar.bz2 but the url does not end in .tar.bz2`);
    const unpinned = m.pin?.startsWith(NO_PIN) ?? false;
    if (m.url && !m.pin) problems.push(`${m.id}: a download needs "pin": where its sha256 comes from, or "${NO_PIN}: ..." (say so explicitly)`);
    if (m.sha256 && unpinned) problems.push(`${m.id}: has a sha256 but its pin says "${NO_PIN}"`);
    if (m.sha256 && m.size === 0) problems.push(`${m.id}: a pinned sha256 needs the exact size in bytes`);
    if (m.pin && !m.sha256 && !unpinned) problems.push(`${m.id}: "pin" describes a pin but there is no sha256 (or start it with "${NO_PIN}")`);
  }
  const voices = new Map<string, string>();
  for (const [name, p] of Object.entries(manifest.profiles)) {
    const refs: [string, ModelKind][] = [[p.stt, "stt"], [p.llm, "llm"], [p.vad, "vad"], ...p.tts.map((t) => [t, "tts"] as [string, ModelKind])];
    for (const [id, kind] of refs) {
      const m = byId.get(id);
      if (!m) problems.push(`profile ${name}: no model with id "${id}"`);
      else if (m.kind !== kind) problems.push(`profile ${name}: "${id}" is a ${m.kind} model, used as ${kind}`);
    }
    voices.clear();
    for (const id of p.tts) {
      const voice = byId.get(id)?.voice ?? id;
      if (voices.has(voice)) problems.push(`profile ${name}: two voices are named "${voice}"`);
      voices.set(voice, id);
    }
  }
  if (!manifest.profiles[manifest.default]) problems.push(`default profile "${manifest.default}" does not exist`);
  if (problems.length) throw new ModelError(`invalid model manifest ${source}:\n  ${problems.join("\n  ")}`);
  return manifest;
}

/** Reads and validates models/manifest.json (or another file). */
export function loadManifest(file = DEFAULT_MANIFEST_FILE): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ModelError(`cannot read model manifest ${file}: ${(e as Error).message}`);
  }
  return parseManifest(raw, file);
}

/** The named profile with its entries. Unknown name: ModelError listing the profiles there are. */
export function getProfile(manifest: Manifest, name: string): Profile {
  const p = manifest.profiles[name];
  if (!p) {
    throw new ModelError(`unknown model profile "${name}": the manifest has ${Object.keys(manifest.profiles).join(", ")} (set [models] profile or HEARTH_MODELS_PROFILE)`);
  }
  const get = (id: string) => manifest.models.find((m) => m.id === id)!;
  const stt = get(p.stt);
  const llm = get(p.llm);
  const vad = get(p.vad);
  const tts = p.tts.map(get);
  return { name, description: p.description, stt, llm, vad, tts, models: [stt, llm, vad, ...tts] };
}

/** The file name of a model's download (last segment of its URL), or null for local-only models. */
export function downloadName(entry: ModelEntry): string | null {
  if (!entry.url) return null;
  const last = decodeURIComponent(new URL(entry.url).pathname.split("/").pop() ?? "");
  return last || null;
}

/** The exact size and sha256 a model's download must have, or null when none is pinned (trust on first use). */
export function pinOf(entry: ModelEntry): { size: number; sha256: string } | null {
  return entry.sha256 ? { size: entry.size, sha256: entry.sha256 } : null;
}

/** Every path a model's files map names, relative to the model folder, with whether it is a folder. */
export function requiredPaths(entry: ModelEntry): { role: string; path: string; folder: boolean }[] {
  const out: { role: string; path: string; folder: boolean }[] = [];
  for (const [role, value] of Object.entries(entry.files)) {
    for (const p of Array.isArray(value) ? value : [value]) out.push({ role, path: p, folder: FOLDER_ROLES.has(role) });
  }
  return out;
}
