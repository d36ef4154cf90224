// Choosing a voice: local names ("amy", "aishell3:12"), OpenAI names ("alloy", ...) through the
// voice map, the default voice, or the first voice of a language. The TTS engine only knows
// "id:speaker"; this vocabulary belongs to the API and the roles, so it lives here.
import { BadRequest } from "../errors.ts";
import type { Tts, VoiceInfo } from "../engines/types.ts";

export const OPENAI_VOICES = ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin", "cedar"] as const;
/**
 * What the voice map accepts as a name: OpenAI's style (lowercase word), so a voice OpenAI adds
 * later can be mapped before Hearth knows it. Local voice names ("amy") cannot be remapped.
 */
const MAPPABLE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export interface VoiceSettings {
  /** [tts] default_voice: a local voice name; empty = the profile's first voice. */
  defaultVoice: string;
  /** [tts] voice_map: OpenAI name -> local voice name. */
  voiceMap: Record<string, string>;
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

  /** OpenAI's names (each mapped or spread over the voices) and any other name the map adds. */
  currentVoiceMap(): Record<string, string> {
    const map: Record<string, string> = {};
    for (const name of this.mappedNames()) map[name] = this.voiceMap[name] ?? this.spreadVoice(name);
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
   * Canonical "id:speaker" for a voice name: a local voice, an OpenAI name, or nothing (the
   * first voice of `language`, else the default voice). Unknown names are a 400 listing the valid ones.
   */
  resolve(name?: string | null, language?: string): string {
    if (!name) {
      if (language) {
        const match = this.list().find((v) => v.language === language.toLowerCase().slice(0, 2));
        if (match) return `${match.id}:0`;
      }
      return this.settings.defaultVoice ? this.resolveLocal(this.settings.defaultVoice, "[tts] default_voice") : `${this.list()[0]!.id}:0`;
    }
    const lower = name.toLowerCase();
    const mapped = Object.hasOwn(this.voiceMap, lower) ? this.voiceMap[lower] : undefined;
    if (mapped) return this.resolveLocal(mapped, "voice");
    if ((OPENAI_VOICES as readonly string[]).includes(lower)) return this.resolveLocal(this.spreadVoice(lower), "voice");
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

  sampleRateOf(voice: string): number {
    return this.info(voice).sampleRate;
  }

  info(voice: string): VoiceInfo {
    const id = voice.split(":")[0];
    const info = this.list().find((v) => v.id === id);
    if (!info) throw new BadRequest(`unknown voice "${voice}"`, "voice");
    return info;
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

  private mappedNames(): string[] {
    return [...new Set([...OPENAI_VOICES, ...Object.keys(this.voiceMap)])];
  }

  /** Unmapped OpenAI names spread over English voices/speakers first, in a fixed order. */
  private spreadVoice(openaiName: string): string {
    const voices = this.list().sort((a, b) => Number(b.language === "en") - Number(a.language === "en"));
    const pairs = voices.flatMap((v) => Array.from({ length: Math.min(v.speakers, OPENAI_VOICES.length) }, (_, s) => `${v.id}:${s}`));
    const index = OPENAI_VOICES.indexOf(openaiName as (typeof OPENAI_VOICES)[number]);
    return pairs[index % pairs.length]!;
  }
}
