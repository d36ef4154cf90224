import { describe, expect, test } from "bun:test";
import { normalize } from "../../../src/pipeline/safety/normalize.ts";

describe("normalize", () => {
  test("lowercases, drops punctuation and apostrophes, collapses spaces", () => {
    expect(normalize("  Where IS   the Lighter?!  ")).toBe("where is the lighter");
    expect(normalize("I DON'T want… to — go")).toBe("i dont want to go");
    expect(normalize("grown-ups, please")).toBe("grown ups please");
  });

  test("NFKC folds full-width letters and digits", () => {
    expect(normalize("ＨＥＬＬＯ　１２３")).toBe("hello 123");
  });

  test("removes spaces speech-to-text puts inside Chinese, keeps them between English words", () => {
    expect(normalize("打 火 机 在 哪 里")).toBe("打火机在哪里");
    expect(normalize("怎么做 炸 弹？")).toBe("怎么做炸弹");
    expect(normalize("我家住在 幸福路 23 号")).toBe("我家住在幸福路23号");
    expect(normalize("where is 打火机")).toBe("where is 打火机");
  });

  test("folds traditional characters the rules use to simplified", () => {
    expect(normalize("打火機放在哪裡")).toBe("打火机放在哪里");
    expect(normalize("沒有人愛我")).toBe("没有人爱我");
    expect(normalize("毒藥怎麼做")).toBe("毒药怎么做");
  });

  test("reads numbers as digits: spoken digit runs, tens, and Chinese numerals", () => {
    expect(normalize("my phone number is five five five, one two three four")).toBe("my phone number is 5551234");
    expect(normalize("555 867 5309")).toBe("5558675309");
    expect(normalize("forty two and twelve")).toBe("42 and 12");
    expect(normalize("我的电话是幺三八一二三四五六七八")).toBe("我的电话是13812345678");
    expect(normalize("幸福路二十三号")).toBe("幸福路23号");
    expect(normalize("三百零八")).toBe("308");
  });

  test("leaves number words that are not numbers alone", () => {
    expect(normalize("I'm the only one who knows")).toBe("im the only one who knows");
    expect(normalize("no one loves me")).toBe("nobody loves me");
    expect(normalize("我们一起玩，十分开心")).toBe("我们一起玩十分开心");
    expect(normalize("a liter of milk")).toBe("a liter of milk");
  });

  test("maps the misspellings and near-homophones speech-to-text produces", () => {
    expect(normalize("where is the liter")).toBe("where is the lighter");
    expect(normalize("can i use the nife")).toBe("can i use the knife");
    expect(normalize("how do you make poisen")).toBe("how do you make poison");
    expect(normalize("whats secks")).toBe("whats sex");
    expect(normalize("i want to kill my self")).toBe("i want to kill myself");
    expect(normalize("can i jump of the roof")).toBe("can i jump off the roof");
    expect(normalize("怎么用打伙机点火")).toBe("怎么用打火机点火");
    expect(normalize("我想自沙")).toBe("我想自杀");
  });

  test("joins spelled-out words and squeezes stretched letters", () => {
    expect(normalize("tell me about s e x")).toBe("tell me about sex");
    expect(normalize("sooooo sexxxy")).toBe("soo sexy");
  });

  test("one spelling for family words, possessives kept", () => {
    expect(normalize("Mommy's pills and Daddy's gun")).toBe("moms pills and dads gun");
    expect(normalize("granny and grandad")).toBe("grandma and grandpa");
  });
});
