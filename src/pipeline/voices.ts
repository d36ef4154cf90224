// Choosing a voice: local names ("amy", "aishell3:12"), OpenAI names ("alloy", ...) through the
// voice map, the default voice, or a voice of a language. The TTS engine only knows
// "id:speaker"; this vocabulary belongs to the API and the roles, so it lives here.
//
// Voices speak one language (amy: English through espeak, aishell3: Mandarin through a lexicon
// that drops every word it does not know), so a voice is always chosen for the language of the
// text (the API) or of the role (toys, the console): OpenAI names map to a voice of that language,
// and text a voice cannot pronounce is a 400 naming the voices that can, never a 200 of silence.
import { BadRequest } from "../errors.ts";
import type { Tts, VoiceInfo } from "../engines/types.ts";

export const OPENAI_VOICES = ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin", "cedar"] as const;
/**
 * What the voice map accepts as a name: OpenAI's style (lowercase word), so a voice OpenAI adds
 * later can be mapped before Hearth knows it. Local voice names ("amy") cannot be remapped.
 */
const MAPPABLE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

// ---- languages and scripts -------------------------------------------------------------------

/** The writing systems told apart. A voice reads one (Japanese: kana and kanji). */
export type Script = "han" | "kana" | "hangul" | "latin" | "cyrillic" | "greek" | "arabic" | "hebrew" | "thai" | "devanagari";

const LANGUAGE_SCRIPT: Record<string, Script> = {
  zh: "han", yue: "han", ja: "kana", ko: "hangul",
  ru: "cyrillic", uk: "cyrillic", be: "cyrillic", bg: "cyrillic", sr: "cyrillic", mk: "cyrillic", kk: "cyrillic", mn: "cyrillic",
  el: "greek", ar: "arabic", fa: "arabic", ur: "arabic", he: "hebrew", th: "thai", hi: "devanagari", mr: "devanagari", ne: "devanagari",
};
/** The language a text in a script is taken for when nothing else says (Latin: English). */
const SCRIPT_LANGUAGE: Record<Script, string> = {
  han: "zh", kana: "ja", hangul: "ko", latin: "en", cyrillic: "ru", greek: "el", arabic: "ar", hebrew: "he", thai: "th", devanagari: "hi",
};
const LANGUAGE_NAMES: Record<string, string> = { en: "English", zh: "Chinese", yue: "Cantonese", ja: "Japanese", ko: "Korean", ru: "Russian", de: "German", fr: "French", es: "Spanish" };

// One unit per CJK character (a syllable) or per word of an alphabet.
const UNIT = /(\p{Script=Han})|([\p{Script=Hiragana}\p{Script=Katakana}])|(\p{Script=Hangul})|(\p{Script=Latin}+)|(\p{Script=Cyrillic}+)|(\p{Script=Greek}+)|(\p{Script=Arabic}+)|(\p{Script=Hebrew}+)|(\p{Script=Thai}+)|(\p{Script=Devanagari}+)/gu;
const UNIT_SCRIPTS: Script[] = ["han", "kana", "hangul", "latin", "cyrillic", "greek", "arabic", "hebrew", "thai", "devanagari"];

/**
 * "zh-CN" -> "zh", "EN_us" -> "en", "cmn" -> "zh"; "yue" stays. Empty or "auto" -> undefined.
 * (A role's `language` may be a locale, as in FoloToy's own roles.json files.)
 */
export function normalizeLanguage(language: string | null | undefined): string | undefined {
  const primary = (language ?? "").trim().toLowerCase().split(/[-_]/)[0] ?? "";
  if (!primary || primary === "auto") return undefined;
  if (primary === "cmn" || primary === "zho" || primary === "chi") return "zh";
  if (primary === "eng") return "en";
  return primary;
}

export function scriptOfLanguage(language: string): Script {
  return LANGUAGE_SCRIPT[normalizeLanguage(language) ?? "en"] ?? "latin";
}

/** The scripts a voice of `language` can read. */
function readableScripts(language: string): Script[] {
  const script = scriptOfLanguage(language);
  return script === "kana" ? ["kana", "han"] : [script];
}

/** How much of a text is written in each script (CJK characters and alphabet words). */
export function scriptUnits(text: string): Partial<Record<Script, number>> {
  const units: Partial<Record<Script, number>> = {};
  for (const m of text.matchAll(UNIT)) {
    const i = m.slice(1).findIndex((g) => g !== undefined);
    const script = UNIT_SCRIPTS[i]!;
    units[script] = (units[script] ?? 0) + 1;
  }
  return units;
}

