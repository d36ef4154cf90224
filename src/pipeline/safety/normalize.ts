// Turns a transcript or a model sentence into the one form every rule is written against:
//   lowercase, NFKC, traditional Chinese folded to simplified (for the characters the rules use),
//   no punctuation ("don't" -> "dont"), single spaces, no spaces inside Chinese, numbers as digits
//   ("five five five" -> "555", "二十三" -> "23", "幺三八一二" -> "13812"), one spelling for each
//   parent word (mommy/mum/mama -> mom), and a small map of misspellings speech-to-text makes.

// Traditional -> simplified, only for characters that appear in rules or common child speech.
// A full table (OpenCC) is ~6000 pairs; the rules need these.
const TRAD = "機裡槍藥殺燒點蠟燭爐氣電話號碼學讀書愛沒們來說訴媽爺麼個會對髒罵負黃視頻體脫煙買賣傷絕難過車見網麵鍋員為夥彈劍鬥擊離開讓規則隱錢銀證園區單廳門樓臺檯陽遊頭膠鐵軌厲屍腦綁廁潔劑農喫這樣嗎東給燈幫帶隻發約贏輸歲級師長親妳係戲當裝嚴殘醜雜種獨祕誰別邊從輕顆劃紙滅擰鑰認識聽歡覺夢結繩餓熱菸癮賭囉腳臉嚇壞處險滾燙鬧搶兒闆騙誘線窩蓋凍衝跡聖誕壽鍵盤紅綠藍條";
const SIMP = "机里枪药杀烧点蜡烛炉气电话号码学读书爱没们来说诉妈爷么个会对脏骂负黄视频体脱烟买卖伤绝难过车见网面锅员为伙弹剑斗击离开让规则隐钱银证园区单厅门楼台台阳游头胶铁轨厉尸脑绑厕洁剂农吃这样吗东给灯帮带只发约赢输岁级师长亲你系戏当装严残丑杂种独秘谁别边从轻颗划纸灭拧钥认识听欢觉梦结绳饿热烟瘾赌啰脚脸吓坏处险滚烫闹抢儿板骗诱线窝盖冻冲迹圣诞寿键盘红绿蓝条";
const T2S = new Map<string, string>();
for (let i = 0; i < TRAD.length; i++) T2S.set(TRAD[i]!, SIMP[i]!);

