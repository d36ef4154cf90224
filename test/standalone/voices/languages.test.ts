// Voices chosen by language (issue 17.1), on the `pi` profile's shape: an English voice with one
// speaker (amy, 16 kHz) and a Mandarin one with many (aishell3, 8 kHz). OpenAI names must land on
// a voice that speaks the text, and text a voice cannot pronounce is a 400 naming who can.
import { describe, expect, test } from "bun:test";
import type { VoiceInfo } from "../../../src/engines/types.ts";
import { BadRequest } from "../../../src/errors.ts";
import { canPronounce, normalizeLanguage, OPENAI_VOICES, textLanguage, Voices } from "../../../src/pipeline/voices.ts";

const PI: VoiceInfo[] = [
  { id: "amy", language: "en", speakers: 1, sampleRate: 16000 },
  { id: "aishell3", language: "zh", speakers: 174, sampleRate: 8000 },
];
const voicesOf = (list: VoiceInfo[], voiceMap: Record<string, string> = {}, defaultVoice = "") => new Voices({ voices: () => list }, { defaultVoice, voiceMap });

const EN = "Hello! How are you today?";
const ZH = "你好！今天过得怎么样？";

function badRequest(fn: () => unknown): BadRequest {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BadRequest);
    return e as BadRequest;
  }
  throw new Error("expected a 400");
}

describe("the language of a text", () => {
  test("by its letters: Han, kana, Hangul, Latin; none without letters", () => {
    expect(textLanguage(EN)).toBe("en");
    expect(textLanguage(ZH)).toBe("zh");
    expect(textLanguage("こんにちは、世界")).toBe("ja");
    expect(textLanguage("今日は良い天気ですね")).toBe("ja"); // kanji with kana is Japanese
    expect(textLanguage("안녕하세요")).toBe("ko");
    expect(textLanguage("Привет, как дела?")).toBe("ru");
    expect(textLanguage("123, 456!")).toBeUndefined();
  });

  test("mixed text goes by what most of it is (a CJK character against a Latin word)", () => {
    expect(textLanguage("我喜欢吃 apple")).toBe("zh");
    expect(textLanguage("I like to eat 苹果 every day")).toBe("en");
    expect(canPronounce("zh", "我喜欢吃 apple")).toBe(true);
    expect(canPronounce("en", "我喜欢吃 apple")).toBe(false);
    expect(canPronounce("zh", EN)).toBe(false);
    expect(canPronounce("en", EN)).toBe(true);
    expect(canPronounce("zh", "2024!")).toBe(true);
    expect(canPronounce("ja", "今日は良い天気")).toBe(true);
  });

  test("locales are read as their language", () => {
    expect(normalizeLanguage("zh-CN")).toBe("zh");
    expect(normalizeLanguage("EN_us")).toBe("en");
    expect(normalizeLanguage("cmn")).toBe("zh");
    expect(normalizeLanguage("yue")).toBe("yue");
    expect(normalizeLanguage("auto")).toBeUndefined();
    expect(normalizeLanguage("")).toBeUndefined();
  });
});