/**
 * The language a text is written in, as far as its letters tell: Chinese characters "zh" (with
 * kana "ja"), Hangul "ko", Latin letters "en", ...; undefined for a text without letters ("123!").
 */
export function textLanguage(text: string): string | undefined {
  const units = scriptUnits(text);
  if ((units.kana ?? 0) > 0) units.kana = (units.kana ?? 0) + (units.han ?? 0); // kanji in a Japanese text
  let best: Script | undefined;
  for (const s of Object.keys(units) as Script[]) if (!best || units[s]! > units[best]!) best = s;
  return best && SCRIPT_LANGUAGE[best];
}

/** Whether a voice of `language` can pronounce most of a text (at least half of it; a text without letters always). */
export function canPronounce(language: string, text: string): boolean {
  const units = scriptUnits(text);
  const total = Object.values(units).reduce((a, b) => a + b, 0);
  if (total === 0) return true;
  const readable = readableScripts(language).reduce((n, s) => n + (units[s] ?? 0), 0);
  return readable * 2 >= total;
}

function languageName(language: string): string {
  const name = LANGUAGE_NAMES[language];
  return name ? `${name} (${language})` : language;
}

// ---- voices ---------------------------------------------------------------------------------

export interface VoiceSettings {
  /** [tts] default_voice: a local voice name; empty = the profile's first voice. */
  defaultVoice: string;
  /** [tts] voice_map: OpenAI name -> local voice name. */
  voiceMap: Record<string, string>;
}

/** A voice chosen for a role, and why it is not the one the role names (for a log line). */
export interface VoiceChoice {
  voice: string;
  note?: string;
}

export class Voices {
  private voiceMap: Record<string, string> = {};

  constructor(
    private readonly tts: Pick<Tts, "voices">,
    private readonly settings: VoiceSettings,
  ) {
    this.setVoiceMap(settings.voiceMap);
    if (settings.defaultVoice) this.resolve(settings.defaultVoice);
  }

  list(): VoiceInfo[] {
    return this.tts.voices();
  }

  /** Every name /v1/audio/speech accepts, for GET /v1/audio/voices. */
  names(): string[] {
    const names: string[] = [];
    for (const v of this.list()) {
      names.push(v.id);
      for (let s = 1; s < Math.min(v.speakers, 10); s++) names.push(`${v.id}:${s}`);
    }
    return [...this.mappedNames(), ...names];
  }

  /**
   * OpenAI's names and any other name the map adds: each name's map entry, or where it is spread
   * among the voices of the default voice's language. With `language`: the voice each name
   * gives text in that language.
   */
  currentVoiceMap(language?: string): Record<string, string> {
    const lang = normalizeLanguage(language);
    const map: Record<string, string> = {};
    for (const name of this.mappedNames()) map[name] = (lang && this.openaiVoice(name, lang)) || this.resolve(name);
    return map;
  }

  /**
   * Maps OpenAI-style names (any lowercase word, so future OpenAI voices too) to installed voices
   * ("id" or "id:speaker"). Keys are lowercased; a bad key or target is a 400 and changes nothing.
   */
  setVoiceMap(map: Record<string, string>) {
    const entries = Object.entries(map).map(([from, to]) => [from.trim().toLowerCase(), to.trim()] as const);
    for (const [from, to] of entries) {
      if (!MAPPABLE_NAME.test(from)) {
        throw new BadRequest(`voice map: "${from}" is not a voice name OpenAI would use (a lowercase word: letters, digits, "-" or "_", up to 32 characters).`, from);
      }
      if (this.list().some((v) => v.id === from)) {
        throw new BadRequest(`voice map: "${from}" is an installed voice's own name and always means that voice; map OpenAI voice names only.`, from);
      }
      this.resolveLocal(to, `voice map entry "${from}"`);
    }
    this.voiceMap = { ...this.voiceMap, ...Object.fromEntries(entries) };
  }

  /**
   * Canonical "id:speaker" for a voice name: a local voice, an OpenAI name (its map entry, else
   * spread among the voices of the default voice's language), or nothing (the first voice of
   * `language`, else the default voice).
   * Unknown names are a 400 listing the valid ones. Says nothing about what the voice can pronounce:
   * for a text use forText, for a role forLanguage.
   */
  resolve(name?: string | null, language?: string): string {
    if (!name) {
      const lang = normalizeLanguage(language);
      const match = lang ? this.voicesFor(lang)[0] : undefined;
      if (match) return `${match.id}:0`;
      return this.defaultVoice();
    }
    const lower = name.toLowerCase();
    if (Object.hasOwn(this.voiceMap, lower)) return this.resolveLocal(this.voiceMap[lower]!, "voice");
    if (this.isOpenAiName(lower)) return this.openaiVoice(lower, this.defaultLanguage()) ?? this.spreadVoice(lower, this.list());
    return this.resolveLocal(name, "voice");
  }