// Left: what speech-to-text or a child's spelling produces (alternatives with |, word-bounded);
// right: the word the rules know. Single words go through one lookup per token, phrases after.
const EN_FIXES: [string, string][] = [
  // joined words STT splits
  ["my self", "myself"], ["your self", "yourself"], ["her self", "herself"], ["him self", "himself"], ["them selves", "themselves"],
  ["no one", "nobody"], ["no body", "nobody"], ["every one", "everyone"], ["every body", "everybody"], ["some one", "someone"], ["some body", "somebody"], ["any one", "anyone"],
  ["on line", "online"], ["pass word", "password"], ["pass code", "passcode"], ["fire fighters?", "firefighter"], ["fire works", "fireworks"], ["porn hub", "pornhub"],
  // slang and short forms
  ["wanna", "want to"], ["gonna", "going to"], ["gotta", "got to"], ["u", "you"], ["ur", "your"], ["cuz|coz|cos", "because"], ["plz|pls", "please"], ["wat|wut", "what"],
  // misspellings and near-homophones seen in Whisper output or children's typing
  ["(?:liter|litre|lightr|lyter)(?! of)", "lighter"], ["lite", "light"], ["nite", "night"],
  ["matchis|matchs|matchez|machis|matchiz", "matches"],
  ["nife|knif|nyfe|knive", "knife"], ["nifes|knifes|nives", "knives"],
  ["bom|bomm", "bomb"], ["gunn", "gun"], ["gunz", "guns"],
  ["pils|pillz", "pills"], ["pil", "pill"],
  ["poisen|posion|poisin|poyson|poizon|poisn", "poison"], ["bleech|bleesh|bleach", "bleach"],
  ["medisin|medisine|medicin|medecine|medicen|medsin", "medicine"],
  ["secks|sexx", "sex"], ["sexxy|sexi|secksy|sexey", "sexy"], ["nakid|nekkid|neked|nakey|nakie|nakked", "naked"], ["pron", "porn"], ["boobies", "boobs"],
  ["sigarette|cigarete|cigarrette|ciggarette|siggarette|ciggy|ciggie|cig", "cigarette"], ["sigarettes|cigaretes|cigs", "cigarettes"],
  ["alchohol|alcahol|alcohal|alkohol|alcohole", "alcohol"],
  ["(get|getting|be|feel) hi", "$1 high"],
  ["kil|kiil", "kill"], ["kild|kiled", "killed"], ["blud|blod", "blood"],
  ["stoopid|stupit|stupud|stuppid", "stupid"],
  ["strainger|stranjer|strangr|strangor", "stranger"], ["straingers|stranjers", "strangers"], ["puppys|pupies", "puppies"],
  ["adress|addres|adres|adresss|addresss", "address"], ["pasword|passwerd|paswerd|paswurd|passward", "password"], ["fone", "phone"],
  ["suiside|sueside|suicyde", "suicide"],
  ["(jump|jumping|fall|falling|fly|flying|flip) of", "$1 off"], ["sil", "sill"],
  ["(can i|could i|to|where|i want to) by", "$1 buy"],
  // one spelling per family word, possessive kept as a trailing s ("mommy's" -> "moms")
  ["mommy|mummy|mum|mama|momma|mamma|mother|mommie", "mom"], ["mommys|mummys|mums|mamas|mommas|mothers", "moms"],
  ["daddy|papa|father|dada", "dad"], ["daddys|papas|fathers", "dads"],
  ["granny|gran|nana|grandmother|grandmom|grandmama", "grandma"], ["grannys|grans|nanas|grandmothers", "grandmas"],
  ["grandad|granddad|gramps|grandfather|grandpapa", "grandpa"], ["grandads|granddads|grandfathers", "grandpas"],
];

// Chinese near-homophones the recognizer can produce for words the rules look for.
const ZH_FIXES: [string, string][] = [
  ["打伙机|打火鸡|大火机", "打火机"], ["火材", "火柴"], ["读药|独药", "毒药"], ["自沙|自刹", "自杀"],
  ["陌声人|莫生人|末生人", "陌生人"], ["地只", "地址"], ["密马", "密码"], ["做哎", "做爱"],
];

// Plain word -> word fixes go in one map applied per token; only the rest (phrases, look-aheads,
// captures) need a regular expression each. One pass over a long message instead of sixty.
const WORD_FIX = new Map<string, string>();
const EN_FIX_RES: [RegExp, string][] = [];
for (const [from, to] of EN_FIXES) {
  if (/^[a-z|]+$/.test(from) && !to.includes("$")) for (const word of from.split("|")) WORD_FIX.set(word, to);
  else EN_FIX_RES.push([new RegExp(`(?<![a-z0-9])(?:${from})(?![a-z0-9])`, "g"), to]);
}
const T2S_RE = new RegExp(`[${TRAD}]`, "g");
const ZH_FIX_RES: [RegExp, string][] = ZH_FIXES.map(([from, to]) => [new RegExp(from, "g"), to]);

const UNITS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12,
  thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19,
};
const TENS: Record<string, number> = { twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90 };

/**
 * One pass over the words: the misspelling map, then numbers ("forty two" -> "42", "five five
 * five" -> "5 5 5", joined later; "oh" between digits -> 0).
 */
