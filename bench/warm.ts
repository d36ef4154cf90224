// Warm prompts: a device's first turn with its prompt warmed (pipeline/warm.ts, the LLM's
// preloadConversation) against the same turn cold, per round (A B A B), through a real pipeline
// (TurnRunner, roles, stored conversations) whose LLM is the compute-true stand-in when it is
// cached (scripts/standin.sh: Qwen2.5-0.5B's shape and tokenizer, Q4_K_M, random weights), else
// the profile's own LLM. Three cases: a new device (fixed prompt: system prompt, persona,
// greeting), a device with stored history after a restart, and what a warm-up under way costs
// another device's turn that arrives meanwhile.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conversationFileStem, type ConversationKey } from "../src/conversations/key.ts";
import { LlamaCppLlm } from "../src/engines/llm/llama.ts";
import { startPipeline } from "../src/pipeline/pipeline.ts";
import { DEFAULT_ROLES } from "../src/pipeline/roles.ts";
import type { Row, Section } from "./report.ts";
import { verdict } from "./report.ts";
import type { BenchContext } from "./setup.ts";
import { cachedStandIn } from "./standin.ts";
import { watchedLlm } from "../test/support/watched-llm.ts";
import { fmt, interleave, pairedDiffs, pairedRatios, stat } from "./stats.ts";

/** Replies are cut short: only the time to the first token is measured. */
const REPLY_TOKENS = 8;
const HISTORY_EXCHANGES = 6;