  /** Like resolve, but a name that is not installed (e.g. a cloud voice in a roles file) falls back by language. */
  resolveOrFallback(name: string | null | undefined, language?: string): { voice: string; fellBack?: string } {
    try {
      return { voice: this.resolve(name, language) };
    } catch (e) {
      return { voice: this.resolve(null, language), fellBack: (e as Error).message };
    }
  }

  /**
   * The voice that speaks `text` for a request naming `name` (/v1/audio/speech): a local voice
   * as named; an OpenAI name through the voice map when that voice speaks the text's language,
   * else spread over the voices of that language only. `language` (a role's) wins over what the
   * text looks like. A text the voice cannot pronounce is a 400 naming the voices that can.
   */
  forText(name: string, text: string, language?: string): string {
    const lang = normalizeLanguage(language) ?? textLanguage(text);
    const lower = name.toLowerCase();
    if (this.isOpenAiName(lower)) {
      const voice = lang ? this.openaiVoice(lower, lang, text) : this.resolve(lower);
      if (voice) return voice;
      throw this.nobodySpeaks(lang!, text);
    }
    const voice = this.resolveLocal(name, "voice");
    const info = this.info(voice);
    if (!canPronounce(info.language, text) || (language && !sameScript(info.language, lang!))) {
      throw new BadRequest(
        `voice "${name}" speaks ${languageName(info.language)} and cannot pronounce this text, which is ${describeText(text, lang)}. ${this.whoSpeaks(lang!, text)}`,
        "voice",
        "unsupported_language",
      );
    }
    return voice;
  }

  /**
   * The voice a role speaks with: its `voice_name` when that voice speaks the role's language
   * (an OpenAI name: the mapped or spread voice of that language), else a voice of the language,
   * else (no installed voice speaks it) what the name or the default gives, with a note saying so.
   * Never throws for a name that is not installed (a cloud voice in a roles file): it falls back.
   */
  forLanguage(name: string | null | undefined, language: string | null | undefined): VoiceChoice {
    const lang = normalizeLanguage(language);
    const lower = name?.toLowerCase();
    if (!lang) {
      const { voice, fellBack } = this.resolveOrFallback(name);
      return fellBack ? { voice, note: `"${name}" is not an installed voice (a cloud voice?); using the default voice ${voice}` } : { voice };
    }
    const own = this.voicesFor(lang);
    if (lower && this.isOpenAiName(lower)) {
      const voice = this.openaiVoice(lower, lang);
      if (voice) return { voice };
      const fallback = this.resolve(lower);
      return { voice: fallback, note: `no installed voice speaks ${languageName(lang)}; "${name}" is ${fallback} (${this.info(fallback).language})` };
    }
    let named: string | undefined;
    let problem: string | undefined;
    if (name) {
      try {
        named = this.resolveLocal(name, "voice");
      } catch {
        problem = `"${name}" is not an installed voice (a cloud voice?)`;
      }
    }
    if (named && sameScript(this.info(named).language, lang)) return { voice: named };
    if (own.length) {
      const voice = `${own[0]!.id}:0`;
      if (named) return { voice, note: `voice "${name}" speaks ${languageName(this.info(named).language)}, not the role's ${languageName(lang)}; using ${voice}` };
      return { voice, note: problem && `${problem}; using ${voice}, a ${languageName(lang)} voice` };
    }
    const voice = named ?? this.defaultVoice();
    return { voice, note: `no installed voice speaks ${languageName(lang)}; using ${voice} (${this.info(voice).language})${problem ? `. ${problem}` : ""}` };
  }

  /**
   * The voice to say `text` with when `voice` was chosen for something else (a role's voice for an
   * integration's iwantplay text): `voice` when it can pronounce the text, else a voice of the
   * text's language. A text no installed voice speaks is a 400.
   */
  toSay(voice: string, text: string): string {
    if (canPronounce(this.info(voice).language, text)) return voice;
    const lang = textLanguage(text)!;
    const able = this.voicesFor(lang).filter((v) => canPronounce(v.language, text));
    if (!able.length) throw this.nobodySpeaks(lang, text);
    return `${able[0]!.id}:0`;
  }

