import { describe, expect, test } from "bun:test";
import { splitReply, splitSentences, splitText } from "../../../src/pipeline/sentences.ts";

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

describe("splitReply: the first clause early", () => {
  const CLAUSE = { marks: ",，、;；:：", minWords: 4 };
  const ENDS = "！。？!.?";
  async function pieces(chunks: string[], firstClause = CLAUSE) {
    async function* source() {
      for (const c of chunks) yield c;
    }
    const out: { text: string; clause?: boolean }[] = [];
    for await (const p of splitReply(source(), ENDS, firstClause)) out.push(p);
    return out;
  }

  test("a long first sentence is cut at the first comma with enough words, before the sentence ends", async () => {
    const seen: string[] = [];
    async function* source() {
      yield "Once upon a time in a big forest, there";
      yield " lived";
      expect(seen).toEqual(["Once upon a time in a big forest,"]);
      yield " a fox. It was red, and it was happy, too.";
    }
    const out: { text: string; clause?: boolean }[] = [];
    for await (const p of splitReply(source(), ENDS, CLAUSE)) {
      seen.push(p.text);
      out.push(p);
    }
    // only the reply's first piece is cut early; later sentences stay whole
    expect(out).toEqual([
      { text: "Once upon a time in a big forest,", clause: true },
      { text: "there lived a fox." },
      { text: "It was red, and it was happy, too." },
    ]);
  });

  test("a clause too short to sound natural waits for a later mark or the sentence end", async () => {
    expect(await pieces(["Oh, I see, you like big red dogs, right?"])).toEqual([
      { text: "Oh, I see, you like big red dogs,", clause: true },
      { text: "right?" },
    ]);
    expect(await pieces(["Oh, yes. Fine."])).toEqual([{ text: "Oh, yes." }, { text: "Fine." }]);
  });

  test("numbers with a comma are not clause ends, and a mark at the end of a chunk waits to see a space", async () => {
    expect(await pieces(["There are 1,000 stars up in the sky", ",", " my friend."])).toEqual([
      { text: "There are 1,000 stars up in the sky,", clause: true },
      { text: "my friend." },
    ]);
  });

  test("Chinese counts a character as half a word and cuts at full-width commas at once", async () => {
    expect(await pieces(["从前有一只小狐狸，", "它住在森林里。"])).toEqual([
      { text: "从前有一只小狐狸，", clause: true },
      { text: "它住在森林里。" },
    ]);
    expect(await pieces(["好的，我们走吧。"])).toEqual([{ text: "好的，我们走吧。" }]);
  });

  test("minWords 0 (or no clause settings) keeps whole sentences only", async () => {
    const text = ["Once upon a time in a big forest, there lived a fox."];
    expect(await pieces(text, { ...CLAUSE, minWords: 0 })).toEqual([{ text: "Once upon a time in a big forest, there lived a fox." }]);
  });
});