function englishWords(text: string): string {
  const words = text.split(" ").flatMap((word) => {
    const fixed = WORD_FIX.get(word);
    return fixed === undefined ? [word] : fixed.split(" ");
  });
  const out: string[] = [];
  const isNum = (w: string | undefined) => w !== undefined && (w in UNITS || w in TENS || /^\d+$/.test(w));
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w in TENS) {
      const next = words[i + 1];
      if (next && next in UNITS && UNITS[next]! > 0 && UNITS[next]! < 10) {
        out.push(String(TENS[w]! + UNITS[next]!));
        i++;
      } else out.push(String(TENS[w]));
    } else if (w === "one" && !isNum(words[i - 1]) && !isNum(words[i + 1])) out.push(w); // "the only one", "which one"
    else if (w in UNITS) out.push(String(UNITS[w]));
    else if (w === "oh" && /^\d+$/.test(out[out.length - 1] ?? "") && isNum(words[i + 1])) out.push("0");
    else out.push(w);
  }
  return out.join(" ");
}

const ZH_DIGITS: Record<string, number> = { 零: 0, 〇: 0, 一: 1, 幺: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };

/** "二十三" -> 23, "十五" -> 15, "三百零八" -> 308; undefined when not a well-formed number. */
function chineseValue(s: string): number | undefined {
  const m = /^(?:([一二两三四五六七八九])百)?(零)?(?:([一二三四五六七八九])?(十))?([一二三四五六七八九])?$/.exec(s);
  if (!m) return undefined;
  const [, h, , t, ten, u] = m;
  if (!h && !ten) return undefined;
  return (h ? ZH_DIGITS[h]! * 100 : 0) + (ten ? (t ? ZH_DIGITS[t]! : 1) * 10 : 0) + (u ? ZH_DIGITS[u]! : 0);
}

/**
 * Chinese numerals: well-formed numbers with 十/百 of two or more characters become their value
 * (二十三号 -> 23号); other runs of three or more digits are read digit by digit, as phone numbers
 * are spoken (幺三八一二三四 -> 1381234). Short runs stay, so 一起, 一个, 十分 are untouched.
 */
function chineseNumbers(text: string): string {
  return text.replace(/[零〇一二两三四五六七八九十百幺]+/g, (run) => {
    if (run.length >= 2) {
      const v = chineseValue(run);
      if (v !== undefined) return String(v);
    }
    if (run.length >= 3) return [...run].map((c) => (c === "十" ? "10" : c === "百" ? "00" : String(ZH_DIGITS[c] ?? c))).join("");
    return run;
  });
}

const HAN = "\\p{Script=Han}";
const SPACE_IN_HAN = new RegExp(`(?<=[${HAN}\\d]) +(?=[${HAN}])|(?<=[${HAN}]) +(?=\\d)`, "gu");

const HAS_HAN = new RegExp(`[${HAN}]`, "u");

export function normalize(input: string): string {
  let t = input.normalize("NFKC").toLowerCase();
  const han = HAS_HAN.test(t);
  const latin = /[a-z]/.test(t);
  if (han) t = t.replace(T2S_RE, (c) => T2S.get(c) ?? c);
  t = t.replace(/['’‘`´]/g, ""); // "don't" -> "dont", "grandma's" -> "grandmas"
  t = t.replace(/[^\p{L}\p{N}]+/gu, " ");
  t = t.replace(/(\p{L})\1{2,}/gu, "$1$1"); // "sooooo" -> "soo", "sexxxy" -> "sexxy"
  t = t.replace(/ +/g, " ").trim();
  if (han) t = t.replace(SPACE_IN_HAN, "");
  t = t.replace(/(?<![a-z])[a-z](?: [a-z](?![a-z])){2,}/g, (m) => m.replace(/ /g, "")); // spelled out: "s e x" -> "sex"
  if (han) {
    for (const [re, to] of ZH_FIX_RES) t = t.replace(re, to);
    t = chineseNumbers(t);
  }
  if (latin) {
    t = englishWords(t);
    for (const [re, to] of EN_FIX_RES) t = t.replace(re, to);
  }
  t = t.replace(/(?<=\d) (?=\d)/g, ""); // "555 867 5309" -> "5558675309"
  return t;
}
