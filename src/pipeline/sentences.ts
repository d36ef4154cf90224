// Cuts a stream of text chunks into sentences as soon as each one is complete.

const CLOSERS = `"'”’)]}」』）`;

/**
 * A separator ends a sentence when it is a CJK mark (。！？，) or when an ASCII mark is followed
 * by whitespace or the end of the text, so "3.14", "1,000" and "e.g." stay whole. Runs of
 * separators ("?!", "...") and closing quotes stay with their sentence.
 */
export async function* splitSentences(chunks: AsyncIterable<string>, separators: string): AsyncIterable<string> {
  let buffer = "";
  for await (const chunk of chunks) {
    buffer += chunk;
    let cut: number;
    while ((cut = findCut(buffer, separators, false)) > 0) {
      const sentence = buffer.slice(0, cut).trim();
      buffer = buffer.slice(cut);
      if (hasWords(sentence)) yield sentence; // a piece of lone punctuation has nothing to speak
    }
  }
  const rest = buffer.trim();
  if (hasWords(rest)) yield rest;
}

/** Splits a whole text (no streaming), with the same rules. */
export function splitText(text: string, separators: string): string[] {
  const out: string[] = [];
  let buffer = text;
  let cut: number;
  while ((cut = findCut(buffer, separators, true)) > 0) {
    const sentence = buffer.slice(0, cut).trim();
    buffer = buffer.slice(cut);
    if (hasWords(sentence)) out.push(sentence);
  }
  if (hasWords(buffer.trim())) out.push(buffer.trim());
  return out;
}

/** Index just after the first complete sentence, or -1. At the end of the buffer an ASCII mark waits for the next chunk unless `final`. */
function findCut(text: string, separators: string, final: boolean): number {
  for (let i = 0; i < text.length; i++) {
    if (!separators.includes(text[i]!)) continue;
    let end = i + 1;
    while (end < text.length && (separators.includes(text[end]!) || CLOSERS.includes(text[end]!))) end++;
    if (isWide(text[i]!)) return end;
    if (end === text.length) return final ? end : -1;
    if (/\s/.test(text[end]!)) return end;
    i = end - 1;
  }
  return -1;
}

function isWide(ch: string): boolean {
  return ch.charCodeAt(0) > 0x2000;
}

function hasWords(text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text);
}
