import { describe, expect, test } from "bun:test";
import { splitSentences, splitText } from "../../../src/pipeline/sentences.ts";

const SEPARATORS = "，！。？,!.?";

async function split(chunks: string[]): Promise<string[]> {
  async function* source() {
    for (const c of chunks) yield c;
  }
  const out: string[] = [];
  for await (const s of splitSentences(source(), SEPARATORS)) out.push(s);
  return out;
}

describe("splitSentences", () => {
  test("emits each sentence as soon as the next chunk shows it is complete", async () => {
    const seen: string[] = [];
    async function* source() {
      yield "Hello there";
      yield ". How are";
      expect(seen).toEqual(["Hello there."]); // first sentence already out before the rest arrives
      yield " you? Fine";
    }
    for await (const s of splitSentences(source(), SEPARATORS)) seen.push(s);
    expect(seen).toEqual(["Hello there.", "How are you?", "Fine"]);
  });

  test("never cuts inside numbers or abbreviations without a following space", async () => {
    expect(await split(["Pi is 3", ".", "14 and e.g", ".", "x is 1,000 big."])).toEqual(["Pi is 3.14 and e.g.x is 1,000 big."]);
  });

  test("keeps runs of marks and closing quotes with their sentence", async () => {
    expect(await split(['He said "wow!" Then... ', "what?! ok"])).toEqual(['He said "wow!"', "Then...", "what?!", "ok"]);
  });

  test("cuts Chinese at full-width marks immediately", async () => {
    expect(await split(["你好。今天", "天气很好！"])).toEqual(["你好。", "今天天气很好！"]);
  });

  test("drops pieces with nothing to speak", async () => {
    expect(await split(["... ", "!! ", "Yes."])).toEqual(["Yes."]);
  });

  test("splitText treats the end of the text as final", () => {
    expect(splitText("One. Two! Three 3.5.", SEPARATORS)).toEqual(["One.", "Two!", "Three 3.5."]);
  });
});