  /** Installed voices that speak `language`: that very language first, then others of its script. */
  voicesFor(language: string): VoiceInfo[] {
    const lang = normalizeLanguage(language) ?? "en";
    const voices = this.list();
    return [...voices.filter((v) => normalizeLanguage(v.language) === lang), ...voices.filter((v) => normalizeLanguage(v.language) !== lang && sameScript(v.language, lang))];
  }

  sampleRateOf(voice: string): number {
    return this.info(voice).sampleRate;
  }

  info(voice: string): VoiceInfo {
    const id = voice.split(":")[0];
    const info = this.list().find((v) => v.id === id);
    if (!info) throw new BadRequest(`unknown voice "${voice}"`, "voice");
    return info;
  }

  private isOpenAiName(lower: string): boolean {
    return Object.hasOwn(this.voiceMap, lower) || (OPENAI_VOICES as readonly string[]).includes(lower);
  }

  /**
   * An OpenAI name for text in `language`: its voice-map entry when that voice speaks the
   * language (and the text), else spread over the voices of the language. Undefined when no
   * installed voice speaks it.
   */
  private openaiVoice(lower: string, language: string, text?: string): string | undefined {
    const mapped = Object.hasOwn(this.voiceMap, lower) ? this.resolveLocal(this.voiceMap[lower]!, "voice") : undefined;
    const fits = (v: string) => sameScript(this.info(v).language, language) && (text === undefined || canPronounce(this.info(v).language, text));
    if (mapped && fits(mapped)) return mapped;
    const candidates = this.voicesFor(language).filter((v) => text === undefined || canPronounce(v.language, text));
    return candidates.length ? this.spreadVoice(lower, candidates) : undefined;
  }

  private defaultVoice(): string {
    return this.settings.defaultVoice ? this.resolveLocal(this.settings.defaultVoice, "[tts] default_voice") : `${this.list()[0]!.id}:0`;
  }

  private defaultLanguage(): string {
    return normalizeLanguage(this.info(this.defaultVoice()).language) ?? "en";
  }

  private resolveLocal(name: string, what: string): string {
    const [id, speakerText] = name.split(":");
    const voice = this.list().find((v) => v.id === id);
    const speaker = speakerText === undefined ? 0 : Number(speakerText);
    if (!voice || !Number.isInteger(speaker) || speaker < 0 || speaker >= voice.speakers) {
      throw new BadRequest(`${what}: unknown voice "${name}". Valid voices: ${this.namesForError()}.`, "voice");
    }
    return `${id}:${speaker}`;
  }

  private namesForError(): string {
    const local = this.list().map((v) => (v.speakers > 1 ? `${v.id} (or ${v.id}:0..${v.speakers - 1})` : v.id));
    return [...this.mappedNames(), ...local].join(", ");
  }

  private whoSpeaks(language: string, text: string): string {
    const able = this.voicesFor(language).filter((v) => canPronounce(v.language, text));
    if (!able.length) return this.nobodySpeaks(language, text).message;
    const list = able.map((v) => `${v.id} (${v.language}${v.speakers > 1 ? `, speakers ${v.id}:0..${v.speakers - 1}` : ""})`).join(", ");
    return `Voices that can speak it: ${list}; the OpenAI names (alloy, nova, ...) choose among them by themselves.`;
  }

  private nobodySpeaks(language: string, text: string): BadRequest {
    const installed = this.list().map((v) => `${v.id} (${v.language})`).join(", ");
    return new BadRequest(`no installed voice can speak this text, which is ${describeText(text, language)}. Installed voices: ${installed}.`, "input", "unsupported_language");
  }

  private mappedNames(): string[] {
    return [...new Set([...OPENAI_VOICES, ...Object.keys(this.voiceMap)])];
  }

  /** An OpenAI name's place among the speakers of `voices`, in a fixed order. */
  private spreadVoice(openaiName: string, voices: VoiceInfo[]): string {
    const pairs = voices.flatMap((v) => Array.from({ length: Math.min(v.speakers, OPENAI_VOICES.length) }, (_, s) => `${v.id}:${s}`));
    let index = OPENAI_VOICES.indexOf(openaiName as (typeof OPENAI_VOICES)[number]);
    if (index < 0) index = [...openaiName].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7); // a name only the map knows
    return pairs[index % pairs.length]!;
  }
}

function sameScript(a: string, b: string): boolean {
  const readable = readableScripts(a);
  return readable.includes(scriptOfLanguage(b));
}

function describeText(text: string, language: string | undefined): string {
  const detected = textLanguage(text);
  if (language && detected && language !== detected) return `${languageName(language)} as asked, written like ${languageName(detected)}`;
  return language ? `written in ${languageName(language)}` : "without letters";
}
