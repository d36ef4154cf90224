// What the Talk and Roles pages both need: the roles of roles.json (GET /api/roles, or the
// role:N names of GET /v1/models when the file cannot be read), the installed voices
// (GET /v1/audio/voices), and which voice a role speaks with, decided as Hearth decides it.
import { apiJson } from "./api.ts";

export interface RoleInfo {
  /** The role number as a string ("1"), as roles.json keys it. */
  key: string;
  prompt?: string;
  start_text?: string;
  voice_name?: string;
  language?: string;
  speed?: number;
  max_tokens?: number;
}

export interface VoiceInfo {
  id: string;
  language: string;
  speakers: number;
}

export interface VoiceCatalog {
  voices: VoiceInfo[];
  /** Every name /v1/audio/speech takes (OpenAI names, ids, the first speakers). */
  names: string[];
  /** OpenAI name -> "id:speaker". */
  map: Record<string, string>;
}

/** The roles (numeric keys of roles.json, in number order) from the parsed file. */
export function rolesOf(file: Record<string, unknown>): RoleInfo[] {
  return Object.entries(file)
    .filter(([key, value]) => /^\d+$/.test(key) && typeof value === "object" && value !== null)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([key, value]) => {
      const r = value as Record<string, unknown>;
      const text = (name: string) => (typeof r[name] === "string" ? (r[name] as string) : undefined);
      const number = (name: string) => (r[name] === undefined || r[name] === null || r[name] === "" || !Number.isFinite(Number(r[name])) ? undefined : Number(r[name]));
      return { key, prompt: text("prompt"), start_text: text("start_text"), voice_name: text("voice_name"), language: text("language"), speed: number("speed"), max_tokens: number("max_tokens") };
    });
}

/** The roles Hearth has: from roles.json, else the role:N models the API lists. */
export async function loadRoles(): Promise<RoleInfo[]> {
  try {
    return rolesOf(await apiJson<Record<string, unknown>>("/api/roles"));
  } catch (e) {
    const models = await apiJson<{ data: { id: string }[] }>("/v1/models").catch(() => {
      throw e;
    });
    return models.data.flatMap((m) => (/^role:\d+$/.test(m.id) ? [{ key: m.id.slice(5) }] : []));
  }
}

/** A role's short name: the first words of its greeting, else of its prompt. */
export function shortName(role: RoleInfo, max = 30): string {
  const text = (role.start_text?.trim() || role.prompt?.trim() || "").replace(/\s+/g, " ");
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${space > max / 2 ? cut.slice(0, space) : cut}…`;
}

export async function loadVoices(): Promise<VoiceCatalog> {
  const body = await apiJson<{ voices?: VoiceInfo[]; names?: string[]; openai_voice_map?: Record<string, string> }>("/v1/audio/voices");
  return { voices: body.voices ?? [], names: body.names ?? [], map: body.openai_voice_map ?? {} };
}

/** "aishell3:12" -> { id: "aishell3", speaker: 12 } when installed (OpenAI names through the map); else null. */
export function parseVoice(name: string | undefined, catalog: VoiceCatalog): { id: string; speaker: number } | null {
  if (!name) return null;
  const mapped = catalog.map[name.toLowerCase()] ?? name;
  const [id, speakerText] = mapped.split(":");
  const voice = catalog.voices.find((v) => v.id === id);
  const speaker = speakerText === undefined ? 0 : Number(speakerText);
  if (!voice || !Number.isInteger(speaker) || speaker < 0 || speaker >= voice.speakers) return null;
  return { id: voice.id, speaker };
}

/**
 * The voice a role speaks with, as Hearth picks it: its voice_name when installed, else the first
 * voice of its language; null when neither gives one (the caller falls back to the chosen voice).
 */
export function roleVoice(role: RoleInfo | undefined, catalog: VoiceCatalog): { id: string; speaker: number; why: string } | null {
  if (!role) return null;
  const named = parseVoice(role.voice_name, catalog);
  if (named) return { ...named, why: `Role ${role.key}'s voice` };
  const language = role.language?.toLowerCase().slice(0, 2);
  const byLanguage = language ? catalog.voices.find((v) => v.language === language) : undefined;
  if (byLanguage) return { id: byLanguage.id, speaker: 0, why: `The voice for role ${role.key}'s language` };
  return null;
}

/** The name /v1/audio/speech takes for a voice and speaker: "amy", "aishell3:12". */
export function voiceName(id: string, speaker: number, catalog: VoiceCatalog): string {
  const voice = catalog.voices.find((v) => v.id === id);
  return voice && voice.speakers > 1 ? `${id}:${speaker}` : id;
}

const LANGUAGES: Record<string, string> = { en: "English", zh: "Chinese", yue: "Cantonese", ja: "Japanese", ko: "Korean", de: "German", fr: "French", es: "Spanish" };

/** "en" -> "English (en)"; unknown codes as they are. */
export function languageName(code: string): string {
  const name = LANGUAGES[code.toLowerCase()];
  return name ? `${name} (${code})` : code;
}
