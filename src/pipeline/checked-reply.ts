// The model's reply as the voice may speak it: every sentence passes the safety check before any
// of it is spoken, then is cut into the clauses the voice says. The one exception is an early
// first clause (splitReply), spoken before its sentence is finished only when it passes the strict
// check on its own; its sentence is still checked whole before the rest is spoken.
import { checkEarlyClause, checkOutput, safetyLine, type SafetyPolicy, type SafetyVerdict } from "./safety/index.ts";
import { splitText, type ReplyPiece } from "./sentences.ts";

export interface CheckedReplyOptions {
  policy: SafetyPolicy;
  /** [toy] sentence_separators: where a passed sentence is cut into spoken clauses. */
  separators: string;
  /** The language of the friendly line that replaces a blocked sentence. */
  language: string;
  /** An unsafe sentence was found: stop the model. The friendly line is the last piece yielded. */
  onBlocked(verdict: SafetyVerdict): void;
}

export async function* checkedReply(pieces: AsyncIterable<ReplyPiece>, opts: CheckedReplyOptions): AsyncIterable<{ order: number; text: string }> {
  let order = 0;
  let previous = "";
  /** An early clause already spoken: the next piece finishes its sentence. */
  let spokenClause = "";
  /** An early clause that did not pass alone: it waits for its sentence. */
  let heldClause = "";
  const sentenceDone = function* (rest: string) {
    const sentence = [spokenClause || heldClause, rest].filter(Boolean).join(" ");
    const output = checkSentence(sentence, previous, opts.policy);
    if (output.verdict !== "allowed") {
      // The unsafe sentence (or its unspoken rest) is never spoken or sent; a gentle line ends the reply.
      opts.onBlocked(output);
      yield { order: ++order, text: safetyLine("blocked", output.category, opts.language) };
      return false;
    }
    const unspoken = spokenClause ? rest : sentence;
    previous = sentence;
    spokenClause = heldClause = "";
    for (const piece of splitText(unspoken, opts.separators)) yield { order: ++order, text: piece };
    return true;
  };
  for await (const piece of pieces) {
    if (piece.clause) {
      if (checkEarlyClause(piece.text, opts.policy).verdict === "allowed") {
        spokenClause = piece.text;
        yield { order: ++order, text: piece.text };
      } else {
        heldClause = piece.text;
      }
      continue;
    }
    if (!(yield* sentenceDone(piece.text))) return;
  }
  if (heldClause) yield* sentenceDone(""); // the reply ended right after a held clause
}

/** A sentence alone, then with the one before it for context ("I know a secret game." "Don't tell mom."). */
function checkSentence(sentence: string, previous: string, policy: SafetyPolicy): SafetyVerdict {
  const alone = checkOutput(sentence, policy);
  if (alone.verdict !== "allowed" || !previous) return alone;
  return checkOutput(`${previous} ${sentence}`, policy);
}
