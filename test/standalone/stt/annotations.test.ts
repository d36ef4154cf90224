import { describe, expect, test } from "bun:test";
import { stripAnnotations } from "../../../src/engines/stt/annotations.ts";

describe("stripAnnotations", () => {
  test("a transcript of annotations only is nothing heard", () => {
    const only = [
      "[speaking in foreign language]",
      "[BLANK_AUDIO]",
      " [BLANK_AUDIO] ",
      "[MUSIC PLAYING]",
      "[Music]",
      "[ Silence ]",
      "[inaudible]",
      "[INAUDIBLE]",
      "(music)",
      "(upbeat music)",
      "(soft music playing)",
      "(speaking in foreign language)",
      "(applause)",
      "(laughs)",
      "(Laughter)",
      "(silence)",
      "(background noise)",
      "(wind blowing)",
      "(dog barking)",
      "(sighs)",
      "(coughing)",
      "(indistinct chatter)",
      "(BLANK_AUDIO)",
      "*laughs*",
      "*giggles*",
      "*coughs* *sniffles*",
      "♪",
      "♪♪♪",
      "♪ ♪",
      "🎵",
      "<|en|><|EMO_UNKNOWN|><|Speech|><|withitn|>",
      "<|nospeech|><|EMO_UNKNOWN|><|BGM|><|woitn|>",
      "<|endoftext|>",
      "[Music] .",
      "(music)...",
      "[BLANK_AUDIO] [BLANK_AUDIO]",
      "(music) [applause] *laughs* ♪",
      "",
      "   ",
      ".",
    ];
    for (const text of only) expect({ text, stripped: stripAnnotations(text) }).toEqual({ text, stripped: "" });
  });

  test("mixed transcripts keep the words, without the annotations", () => {
    const cases: [string, string][] = [
      ["(music) hello there", "hello there"],
      ["hello there (music)", "hello there"],
      ["Hello there (laughs).", "Hello there."],
      ["(laughs). Hello.", "Hello."],
      ["Hi. [BLANK_AUDIO]. Where is my cat?", "Hi. Where is my cat?"],
      ["Hello, (laughs), can you sing?", "Hello, can you sing?"],
      ["[MUSIC PLAYING] Tell me a story.", "Tell me a story."],
      ["Tell me [inaudible] a story", "Tell me a story"],
      ["*laughs* That is funny!", "That is funny!"],
      ["♪ Twinkle twinkle little star ♪", "Twinkle twinkle little star"],
      ["<|en|><|EMO_UNKNOWN|><|Speech|><|withitn|>What is the weather like today?", "What is the weather like today?"],
      ["<|en|><|HAPPY|><|Speech|><|woitn|>hello", "hello"],
      ["Hello   (music)   world", "Hello world"],
      ["(upbeat music) (applause) Can we play?", "Can we play?"],
    ];
    for (const [text, expected] of cases) expect({ text, stripped: stripAnnotations(text) }).toEqual({ text, stripped: expected });
  });

  test("parentheses and asterisks without a non-speech word are the child's words, and kept", () => {
    const kept = [
      "I have 2 cats (and a dog)",
      "My brother (he is five) likes trucks.",
      "Is 3 * 4 * 5 sixty?",
      "I *really* like dinosaurs",
      "What is (2 + 2)?",
      "Can you tell me a story about a brave little rabbit?",
      "I like music",
      "Why is the sky blue during the day?",
      "Hello, I'm Mia!",
    ];
    for (const text of kept) expect(stripAnnotations(text)).toBe(text);
  });

  test("a long parenthesis is speech even with a non-speech word in it", () => {
    const text = "My dad (he plays music in a big band every weekend) is cool";
    expect(stripAnnotations(text)).toBe(text);
  });

  test("spaces are collapsed and the ends trimmed", () => {
    expect(stripAnnotations("  hello\n  there  ")).toBe("hello there");
    expect(stripAnnotations(" Hello world. ")).toBe("Hello world.");
  });
});
