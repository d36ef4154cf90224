// Short lines the appliance speaks on its own (never silent): when nothing was heard, when a turn
// cannot produce its reply in time, and later the safety layer's redirects. Synthesized once per
// voice and kept, so they cost nothing at the moment they are needed.
import type { AudioChunk, Tts } from "../engines/types.ts";
import { logger } from "../log.ts";
import { collectAudio } from "./speak.ts";

const log = logger("pipeline");

export type LineKind = "heard_nothing" | "trouble" | "resting" | "quiet_hours" | "daily_limit";

const LINES: Record<LineKind, Record<string, string>> = {
  heard_nothing: {
    en: "Sorry, I didn't catch that. Can you say it again?",
    zh: "我没有听清楚，你能再说一遍吗？",
  },
  trouble: {
    en: "Hmm, give me a second... can you ask me again?",
    zh: "嗯，我刚才走神了，你能再问我一次吗？",
  },
  resting: {
    en: "I'm having a little rest right now. Let's talk later!",
    zh: "我现在在休息哦，我们等一下再聊吧！",
  },
  quiet_hours: {
    en: "It's quiet time now. Let's talk again later. Sweet dreams!",
    zh: "现在是安静时间啦，我们等一下再聊吧。晚安！",
  },
  daily_limit: {
    en: "We've talked a lot today! Let's play again tomorrow. Bye-bye!",
    zh: "今天我们聊了很多啦！明天再一起玩吧，拜拜！",
  },
};

/** The line of a kind in a language ("zh-CN" -> zh); English when the language has none. */
export function lineText(kind: LineKind, language?: string): string {
  const lang = (language ?? "en").toLowerCase().slice(0, 2);
  return LINES[kind][lang] ?? LINES[kind].en!;
}

const MAX_CACHED = 500;

/** Audio of fixed lines, per voice and speed, synthesized on first use or ahead of time with warm(). */
export class SpokenLines {
  private readonly cache = new Map<string, Promise<AudioChunk | undefined>>();

  constructor(private readonly tts: Tts) {}

  get(text: string, voice: string, speed?: number): Promise<AudioChunk | undefined> {
    const key = `${voice}|${speed ?? 1}|${text}`;
    let audio = this.cache.get(key);
    if (!audio) {
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
      audio = collectAudio(this.tts.synthesize(text, { voice, speed }));
      audio.catch(() => this.cache.delete(key));
      this.cache.set(key, audio);
    }
    return audio;
  }

  /** Synthesizes the lines now (in the background), so the first time they are needed costs nothing. */
  warm(texts: string[], voice: string, speed?: number): void {
    for (const text of texts) {
      this.get(text, voice, speed).catch((e) => log.warn("cannot pre-synthesize a line", { voice, text, error: (e as Error).message }));
    }
  }
}