export async function benchWarm(ctx: BenchContext): Promise<Omit<Section, "seconds">> {
  const { config } = ctx;
  const standIn = cachedStandIn();
  const profileLlm = ctx.hearth.engines.profile.llm;
  const modelName = standIn ? "the compute-true stand-in (Qwen2.5-0.5B shape and tokenizer, Q4_K_M, random weights)" : `the profile's LLM (${profileLlm.id})`;
  ctx.log(`  model: ${modelName}, ${config.llm.threads} thread(s)`);
  const llm = await LlamaCppLlm.load(standIn ? { ...profileLlm, id: "qwen2.5-0.5b-standin", file: standIn } : profileLlm, {
    threads: config.llm.threads,
    contextSize: config.llm.context_size,
    sequences: config.llm.sequences,
    maxQueue: config.llm.max_queue,
    maxTokens: REPLY_TOKENS,
    temperature: 0,
  });
  // The LLM as the pipeline sees it, with each chat's result noted (how much of its prompt was cached).
  const { spy: watched, chats } = watchedLlm(llm);

  const state = mkdtempSync(join(tmpdir(), "hearth-bench-warm-"));
  const roles = { "1": { ...DEFAULT_ROLES["1"], max_tokens: REPLY_TOKENS } };
  writeFileSync(join(state, "roles.json"), JSON.stringify(roles));
  const pipeline = startPipeline(
    { ...config, state: { dir: state }, toy: { ...config.toy, roles_file: join(state, "roles.json") }, llm: { ...config.llm, warm_prompts: true } },
    { ...ctx.hearth.engines, llm: watched },
  );
  const questions = ctx.utterances.map((u) => u.reference);
  let devices = 0;
  const newDevice = (): ConversationKey => ({ frontEnd: "folotoy", device: `bench${String(++devices).padStart(7, "0")}`, role: "1" });
  /** A text turn (no speech, no voice): its time to the first token, and how much of its prompt was already evaluated. */
  const turn = async (key: ConversationKey, round: number) => {
    const t = pipeline.turns.start({ key, input: { kind: "text", text: questions[(round + 100) % questions.length]! }, endedAt: Date.now(), speak: false });
    for await (const _ of t.events);
    const record = await t.finished;
    const chat = chats.filter((c) => c.opts.conversationId === conversationFileStem(key)).at(-1)?.result;
    return { ttft: record.timings.firstTokenMs ?? NaN, promptTokens: chat?.promptTokens ?? NaN, cached: chat?.cachedPromptTokens ?? NaN };
  };
  const warm = async (key: ConversationKey) => {
    const t0 = performance.now();
    const result = await pipeline.warmer.warm(key);
    return { ms: performance.now() - t0, tokens: result?.cachedTokens ?? NaN, outcome: result?.outcome };
  };
  const withHistory = (key: ConversationKey) => {
    for (let i = 0; i < HISTORY_EXCHANGES; i++) {
      pipeline.conversations.append(key, { user: questions[i % questions.length]!, assistant: "That is a good question! Let me think about it with you. What do you think?" });
    }
    return key;
  };

  try {
    const runs = ctx.runs;
    // 1. a new device: the fixed prompt
    const fresh = { warmMs: [] as number[], prefix: [] as number[] };
    const fixed = await interleave(
      runs,
      ctx.warmup,
      async (round) => {
        const key = newDevice();
        const w = await warm(key);
        const r = await turn(key, round);
        if (round >= 0) fresh.warmMs.push(w.ms), fresh.prefix.push(w.tokens);
        return r;
      },
      async (round) => turn(newDevice(), round),
    );
    // 2. after a restart: stored history, nothing in the LLM's context
    const restarted = await interleave(
      runs,
      ctx.warmup,
      async (round) => {
        const key = withHistory(newDevice());
        await warm(key);
        return turn(key, round);
      },
      async (round) => turn(withHistory(newDevice()), round),
    );
    // 3. another device's turn arriving while a (long) warm-up runs, against the same turn alone
    const meanwhile = await interleave(
      runs,
      ctx.warmup,
      async (round) => {
        const warming = warm(withHistory(withHistory(newDevice())));
        await Bun.sleep(30);
        const r = await turn(newDevice(), round);
        return { ...r, warmOutcome: (await warming).outcome };
      },
      async (round) => turn(newDevice(), round),
    );

    const ttft = (xs: { ttft: number }[]) => xs.map((x) => x.ttft);
    const rows: Row[] = [];
    // A warmed turn against the same turn cold, per round.
    const warmedVsCold = (metric: string, pair: { a: { ttft: number }[]; b: { ttft: number }[] }): Row => {
      const ratio = stat(pairedRatios(ttft(pair.a), ttft(pair.b)));
      return {
        area: "Warm prompts",
        metric,
        server: stat(ttft(pair.a)),
        floor: stat(ttft(pair.b)),
        ratio,
        delta: stat(pairedDiffs(ttft(pair.a), ttft(pair.b))),
        target: "ratio <= 0.5",
        verdict: verdict(ratio.median <= 0.5),
        note: "second column: the same turn cold",
      };
    };
    const prompt = stat(fixed.b.map((x) => x.promptTokens));
    const newTokens = stat(fixed.a.map((x) => x.promptTokens - x.cached));
    rows.push(warmedVsCold(`new device, 1st turn TTFT: warmed vs cold (${fmt(prompt)} prompt tokens, ${fmt(newTokens)} new)`, fixed));
    rows.push({ area: "Warm prompts", metric: "the warm-up itself (at login, in the background)", server: stat(fresh.warmMs), verdict: "INFO", note: `${fmt(stat(fresh.prefix))} tokens` });
    rows.push(warmedVsCold(`after a restart, ${HISTORY_EXCHANGES} exchanges stored: warmed vs cold (${fmt(stat(restarted.b.map((x) => x.promptTokens)))} prompt tokens)`, restarted));
    const cost = stat(pairedDiffs(ttft(meanwhile.a), ttft(meanwhile.b)));
    rows.push({
      area: "Warm prompts",
      metric: "another device's 1st turn during a warm-up vs alone",
      server: stat(ttft(meanwhile.a)),
      floor: stat(ttft(meanwhile.b)),
      ratio: stat(pairedRatios(ttft(meanwhile.a), ttft(meanwhile.b))),
      delta: cost,
      target: "Δ <= 150 ms (one slice)",
      verdict: verdict(cost.median <= 150),
      note: `warm-ups stopped: ${meanwhile.a.filter((x) => x.warmOutcome === "stopped").length}/${meanwhile.a.length}`,
    });
    const notes = [
      `Model: ${modelName}, ${config.llm.threads} LLM thread(s), ${config.llm.sequences} sequences. Turns are text turns through the pipeline's TurnRunner (no speech, no voice), replies cut at ${REPLY_TOKENS} tokens; TTFT is the turn record's firstTokenMs. Each round uses new devices, so neither side finds the other's context.`,
      "Warmed: PromptWarmer.warm (what a toy's login, a role change or a restart triggers), then the turn. Cold: the same turn with nothing warmed. The warmed turn evaluates only the question and the chat template around it; the fixed prompt (and, after a restart, the history) was evaluated before.",
      "During a warm-up: a warm-up of a device with a long history starts, 30 ms later another device's turn starts; the warm-up stops at the end of its current slice (about 100 ms of evaluation), so the turn waits at most that long.",
    ];
    if (!standIn) notes.push("The stand-in GGUF is not cached (scripts/standin.sh builds it): the fixture LLM's prompt costs almost nothing, so the figures say little about a Pi.");
    return {
      name: "Warm prompts",
      rows,
      notes,
      details: { model: standIn ?? profileLlm.file, fixed, restarted, meanwhile, warmUp: fresh },
    };
  } finally {
    await pipeline.stop();
    await llm.close();
    rmSync(state, { recursive: true, force: true });
  }
}
