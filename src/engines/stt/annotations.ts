// Recognizers write what they hear besides speech into the text: Whisper's "[BLANK_AUDIO]",
// "(upbeat music)", "*laughs*", "♪", SenseVoice's "<|en|><|Speech|>" tags. None of it was said,
// so none of it may reach the language model as the child's words.
//
// The rule:
// - [square brackets] and <|tags|> are always annotations: recognizers never write them for speech.
// - (parentheses) and *asterisks* are annotations when they hold at most 6 words and one of them is
//   a known non-speech word (music, applause, laughs, silence, noise, inaudible, speaking, ...);
//   any other "(and a dog)" is kept as text.
// - Music notes are dropped, the words sung between them are kept.
// A transcript with no letter or digit left is "": nothing was said.

const SPAN = /\[[^\]]*\]|<\|[^|]*\|>|\([^()]*\)|\*[^*\n]+\*|[♪♫♬♩🎵🎶]+/gu;
const NON_SPEECH = new RegExp(
  "\\b(" +
    [
      "music(al)?", "instrumental", "upbeat", "sing(s|ing)", "hum(s|ming)?", "whistl(e|es|ing)",
      "applause", "clap(s|ping)?", "cheer(s|ing)?", "laugh(s|ing|ter)?", "chuckl(e|es|ing)", "giggl(e|es|ing)",
      "sigh(s|ing)?", "cough(s|ing)?", "sneez(e|es|ing)", "sniff(s|les|ling|ing)?", "breath(e|es|ing)?",
      "gasp(s|ing)?", "groan(s|ing)?", "cr(y|ies|ying)", "sob(s|bing)", "scream(s|ing)?", "shout(s|ing)",
      "yell(s|ing)", "whisper(s|ing)", "silen(ce|t)", "noises?", "static", "inaudible", "unintelligible",
      "indistinct", "mumbl(e|es|ing)", "muffled", "speak(s|ing)", "talk(s|ing)", "chatter(ing)?", "crosstalk",
      "foreign", "blank", "audio", "sounds?", "beep(s|ing)?", "bleep(s|ed)?", "buzz(es|ing)?", "ring(s|ing)",
      "click(s|ing)?", "knock(s|ing)?", "bark(s|ing)?", "meow(s|ing)?", "chirp(s|ing)?", "blowing", "thunder",
      "footsteps", "typing", "background",
    ].join("|") +
    ")\\b",
  "i",
);
const MAX_WORDS = 6;
const PUNCTUATION = /^\s*[.,!?;:…]+/;

export function stripAnnotations(text: string): string {
  let out = "";
  let from = 0;
  for (const match of text.matchAll(SPAN)) {
    if (!isAnnotation(match[0])) continue;
    out += text.slice(from, match.index);
    from = match.index + match[0].length;
    // "(laughs). Hello" or "Hi. [BLANK_AUDIO]. There": the annotation's own punctuation goes with it.
    if (/(^|[.,!?;:…])\s*$/.test(out)) from += PUNCTUATION.exec(text.slice(from))?.[0].length ?? 0;
    out += " ";
  }
  out += text.slice(from);
  out = out.replace(/\s+/g, " ").replace(/ ([.,!?;:…])/g, "$1").trim();
  return /[\p{L}\p{N}]/u.test(out) ? out : "";
}

function isAnnotation(span: string): boolean {
  if (span.startsWith("[") || span.startsWith("<|") || !/^[(*]/.test(span)) return true;
  const inner = span.slice(1, -1).replace(/[_-]/g, " ").trim();
  return inner.split(/\s+/).length <= MAX_WORDS && NON_SPEECH.test(inner);
}
