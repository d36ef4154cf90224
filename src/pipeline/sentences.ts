// Cuts a stream of text chunks into sentences as soon as each one is complete.

const CLOSERS = `"'”’)]}」』）`;

/** Marks that end a clause, not a sentence: where an early first clause may be cut. */
export const CLAUSE_MARKS = ",，、;；:：";

/**
 * A separator ends a sentence when it is a CJK mark (。！？，) or when an ASCII mark is followed
 * by whitespace or the end of the text, so "3.14", "1,000" and "e.g." stay whole. Runs of
 * separators ("?!", "...") and closing quotes stay with their sentence.
 */
export async function* splitSentences(chunks: AsyncIterable<string>, separators: string): AsyncIterable<string> {
  for await (const piece of splitReply(chunks, separators)) yield piece.text;
}

/** A piece of a reply to speak: a whole sentence, or the first clause of one whose rest is still coming. */
export interface ReplyPiece {
  text: string;
  /** Set on an early first clause: the next piece finishes its sentence. */
  clause?: boolean;
}

export interface FirstClause {
  /** Marks that end a clause (commas and the like). */
  marks: string;
  /** Words the clause needs before it is worth speaking alone; 0 turns early clauses off. */
  minWords: number;
}

/**
 * As splitSentences, but the reply's first piece may end at a clause mark once it has
 * `firstClause.minWords` words, so the voice can start before a long first sentence is finished.
 * Only the first piece of a reply is ever cut early; every later piece is a whole sentence.
 */
export async function* splitReply(chunks: AsyncIterable<string>, separators: string, firstClause?: FirstClause): AsyncIterable<ReplyPiece> {
  let buffer = "";
  let early = !!firstClause && firstClause.minWords > 0;
  for await (const chunk of chunks) {
    buffer += chunk;
    for (;;) {
      const cut = findCut(buffer, separators, false);
      const clauseCut = early ? findClauseCut(buffer, firstClause!) : -1;
      if (clauseCut > 0 && (cut < 0 || clauseCut < cut)) {
        yield { text: buffer.slice(0, clauseCut).trim(), clause: true };
        buffer = buffer.slice(clauseCut);
        early = false;
        continue;
      }
      if (cut <= 0) break;
      const sentence = buffer.slice(0, cut).trim();
      buffer = buffer.slice(cut);
      if (hasWords(sentence)) {
        early = false;
        yield { text: sentence };
      }
    }
  }
  const rest = buffer.trim();
  if (hasWords(rest)) yield { text: rest };
}

/** The early first clause splitReply would give for `text` arriving whole, if any. */
export function firstClauseOf(text: string, separators: string, firstClause: FirstClause): string | undefined {
  if (firstClause.minWords <= 0) return undefined;
  const cut = findCut(text, separators, true);
  const clauseCut = findClauseCut(text, firstClause);
  return clauseCut > 0 && (cut < 0 || clauseCut < cut) ? text.slice(0, clauseCut).trim() : undefined;
}

/** Index just after the first clause mark that has enough words before it, or -1 (an ASCII mark needs a following space). */
function findClauseCut(text: string, { marks, minWords }: FirstClause): number {
  for (let i = 0; i < text.length; i++) {
    if (!marks.includes(text[i]!)) continue;
    const end = i + 1;
    if (!isWide(text[i]!) && !(end < text.length && /\s/.test(text[end]!))) continue;
    if (countWords(text.slice(0, end)) >= minWords) return end;
  }
  return -1;
}

/** Words as a listener hears them: space-separated words, and a Chinese/Japanese character as half a word. */
function countWords(text: string): number {
  const wide = text.match(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/gu)?.length ?? 0;
  const spaced = text.replace(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/gu, " ").split(/\s+/).filter(hasWords).length;
  return spaced + wide / 2;
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