describe("/v1/audio/speech voices (forText)", () => {
  test("every OpenAI name speaks English text with the English voice, never a Mandarin speaker", () => {
    const voices = voicesOf(PI);
    for (const name of OPENAI_VOICES) expect(voices.forText(name, EN)).toBe("amy:0");
    // and the map the API shows (GET /v1/audio/voices) says so too
    expect(new Set(Object.values(voices.currentVoiceMap()))).toEqual(new Set(["amy:0"]));
  });

  test("Chinese text: every OpenAI name gets an aishell3 speaker, each a different one", () => {
    const voices = voicesOf(PI);
    const chosen = OPENAI_VOICES.map((name) => voices.forText(name, ZH));
    for (const v of chosen) expect(v).toMatch(/^aishell3:\d+$/);
    expect(new Set(chosen).size).toBe(OPENAI_VOICES.length);
    expect(voices.forText("alloy", ZH)).toBe(voices.forText("alloy", "小兔子喜欢吃胡萝卜。")); // stable per name
    expect(voices.currentVoiceMap("zh").alloy).toBe(voices.forText("alloy", ZH));
  });

  test("a local voice that cannot pronounce the text is a 400 naming the voices that can", () => {
    const voices = voicesOf(PI);
    const zhForEnglish = badRequest(() => voices.forText("aishell3:12", EN));
    expect(zhForEnglish.status).toBe(400);
    expect(zhForEnglish.param).toBe("voice");
    expect(zhForEnglish.code).toBe("unsupported_language");
    expect(zhForEnglish.message).toContain('voice "aishell3:12" speaks Chinese (zh)');
    expect(zhForEnglish.message).toContain("amy (en)");
    expect(zhForEnglish.message).not.toContain("aishell3 (zh");
    const enForChinese = badRequest(() => voices.forText("amy", ZH));
    expect(enForChinese.message).toContain("aishell3 (zh, speakers aishell3:0..173)");
    // the voices themselves still work for their own language
    expect(voices.forText("aishell3:12", ZH)).toBe("aishell3:12");
    expect(voices.forText("amy", EN)).toBe("amy:0");
    expect(voices.forText("amy", "42!")).toBe("amy:0"); // nothing to mispronounce
  });

  test("text no installed voice speaks is a 400 listing the installed voices", () => {
    const e = badRequest(() => voicesOf(PI).forText("nova", "안녕하세요, 반갑습니다"));
    expect(e.param).toBe("input");
    expect(e.message).toContain("Korean (ko)");
    expect(e.message).toContain("Installed voices: amy (en), aishell3 (zh)");
  });

  test("a voice-map entry is used for the language its voice speaks; other languages spread as usual", () => {
    const voices = voicesOf(PI, { nova: "aishell3:12", shimmer: "amy" });
    expect(voices.forText("nova", ZH)).toBe("aishell3:12");
    expect(voices.forText("nova", EN)).toBe("amy:0");
    expect(voices.forText("shimmer", EN)).toBe("amy:0");
    expect(voices.forText("shimmer", ZH)).toMatch(/^aishell3:/);
    expect(voices.currentVoiceMap().nova).toBe("aishell3:12"); // the map shows what was set
    expect(voices.resolve("nova")).toBe("aishell3:12");
  });

  test("a role's language wins over what the text looks like", () => {
    const voices = voicesOf(PI);
    expect(voices.forText("alloy", "好的", "zh-CN")).toMatch(/^aishell3:/);
    expect(voices.forText("alloy", "好的")).toMatch(/^aishell3:/);
    // an English role asking for Chinese text: no English voice can say it
    expect(badRequest(() => voices.forText("alloy", "好的", "en")).message).toContain("English (en) as asked, written like Chinese (zh)");
    expect(badRequest(() => voices.forText("aishell3", "好的", "en")).message).toContain('voice "aishell3" speaks Chinese (zh)');
  });

  test("unknown names are still a 400 listing the valid ones", () => {
    const e = badRequest(() => voicesOf(PI).forText("nobody", EN));
    expect(e.message).toContain('unknown voice "nobody"');
    expect(e.message).toContain("alloy");
    expect(e.message).toContain("aishell3 (or aishell3:0..173)");
  });
});

describe("a text for a chosen voice (toSay: an integration's iwantplay in a role's voice)", () => {
  test("the role's voice when it can say the text, else a voice of the text's language, else a 400", () => {
    const voices = voicesOf(PI);
    expect(voices.toSay("aishell3:5", ZH)).toBe("aishell3:5");
    expect(voices.toSay("aishell3:5", EN)).toBe("amy:0");
    expect(voices.toSay("amy:0", ZH)).toBe("aishell3:0");
    expect(badRequest(() => voices.toSay("amy:0", "안녕하세요")).message).toContain("no installed voice can speak this text");
  });
});

describe("a role's voice (forLanguage)", () => {
  test("an OpenAI name gives a voice of the role's language", () => {
    const voices = voicesOf(PI);
    expect(voices.forLanguage("alloy", "zh").voice).toMatch(/^aishell3:/);
    expect(voices.forLanguage("alloy", "en")).toEqual({ voice: "amy:0" });
    expect(voices.forLanguage("alloy", "zh-CN").voice).toBe(voices.forLanguage("alloy", "zh").voice);
  });

  test("a local voice of another language is replaced by one of the role's language, with a note", () => {
    const voices = voicesOf(PI);
    const choice = voices.forLanguage("aishell3:3", "en");
    expect(choice.voice).toBe("amy:0");
    expect(choice.note).toContain('voice "aishell3:3" speaks Chinese (zh), not the role\'s English (en)');
    expect(voices.forLanguage("aishell3:3", "zh")).toEqual({ voice: "aishell3:3" });
  });

  test("a cloud voice that is not installed falls back to the role's language", () => {
    const choice = voicesOf(PI).forLanguage("zh-CN-XiaoxiaoNeural", "zh");
    expect(choice.voice).toBe("aishell3:0");
    expect(choice.note).toBe('"zh-CN-XiaoxiaoNeural" is not an installed voice (a cloud voice?); using aishell3:0, a Chinese (zh) voice');
  });

  test("no voice of the language: the named or default voice, and a note saying no voice speaks it", () => {
    const enOnly = voicesOf([PI[0]!]);
    const choice = enOnly.forLanguage(null, "zh");
    expect(choice.voice).toBe("amy:0");
    expect(choice.note).toContain("no installed voice speaks Chinese (zh)");
    expect(enOnly.forLanguage("alloy", "zh").note).toContain("no installed voice speaks Chinese (zh)");
  });

  test("without a language: the named voice, or the default", () => {
    const voices = voicesOf(PI, {}, "aishell3:7");
    expect(voices.forLanguage("amy", undefined)).toEqual({ voice: "amy:0" });
    expect(voices.forLanguage(undefined, undefined)).toEqual({ voice: "aishell3:7" });
    expect(voices.forLanguage("nobody", undefined)).toEqual({ voice: "aishell3:7", note: '"nobody" is not an installed voice (a cloud voice?); using the default voice aishell3:7' });
  });
});
