// First sound sooner: how much earlier the voice can start when a long first sentence is spoken
// from its first clause ([toy] first_clause_words) instead of from its end.
//
// The first spoken piece was already the first clause before (a sentence is spoken clause by
// clause), so the text the voice synthesizes first is the same either way: what changes is how
// many tokens the model must write before that piece may go. Measured in tokens on real model
// text (stories260K writes real English; the fixture GGUF does not), then turned into time with a
// per-token decode cost: the compute-true stand-in's when it is cached (npm run bench -- --only
// standin builds it), else the profile's own LLM.
import { join } from "node:path";
import { getLlama, LlamaCompletion } from "node-llama-cpp";
import { CLAUSE_MARKS, splitReply } from "../src/pipeline/sentences.ts";
import { verdict, type Row, type Section } from "./report.ts";
import { SHARED, type BenchContext } from "./setup.ts";
import { cachedStandIn } from "./standin.ts";
import { now, round, stat } from "./stats.ts";

/** The shipped [toy] first_clause_words. */
const MIN_WORDS = 6;
const SENTENCE_ENDS = "！。？!.?";
/** Story openings stories260K continues (it is a story completer, not a chat model). */
const OPENINGS = ["Once upon a time", "One day, a little boy", "Tom and his dog", "The sun was", "Lily had a", "In the big park", "Mom said that", "The little bird"];
const SEEDS = [1, 2, 3, 4, 5];

interface Stream {
  /** Text chunks as the model wrote them, with the tokens written so far at each. */
  chunks: { text: string; tokens: number }[];
}

/** Tokens written when the first piece could go: with early clauses (minWords) or whole sentences (0). */
async function tokensToFirstPiece(stream: Stream, minWords: number): Promise<{ tokens: number; text: string } | undefined> {
  let consumed = 0;
  async function* source() {
    for (const c of stream.chunks) {
      consumed = c.tokens;
      yield c.text;
    }
  }
  for await (const piece of splitReply(source(), SENTENCE_ENDS, { marks: CLAUSE_MARKS, minWords })) return { tokens: consumed, text: piece.text };
  return undefined;
}

async function storyStreams(threads: number): Promise<Stream[]> {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "warn" } as any);
  const model = await llama.loadModel({ modelPath: join(SHARED, "models/llm/stories260k/stories260K.gguf") });
  const context = await model.createContext({ contextSize: 256, threads });
  const sequence = context.getSequence();
  const completion = new LlamaCompletion({ contextSequence: sequence });
  const streams: Stream[] = [];
  try {
    for (const opening of OPENINGS) {
      for (const seed of SEEDS) {
        await sequence.clearHistory();
        const stream: Stream = { chunks: [] };
        let tokens = 0;
        await completion.generateCompletion(opening, {
          maxTokens: 80,
          temperature: 0.8,
          seed,
          onToken: (t) => {
            tokens += t.length;
          },
          onTextChunk: (text) => stream.chunks.push({ text, tokens }),
        });
        streams.push(stream);
      }
    }
  } finally {
    await context.dispose();
    await model.dispose();
  }
  return streams;
}

/** ms per generated token of a GGUF, one token per evaluation (the turn's decode), `threads` threads. */
async function decodeMsPerToken(file: string, threads: number): Promise<number> {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "warn" } as any);
  const model = await llama.loadModel({ modelPath: file });
  const context = await model.createContext({ contextSize: 512, threads });
  try {
    const sequence = context.getSequence();
    const completion = new LlamaCompletion({ contextSequence: sequence });
    let first = 0;
    let count = 0;
    await completion.generateCompletion("Once upon a time", {
      maxTokens: 24,
      temperature: 0,
      onToken: () => {
        if (count++ === 0) first = now();
      },
    });
    return count > 1 ? (now() - first) / (count - 1) : NaN;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

export async function benchFirstClause(ctx: BenchContext): Promise<Omit<Section, "seconds">> {
  const threads = ctx.config.llm.threads;
  const streams = await storyStreams(threads);
  const early: number[] = [];
  const whole: number[] = [];
  const saved: number[] = [];
  let cutEarly = 0;
  for (const s of streams) {
    const a = await tokensToFirstPiece(s, MIN_WORDS);
    const b = await tokensToFirstPiece(s, 0);
    if (!a || !b) continue;
    early.push(a.tokens);
    whole.push(b.tokens);
    saved.push(b.tokens - a.tokens);
    if (a.text !== b.text) cutEarly++;
  }
  const cutOnes = saved.filter((x) => x > 0);
  const standIn = cachedStandIn();
  const costFile = standIn ?? ctx.hearth.engines.profile.llm.file;
  const msPerToken = await decodeMsPerToken(costFile, threads);
  const costName = standIn ? "the compute-true stand-in (Qwen2.5-0.5B shape, Q4_K_M)" : `the profile's LLM (${ctx.hearth.engines.profile.llm.id})`;
  const rows: Row[] = [
    { area: "First clause", metric: `replies whose first piece went at a clause (>= ${MIN_WORDS} words), stories260K`, unit: "%", server: { ...stat([round((100 * cutEarly) / Math.max(1, early.length), 1)]), n: 1 }, verdict: "INFO", note: `${cutEarly}/${early.length} replies` },
    { area: "First clause", metric: "tokens written before the first piece may be spoken, all replies", unit: "tokens", server: stat(early), floor: stat(whole), verdict: "INFO", note: "server = early clause, floor = whole sentence" },
    { area: "First clause", metric: "tokens saved where the clause went early", unit: "tokens", server: stat(cutOnes), verdict: "INFO" },
    { area: "First clause", metric: `first audio sooner where the clause went early (tokens x ${round(msPerToken, 1)} ms)`, unit: "ms", server: stat(cutOnes.map((t) => t * msPerToken)), target: "> 0", verdict: verdict(cutOnes.length > 0 && stat(cutOnes).median > 0), note: `decode cost of ${costName}, ${threads} thread(s)` },
  ];
  return {
    name: "First clause",
    rows,
    details: { minWords: MIN_WORDS, replies: early.length, cutEarly, earlyTokens: early, wholeTokens: whole, msPerToken, costModel: costFile },
    notes: [
      `${streams.length} replies of stories260K (${OPENINGS.length} openings x ${SEEDS.length} seeds, temperature 0.8): its sentences are short (a story's "One day, she went to the park."), so few first sentences reach ${MIN_WORDS} words before a comma; a chat model's longer first sentences ("Once upon a time, in a forest far away, ...") gain more. The piece spoken first is the same clause either way: only the wait for the rest of the sentence is saved.`,
      `Time = tokens x the decode cost of ${costName} on this machine; on a Pi see the projection in bench/README.md. The safety price (an early clause must pass the strict check alone) is in the Safety section: no unsafe sentence of the corpus gets its first clause spoken.`,
    ],
  };
}
