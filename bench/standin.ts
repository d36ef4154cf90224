// The compute-true stand-in (scripts/standin.sh): a GGUF with exactly the pi profile LLM's shape
// (Qwen2.5-0.5B-Instruct: 494 M parameters, 151,936-token vocabulary, Q4_K_M) and random weights, so
// that per-token costs that scale with the model or its vocabulary (the output layer, sampling,
// detokenization) are real. Per round, interleaved, on the same prompt:
//  - raw: node-llama-cpp alone, one token per evaluation: prefill (with the last token's logits) and
//    decode with logits, no sampling; the floor of any generation on this build;
//  - the chat endpoint: POST /v1/chat/completions streamed, through this Hearth with the stand-in as its LLM;
//  - the toy reply path: replySentences over engines.llm.chat with a device turn's options;
//  - llama-server: llama.cpp's own server from Debian's packages (another llama.cpp build) on the
//    same GGUF with the same threads.
// Also: what the output layer costs (decode with and without logits, token by token interleaved),
// sampling over 151,936 logits, the floor at 1 thread vs 2, and two requests at once.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { getLlama, resolveChatWrapper, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { LlamaCppLlm } from "../src/engines/llm/llama.ts";
import type { ChatMessage, Llm } from "../src/engines/types.ts";
import { replySentences } from "../src/pipeline/speak.ts";
import { installLlamaServer, startLlamaServer, type Proc } from "../test/modelDependent/remote/helpers.ts";
import { sseChat } from "./llm.ts";
import { verdict, type Row, type Section } from "./report.ts";
import { ROOT, type BenchContext } from "./setup.ts";
import { now, pairedDiffs, pairedRatios, round, stat, type Stat } from "./stats.ts";

const AREA = "Stand-in";
/** Tokens generated per request: enough for a steady per-token figure, few enough for a short section. */
const TOKENS = 32;
const SYSTEM =
  "You are a friendly talking toy for children. Answer in short, simple sentences. Be warm and kind, use easy words, and ask a simple question back now and then. Never talk about scary things. You like stories about animals, the sea, the forest and the stars, and you know many games with words and numbers.";
const USER = "Tell me a short story about a rabbit who finds a red apple, and then ask me what I would do with it.";
const settle = () => Bun.sleep(100);

interface Built {
  file: string;
  info: Record<string, any>;
}

/** The stand-in GGUF scripts/standin.sh keeps, when it has been built (sections after this one use it). */
export function cachedStandIn(): string | undefined {
  const file = join(process.env.HEARTH_CACHE_DIR ?? join(homedir(), ".cache/hearth"), "standin", "qwen2.5-0.5b-instruct-standin-q4_k_m.gguf");
  return existsSync(file) ? file : undefined;
}

/** scripts/standin.sh: the cached GGUF, or builds it (about a minute and a half; nothing downloaded but Debian packages). */
async function ensureStandin(log: (line: string) => void): Promise<Built | { problem: string }> {
  const t0 = now();
  const p = Bun.spawn(["bash", `${ROOT}/scripts/standin.sh`, "--info"], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) return { problem: `scripts/standin.sh failed (exit ${code}): ${err.trim().split("\n").slice(-4).join(" / ")}` };
  const [file, ...json] = out.trim().split("\n");
  if (now() - t0 > 5000) log(`stand-in built in ${round((now() - t0) / 1000)} s`);
  try {
    return { file: file!, info: JSON.parse(json.join("\n")) };
  } catch {
    return { file: file!, info: {} };
  }
}

interface RawRun {
  /** Prompt evaluated and the first token picked. */
  prefillMs: number;
  /** The first whole character: what a text stream can send first. */
  textMs: number;
  textTokens: number;
  perTokenMs: number;
  tokens: Token[];
}

/** node-llama-cpp alone on the stand-in: its own model handle and context, the engine's geometry. */
class Raw {
  private constructor(
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    readonly seq: LlamaContextSequence,
    readonly release: string,
  ) {}

  /**
   * A context of its own on the engine's model: the same weights in memory (a second load of the
   * file would repack them into other memory, whose placement alone can change decode speed).
   */
  static async on(model: LlamaModel, threads: number, contextSize: number, sequences: number): Promise<Raw> {
    const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" } as any);
    // As LlamaCppLlm.load: each sequence gets contextSize / sequences cells.
    const context = await model.createContext({ contextSize: Math.floor(contextSize / sequences), sequences, threads });
    const r = llama.llamaCppRelease;
    return new Raw(model, context, context.getSequence(), `node-llama-cpp ${packageVersion("node-llama-cpp")} (llama.cpp ${r.release}, ${llama.buildType})`);
  }

  private wrapper?: ReturnType<typeof resolveChatWrapper>;

  /** The prompt exactly as the engine renders it (the model's chat wrapper, then its tokenizer). */
  promptTokens(messages: ChatMessage[]): Token[] {
    // Resolved once: resolveChatWrapper renders the model's Jinja template against every known wrapper.
    const wrapper = (this.wrapper ??= resolveChatWrapper(this.model)!);
    const chatHistory = [...messages.map((m) => (m.role === "assistant" ? { type: "model" as const, response: [m.content] } : { type: m.role as "system" | "user", text: m.content })), { type: "model" as const, response: [] }];
    return wrapper.generateContextState({ chatHistory }).contextText.tokenize(this.model.tokenizer);
  }

  /**
   * node-llama-cpp's own token loop (LlamaContextSequence.evaluate, one iterator): prefill and the
   * first token, then one token per evaluation, each with its logits and a greedy pick in native code
   * (~0.14 ms, the sampling rows): the same tokens the engine generates for the same prompt (greedy,
   * no penalties). A new evaluation call per token would add node-llama-cpp's per-call set-up (a
   * sampler, locks) to the floor. `textMs`: when the first whole character exists (a token that ends
   * inside a UTF-8 character cannot be streamed yet), `textTokens` the tokens it took.
   */
  async run(prompt: Token[], n: number): Promise<RawRun> {
    await this.seq.clearHistory();
    const t0 = now();
    const tokens: Token[] = [];
    let firstMs = NaN;
    let textMs = NaN;
    let textTokens = 0;
    let lastMs = NaN;
    for await (const t of this.seq.evaluate(prompt, { temperature: 0 })) {
      lastMs = now() - t0;
      tokens.push(t);
      if (tokens.length === 1) firstMs = lastMs;
      if (!textTokens) {
        const text = this.model.detokenize(tokens);
        if (text && !text.endsWith("\uFFFD")) [textMs, textTokens] = [lastMs, tokens.length];
      }
      if (tokens.length >= n) break;
    }
    return { prefillMs: firstMs, textMs, textTokens, perTokenMs: (lastMs - firstMs) / Math.max(1, tokens.length - 1), tokens };
  }

  /** Greedy tokens after `prompt` (node-llama-cpp's own loop): what the raw decode feeds back. */
  async greedy(prompt: Token[], n: number): Promise<Token[]> {
    await this.seq.clearHistory();
    const out: Token[] = [];
    for await (const t of this.seq.evaluate(prompt, { temperature: 0 })) {
      out.push(t);
      if (out.length >= n) break;
    }
    return out;
  }

  /**
   * Decode with and without the output layer, token by token interleaved (so the machine's load
   * hits both alike): without logits is what a "raw decode" by evaluateWithoutGeneratingNewTokens measures.
   */
  async outputLayer(prompt: Token[], decode: Token[]): Promise<{ withLogits: number[]; without: number[] }> {
    await this.seq.clearHistory();
    await this.seq.evaluateWithoutGeneratingNewTokens(prompt);
    const withLogits: number[] = [];
    const without: number[] = [];
    for (const [i, t] of decode.entries()) {
      const t0 = now();
      if (i % 2) await this.seq.evaluateWithoutGeneratingNewTokens([t]);
      else await this.logitsOf([t]);
      (i % 2 ? without : withLogits).push(now() - t0);
    }
    return { withLogits, without };
  }

  /** Evaluates tokens and computes the last one's logits, without sampling (node-llama-cpp's internal `_noSampling`). */
  private async logitsOf(tokens: Token[]) {
    const it = (this.seq as any).evaluateWithMetadata(tokens, {}, { _noSampling: true });
    await it.next();
    await it.return();
  }

  /** One sampling call over the logits last computed, per sampler setup (no decode): what sampling costs at this vocabulary size. */
  async samplingCost(prompt: Token[], iterations: number): Promise<Record<string, Stat>> {
    const { LlamaSampler } = await import("../node_modules/node-llama-cpp/dist/evaluator/LlamaContext/LlamaSampler.js" as string);
    await this.seq.clearHistory();
    await this.logitsOf(prompt);
    const punish = Array.from({ length: 64 }, (_, i) => ((i * 2311) % 150000) as Token);
    const setups: Record<string, object> = {
      "greedy (temperature 0)": { temperature: 0 },
      "temperature 0.7, top-k 40, top-p 0.95": { temperature: 0.7, seed: 1 },
      "greedy + repeat penalty 1.1 over 64 tokens (node-llama-cpp's default)": { temperature: 0, repeatPenalty: { punishTokens: punish, penalty: 1.1, maxPunishTokens: 64 } },
    };
    const native = (this.context as any)._ctx;
    const out: Record<string, Stat> = {};
    const samplers = Object.keys(setups).map(() => new LlamaSampler(this.model));
    const times: number[][] = samplers.map(() => []);
    for (let i = 0; i < iterations; i++) {
      for (const [k, cfg] of Object.values(setups).entries()) {
        const t0 = now();
        samplers[k].applyConfig((this.seq as any)._resolveSamplerConfig(cfg));
        await native.sampleToken(prompt.length - 1, samplers[k]._sampler);
        times[k]!.push(now() - t0);
      }
    }
    for (const s of samplers) await s.asyncDispose?.();
    Object.keys(setups).forEach((name, k) => (out[name] = stat(times[k]!.slice(3))));
    // node-llama-cpp creates a sampler for every evaluation call (each request, and each token of a
    // per-call loop): its candidates buffer is one 12-byte entry per vocabulary token, fresh memory each time.
    const created: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t0 = now();
      const s = new LlamaSampler(this.model);
      created.push(now() - t0);
      await s.asyncDispose?.();
    }
    out["creating a sampler (once per evaluation call)"] = stat(created.slice(2));
    return out;
  }

  /** The model is the engine's: only the context is this floor's. */
  async close() {
    await this.context.dispose();
  }
}

/** CPU time of this process's main (JavaScript) thread, in ms, from the kernel's schedstat (Linux; NaN elsewhere). */
function mainThreadCpuMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
  } catch {
    return NaN;
  }
}

function packageVersion(name: string): string {
  try {
    return require(`${ROOT}/node_modules/${name}/package.json`).version;
  } catch {
    return "?";
  }
}

/** llama-server's streamed chat completion: client-side first content and chunk times, and its own timings. */
async function serverChat(llama: Proc, messages: ChatMessage[]): Promise<{ ttftMs: number; perTokenMs: number; promptPerTokenMs: number; serverPerTokenMs: number; promptMs: number; tokens: number }> {
  const t0 = now();
  const res = await fetch(`${llama.url}/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ messages, stream: true, temperature: 0, seed: 1, max_tokens: TOKENS, cache_prompt: false }),
  });
  if (!res.ok || !res.body) throw new Error(`llama-server: HTTP ${res.status} ${await res.text()}`);
  const times: number[] = [];
  let timings: any;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
    const at = now();
    buffer += decoder.decode(bytes, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const line = buffer.slice(0, end).replace(/^data: /, "");
      buffer = buffer.slice(end + 2);
      if (line === "[DONE]" || !line.trim()) continue;
      const event = JSON.parse(line);
      if (event.choices?.[0]?.delta?.content) times.push(at);
      timings = event.timings ?? timings;
    }
  }
  const tokens = timings?.predicted_n ?? times.length;
  return {
    ttftMs: (times[0] ?? NaN) - t0,
    perTokenMs: (times.at(-1)! - times[0]!) / Math.max(1, tokens - 1),
    promptMs: timings?.prompt_ms ?? NaN,
    promptPerTokenMs: timings?.prompt_per_token_ms ?? NaN,
    serverPerTokenMs: timings?.predicted_per_token_ms ?? NaN,
    tokens,
  };
}

/** The reply path of a toy turn: replySentences over the engine, a device turn's options; chunk times seen by the sentence splitter. */
async function toyReply(llm: Llm, messages: ChatMessage[], conversationId: string, separators: string, textTokens: number): Promise<{ ttftMs: number; perTokenMs: number; tokens: number; sentences: number }> {
  const chunkTimes: number[] = [];
  const timed = new Proxy(llm, {
    get(target, p) {
      if (p === "chat") return (m: ChatMessage[], o: any, onText: (c: string) => void) => target.chat(m, o, (c) => (chunkTimes.push(now()), onText(c)));
      const v = (target as any)[p];
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const t0 = now();
  let first = NaN;
  const stop = new AbortController();
  const reply = replySentences(timed, messages, { temperature: 0, seed: 1, maxTokens: TOKENS, conversationId, priority: "device", onPromptDone: () => (first = now() - t0) }, separators, stop.signal);
  let sentences = 0;
  for await (const _ of reply.pieces) sentences++;
  const result = await reply.result;
  llm.forgetConversation?.(conversationId);
  return { ttftMs: first, perTokenMs: (chunkTimes.at(-1)! - chunkTimes[0]!) / Math.max(1, result.completionTokens - textTokens), tokens: result.completionTokens, sentences };
}

export async function benchStandin(ctx: BenchContext): Promise<Omit<Section, "seconds">> {
  const name = "Stand-in LLM";
  const built = await ensureStandin(ctx.log);
  if ("problem" in built) {
    ctx.log(`stand-in skipped: ${built.problem}`);
    return { name, rows: [{ area: AREA, metric: "not run: the stand-in GGUF could not be built", verdict: "SKIP", note: built.problem }], details: { problem: built.problem }, notes: [`Skipped: ${built.problem}. scripts/standin.sh needs Debian's apt (python3-gguf, llama.cpp-tools) and node-llama-cpp's bundled llama.cpp source; see bench/README.md.`] };
  }
  const { threads, context_size: contextSize, sequences } = ctx.config.llm;
  const cleanup: (() => Promise<unknown>)[] = [];
  const engines = ctx.hearth.engines;
  const original = engines.llm;
  try {
    const engine = await LlamaCppLlm.load({ id: "qwen2.5-0.5b-standin", file: built.file }, { threads, contextSize, sequences, maxQueue: 8, maxTokens: TOKENS, temperature: 0 });
    cleanup.push(() => engine.close());
    const raw = await Raw.on((engine as any).model as LlamaModel, threads, contextSize, sequences);
    cleanup.push(() => raw.close());
    await installLlamaServer();
    const server = await startLlamaServer({ model: built.file, threads, slots: sequences, context: contextSize });
    cleanup.push(() => server.stop());
    const serverBuild = (Bun.spawnSync(["bash", `${ROOT}/scripts/llama-server.sh`, "--version"]).stderr.toString() + "").match(/version: .*/)?.[0] ?? "version unknown";
    // This Hearth answers with the stand-in for the section's duration (engines are looked up per request).
    engines.llm = engine;
    cleanup.push(async () => {
      engines.llm = original;
    });
    const separators = [...ctx.config.toy.sentence_separators].filter((c) => !",，、;；:：".includes(c)).join("") || ".";

    const messages = (r: number): ChatMessage[] => [
      // A different first line each round: no side can reuse the previous round's evaluated prompt.
      { role: "system", content: `Session ${r + 100}. ${SYSTEM}` },
      { role: "user", content: USER },
    ];
    const promptLen = raw.promptTokens(messages(0)).length;
    const replay = await raw.greedy(raw.promptTokens(messages(-1)), TOKENS);

    const rounds = { raw: [] as RawRun[], api: [] as { ttftMs: number; perTokenMs: number; tokens: number }[], toy: [] as Awaited<ReturnType<typeof toyReply>>[], server: [] as Awaited<ReturnType<typeof serverChat>>[] };
    let sameText = 0;
    const texts: string[] = [];
    const jsCpu = { raw: [] as number[], api: [] as number[], toy: [] as number[] };
    for (let r = -ctx.warmup; r < ctx.runs; r++) {
      const m = messages(r);
      let a!: RawRun;
      let b!: Awaited<ReturnType<typeof sseChat>>;
      let c!: Awaited<ReturnType<typeof toyReply>>;
      let d!: Awaited<ReturnType<typeof serverChat>>;
      const cpu: Record<string, number> = {};
      const timedCpu = async (key: string, f: () => Promise<void>) => {
        const c0 = mainThreadCpuMs();
        await f();
        cpu[key] = mainThreadCpuMs() - c0;
      };
      // The raw run goes first in every round (the others use its tokens); the rest rotate, so no side always follows another.
      const others = [
        () => timedCpu("api", async () => void (b = await sseChat(ctx.hearth.url, { messages: m, max_tokens: TOKENS, temperature: 0, seed: 1 }))),
        () => timedCpu("toy", async () => void (c = await toyReply(engine, m, `bench-standin-${r}`, separators, a.textTokens))),
        async () => void (d = await serverChat(server, m)),
      ];
      await settle();
      await timedCpu("raw", async () => void (a = await raw.run(raw.promptTokens(m), TOKENS)));
      for (let i = 0; i < others.length; i++) {
        await settle();
        await others[(i + r + ctx.warmup) % others.length]!();
      }
      if (r < 0) continue;
      const tokens = b.completionTokens ?? TOKENS;
      rounds.raw.push(a);
      // Same prompt, greedy, no penalties: the same tokens as the raw run, whose first printable text took a.textTokens of them.
      rounds.api.push({ ttftMs: b.ttftMs, perTokenMs: (b.chunkTimes.at(-1)! - b.chunkTimes[0]!) / Math.max(1, tokens - a.textTokens), tokens });
      rounds.toy.push(c);
      rounds.server.push(d);
      texts.push(b.text);
      if (b.text === raw.model.detokenize(a.tokens)) sameText++;
      jsCpu.raw.push(cpu.raw! / a.tokens.length);
      jsCpu.api.push(cpu.api! / tokens);
      jsCpu.toy.push(cpu.toy! / c.tokens);
    }

    // Time to first token on a short prompt, more rounds: Hearth's own first-token cost is a few ms
    // at most, which the ~1 s prefill of the long prompt above hides in its noise. JS-thread CPU from
    // the call to the first text, too (load does not inflate it).
    const shortMessages = (r: number): ChatMessage[] => [{ role: "user", content: `Game ${r + 300}. Say hello to the rabbit.` }];
    const shortRounds = { raw: [] as number[], api: [] as number[], toy: [] as number[], rawCpu: [] as number[], apiCpu: [] as number[], toyCpu: [] as number[] };
    for (let r = -1; r < 2 * ctx.runs; r++) {
      const m = shortMessages(r);
      await settle();
      let c0 = mainThreadCpuMs();
      const a = await raw.run(raw.promptTokens(m), 1 + 2);
      const aCpu = mainThreadCpuMs() - c0;
      await settle();
      c0 = mainThreadCpuMs();
      let apiCpu = NaN;
      const b = await sseChat(ctx.hearth.url, { messages: m, max_tokens: a.textTokens, temperature: 0, seed: 1 }, () => (apiCpu = mainThreadCpuMs() - c0));
      await settle();
      c0 = mainThreadCpuMs();
      let toyCpu = NaN;
      const t0 = now();
      let toyFirst = NaN;
      await engine.chat(m, { temperature: 0, seed: 1, maxTokens: a.textTokens, priority: "device", conversationId: `bench-standin-short-${r}`, onPromptDone: () => ((toyFirst = now() - t0), (toyCpu = mainThreadCpuMs() - c0)) }, () => {});
      engine.forgetConversation(`bench-standin-short-${r}`);
      if (r < 0) continue;
      shortRounds.raw.push(a.textMs);
      shortRounds.api.push(b.ttftMs);
      shortRounds.toy.push(toyFirst);
      // raw: CPU to its first whole character, estimated as the whole short run less its extra tokens' share
      shortRounds.rawCpu.push(aCpu * (a.textTokens / Math.max(a.textTokens, a.tokens.length)));
      shortRounds.apiCpu.push(apiCpu);
      shortRounds.toyCpu.push(toyCpu);
    }
    const shortLen = raw.promptTokens(shortMessages(0)).length;

    // Two requests at once (the engine's sequences) against one.
    const together: { perTokenMs: number; aggregateTokPerS: number }[] = [];
    for (let r = 0; r < Math.min(3, ctx.runs); r++) {
      await settle();
      const t0 = now();
      const both = await Promise.all([0, 1].map((i) => sseChat(ctx.hearth.url, { messages: messages(2000 + 2 * r + i), max_tokens: TOKENS, temperature: 0, seed: 1 })));
      const wall = now() - t0;
      const tokens = both.reduce((n, x) => n + (x.completionTokens ?? TOKENS), 0);
      together.push({ perTokenMs: stat(both.map((x) => (x.chunkTimes.at(-1)! - x.chunkTimes[0]!) / Math.max(1, (x.completionTokens ?? TOKENS) - 1))).median, aggregateTokPerS: tokens / (wall / 1000) });
    }

    // The output layer, sampling at this vocabulary size, and threads (the floor only).
    await settle();
    const lm = await raw.outputLayer(raw.promptTokens(messages(-2)), [...replay, ...replay].slice(0, 2 * TOKENS));
    const firstTextTokens = rounds.raw.map((x) => x.textTokens);
    const sampling = await raw.samplingCost(raw.promptTokens(messages(-3)), 60);
    const threadRows = await threadCheck(raw.model, threads, contextSize, sequences, raw.promptTokens(messages(-4)));

    // ---- rows --------------------------------------------------------------------------------
    const rawTok = rounds.raw.map((x) => x.perTokenMs);
    const rawTtft = rounds.raw.map((x) => x.textMs);
    const apiTok = rounds.api.map((x) => x.perTokenMs);
    const apiTtft = rounds.api.map((x) => x.ttftMs);
    const toyTok = rounds.toy.map((x) => x.perTokenMs);
    const toyTtft = rounds.toy.map((x) => x.ttftMs);
    const srvTok = rounds.server.map((x) => x.perTokenMs);
    const srvOwnTok = rounds.server.map((x) => x.serverPerTokenMs);
    const srvTtft = rounds.server.map((x) => x.ttftMs);
    const srvPrefill = rounds.server.map((x) => x.promptPerTokenMs);
    const rawPrefill = rounds.raw.map((x) => x.prefillMs / promptLen);
    const apiRatio = stat(pairedRatios(apiTok, rawTok));
    const toyRatio = stat(pairedRatios(toyTok, rawTok));
    const apiTtftDelta = stat(pairedDiffs(apiTtft, rawTtft));
    const toyTtftDelta = stat(pairedDiffs(toyTtft, rawTtft));
    const lmWith = stat(lm.withLogits);
    const lmWithout = stat(lm.without);
    const nlc = raw.release;
    const vsServerTok = stat(pairedRatios(apiTok, srvTok));
    const vsServerTtft = stat(pairedRatios(apiTtft, srvTtft));
    const deb = `Debian llama.cpp ${serverBuild.replace(/^version: /, "")}`;
    const rows: Row[] = [
      { area: AREA, metric: `raw decode, ${TOKENS} tokens, node-llama-cpp's token loop (${nlc})`, unit: "ms/token", server: stat(rawTok), verdict: "INFO", note: `threads ${threads}; the floor of the rows below` },
      { area: AREA, metric: `raw prefill, ${promptLen}-token prompt, + first token (${nlc})`, unit: "ms/token", server: stat(rawPrefill), verdict: "INFO", note: `whole prompt ${round(stat(rounds.raw.map((x) => x.prefillMs)).median)} ms; first whole character after ${stat(firstTextTokens).median} token(s)` },
      { area: AREA, metric: "chat endpoint per token vs raw decode (SSE, greedy)", unit: "ms/token", server: stat(apiTok), floor: stat(rawTok), ratio: apiRatio, delta: stat(pairedDiffs(apiTok, rawTok)), target: "ratio <= 1.10 (goal 1.05)", verdict: verdict(apiRatio.median <= 1.1) },
      { area: AREA, metric: "chat endpoint time to first token vs raw (prefill to first character)", unit: "ms", server: stat(apiTtft), floor: stat(rawTtft), ratio: stat(pairedRatios(apiTtft, rawTtft)), delta: apiTtftDelta, target: "delta <= 5 ms", verdict: verdict(apiTtftDelta.median <= 5) },
      { area: AREA, metric: "toy reply path per token vs raw decode (replySentences, device turn)", unit: "ms/token", server: stat(toyTok), floor: stat(rawTok), ratio: toyRatio, delta: stat(pairedDiffs(toyTok, rawTok)), target: "ratio <= 1.10", verdict: verdict(toyRatio.median <= 1.1) },
      { area: AREA, metric: "toy reply path time to first token vs raw (prefill to first character)", unit: "ms", server: stat(toyTtft), floor: stat(rawTtft), ratio: stat(pairedRatios(toyTtft, rawTtft)), delta: toyTtftDelta, target: "delta <= 5 ms", verdict: verdict(toyTtftDelta.median <= 5) },
      { area: AREA, metric: `chat endpoint time to first token, ${shortLen}-token prompt (${2 * ctx.runs} rounds)`, unit: "ms", server: stat(shortRounds.api), floor: stat(shortRounds.raw), ratio: stat(pairedRatios(shortRounds.api, shortRounds.raw)), delta: stat(pairedDiffs(shortRounds.api, shortRounds.raw)), target: "delta <= 5 ms", verdict: verdict(stat(pairedDiffs(shortRounds.api, shortRounds.raw)).median <= 5) },
      { area: AREA, metric: `toy reply path (engine, device turn) time to first token, ${shortLen}-token prompt`, unit: "ms", server: stat(shortRounds.toy), floor: stat(shortRounds.raw), ratio: stat(pairedRatios(shortRounds.toy, shortRounds.raw)), delta: stat(pairedDiffs(shortRounds.toy, shortRounds.raw)), target: "delta <= 5 ms", verdict: verdict(stat(pairedDiffs(shortRounds.toy, shortRounds.raw)).median <= 5) },
      { area: AREA, metric: "JS-thread CPU until the first text: chat endpoint / toy path vs raw loop", unit: "ms", server: stat(shortRounds.apiCpu), floor: stat(shortRounds.rawCpu), delta: stat(pairedDiffs(shortRounds.apiCpu, shortRounds.rawCpu)), verdict: "INFO", note: `toy path ${round(stat(shortRounds.toyCpu).median, 1)} ms (Δ ${round(stat(pairedDiffs(shortRounds.toyCpu, shortRounds.rawCpu)).median, 1)} ms); endpoint includes the bench's own HTTP client` },
      { area: AREA, metric: "JS-thread CPU per token: chat endpoint (server + the bench's SSE client) vs raw loop", unit: "ms/token", server: stat(jsCpu.api), floor: stat(jsCpu.raw), delta: stat(pairedDiffs(jsCpu.api, jsCpu.raw)), verdict: "INFO", note: "on the token loop's critical path; kernel schedstat, robust to load" },
      { area: AREA, metric: "JS-thread CPU per token: toy reply path vs raw loop", unit: "ms/token", server: stat(jsCpu.toy), floor: stat(jsCpu.raw), delta: stat(pairedDiffs(jsCpu.toy, jsCpu.raw)), verdict: "INFO" },
      { area: AREA, metric: `llama-server per token, client side vs its own timing (${deb})`, unit: "ms/token", server: stat(srvTok), floor: stat(srvOwnTok), ratio: stat(pairedRatios(srvTok, srvOwnTok)), delta: stat(pairedDiffs(srvTok, srvOwnTok)), verdict: "INFO" },
      { area: AREA, metric: `llama-server time to first token (${deb})`, unit: "ms", server: stat(srvTtft), floor: stat(rounds.server.map((x) => x.promptMs)), delta: stat(pairedDiffs(srvTtft, rounds.server.map((x) => x.promptMs))), verdict: "INFO", note: "floor = its own prompt_ms" },
      { area: AREA, metric: `Hearth chat endpoint vs llama-server, per token (builds differ: ${nlc.split(" (")[0]} vs Debian)`, unit: "ms/token", server: stat(apiTok), floor: stat(srvTok), ratio: vsServerTok, target: "ratio <= 1.10", verdict: verdict(vsServerTok.median <= 1.1), note: "different llama.cpp builds: the raw rows separate build from Hearth" },
      { area: AREA, metric: "Hearth chat endpoint vs llama-server, time to first token (builds differ)", unit: "ms", server: stat(apiTtft), floor: stat(srvTtft), ratio: vsServerTtft, target: "ratio <= 1.10", verdict: verdict(vsServerTtft.median <= 1.1) },
      { area: AREA, metric: `prefill per token: Debian build (llama-server) vs ${nlc.split(" (")[0]}`, unit: "ms/token", server: stat(srvPrefill), floor: stat(rawPrefill), ratio: stat(pairedRatios(srvPrefill, rawPrefill)), verdict: "INFO", note: "the same GGUF, threads and prompt" },
      { area: AREA, metric: "decode: without the output layer's logits vs with (token-interleaved)", unit: "ms/token", server: lmWithout, floor: lmWith, delta: { median: lmWithout.median - lmWith.median, min: NaN, max: NaN, n: 1 }, verdict: "INFO", note: "the 896 x 151,936 output projection" },
      ...Object.entries(sampling).map(([setup, s]): Row => ({ area: AREA, metric: `sampling once over 151,936 logits: ${setup}`, unit: "ms", server: s, verdict: "INFO", note: "native, no decode" })),
      { area: AREA, metric: `2 chat requests at once: per token each / aggregate`, unit: "ms/token", server: stat(together.map((x) => x.perTokenMs)), floor: stat(apiTok), ratio: stat(pairedRatios(together.map((x) => x.perTokenMs), apiTok.slice(0, together.length))), verdict: "INFO", note: `aggregate ${round(stat(together.map((x) => x.aggregateTokPerS)).median, 1)} tok/s vs ${round(1000 / stat(apiTok).median, 1)} tok/s alone; floor = 1 request` },
      ...threadRows.rows,
    ];
    const tokensSeen = rounds.api.map((x) => x.tokens);
    const notes = [
      `The stand-in: ${built.file} (${round(built.info.bytes / 1e6)} MB, sha256 ${String(built.info.sha256).slice(0, 16)}…; built by scripts/standin.sh in ${built.info.seconds?.total ?? "?"} s: ${JSON.stringify(built.info.tensorTypes ?? {})}). Qwen2.5-0.5B-Instruct's shape (24 layers, 896 wide, 14/2 heads, FFN 4864, tied embeddings), the real Qwen2 BPE vocabulary (151,936 entries) and Qwen2.5's chat template (node-llama-cpp resolves it to its QwenChatWrapper), random weights: the text is nonsense (much of it CJK, multi-token characters included), the costs are real.`,
      `Per round, interleaved: raw (node-llama-cpp alone, its own token loop LlamaContextSequence.evaluate: the prompt as the engine renders it and the first token, then ${TOKENS} tokens fed back one evaluation each, with logits and a greedy pick in native code), the chat endpoint (SSE, max_tokens ${TOKENS}, temperature 0, per token = first to last content chunk / (completion_tokens - the tokens the raw run needed for its first whole character), ${tokensSeen.join(", ")} tokens; the same text as the raw run's tokens in ${sameText}/${ctx.runs} rounds), the toy reply path (replySentences over engines.llm.chat, priority device, a conversationId, per token from the chunks the sentence splitter receives), llama-server (${deb}, same GGUF, ${threads} thread(s), ${sequences} slots, ${contextSize} context, cache_prompt false). ${ctx.runs} rounds after ${ctx.warmup} warm-up; context ${contextSize} / ${sequences} sequences as the engine.`,
      `The output layer: decoding one token without computing logits costs ${round(lmWithout.median, 1)} ms, with logits ${round(lmWith.median, 1)} ms (medians of ${lm.withLogits.length} tokens each, interleaved token by token): ${round(lmWith.median - lmWithout.median, 1)} ms per token is the 896 x 151,936 output projection (136 M of the model's 494 M multiply-adds, 145 MB of its 398 MB). A "raw decode" timed with evaluateWithoutGeneratingNewTokens skips it, and any generation must pay it: that is the floor to compare against.`,
      `Sampling over 151,936 logits (native, the same logits, no decode): ${Object.entries(sampling).map(([k, s]) => `${k} ${round(s.median, 2)} ms`).join("; ")}.`,
      ...threadRows.notes,
    ];
    return {
      name,
      rows,
      notes,
      details: {
        standin: built.info,
        builds: { nodeLlamaCpp: nlc, llamaServer: deb },
        promptTokens: promptLen,
        tokens: TOKENS,
        rounds: {
          raw: rounds.raw.map((x) => ({ prefillMs: round(x.prefillMs, 1), firstTextMs: round(x.textMs, 1), firstTextTokens: x.textTokens, perTokenMs: round(x.perTokenMs, 2), tokens: x.tokens.length })),
          api: rounds.api.map((x) => ({ ttftMs: round(x.ttftMs, 1), perTokenMs: round(x.perTokenMs, 2), tokens: x.tokens })),
          toy: rounds.toy.map((x) => ({ ttftMs: round(x.ttftMs, 1), perTokenMs: round(x.perTokenMs, 2), tokens: x.tokens, sentences: x.sentences })),
          server: rounds.server.map((x) => ({ ttftMs: round(x.ttftMs, 1), perTokenMs: round(x.perTokenMs, 2), ownPerTokenMs: round(x.serverPerTokenMs, 2), promptMs: round(x.promptMs, 1), promptPerTokenMs: round(x.promptPerTokenMs, 2), tokens: x.tokens })),
        },
        outputLayer: { withLogitsMs: lm.withLogits.map((x) => round(x, 2)), withoutMs: lm.without.map((x) => round(x, 2)) },
        samplingMs: Object.fromEntries(Object.entries(sampling).map(([k, s]) => [k, { median: round(s.median, 3), min: round(s.min, 3), max: round(s.max, 3) }])),
        together,
        shortPrompt: { tokens: shortLen, ...Object.fromEntries(Object.entries(shortRounds).map(([k, v]) => [k, v.map((x) => round(x, 2))])) },
        jsCpuMsPerToken: { raw: jsCpu.raw.map((x) => round(x, 3)), api: jsCpu.api.map((x) => round(x, 3)), toy: jsCpu.toy.map((x) => round(x, 3)) },
        threads: threadRows.details,
        sampleText: texts[0]?.slice(0, 200),
      },
    };
  } finally {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  }
}

/** The raw floor at the configured thread count against the other of 1 / 2 threads (prefill and decode), interleaved. */
async function threadCheck(model: LlamaModel, threads: number, contextSize: number, sequences: number, prompt: Token[]) {
  const other = threads === 1 ? 2 : 1;
  const a = await Raw.on(model, threads, contextSize, sequences);
  const b = await Raw.on(model, other, contextSize, sequences);
  const ra: RawRun[] = [];
  const rb: typeof ra = [];
  try {
    const n = other > threads ? 6 : Math.ceil(TOKENS / 2);
    for (let r = 0; r < 2; r++) {
      await settle();
      ra.push(await a.run(prompt, n));
      await settle();
      rb.push(await b.run(prompt, n));
    }
  } finally {
    await a.close();
    await b.close();
  }
  const dec = stat(pairedRatios(rb.map((x) => x.perTokenMs), ra.map((x) => x.perTokenMs)));
  const pre = stat(pairedRatios(rb.map((x) => x.prefillMs), ra.map((x) => x.prefillMs)));
  const rows: Row[] = [
    { area: AREA, metric: `raw decode: ${other} thread(s) vs ${threads}`, unit: "ms/token", server: stat(rb.map((x) => x.perTokenMs)), floor: stat(ra.map((x) => x.perTokenMs)), ratio: dec, verdict: "INFO" },
    { area: AREA, metric: `raw prefill (${prompt.length} tokens): ${other} thread(s) vs ${threads}`, unit: "ms", server: stat(rb.map((x) => x.prefillMs)), floor: stat(ra.map((x) => x.prefillMs)), ratio: pre, verdict: "INFO" },
  ];
  const cores = navigator.hardwareConcurrency;
  const notes = [
    `Threads on the stand-in (raw floor, interleaved): decode with ${other} thread(s) takes ${dec.median.toFixed(2)}x the time of ${threads}, prefill ${pre.median.toFixed(2)}x, on this ${cores}-core machine.`,
  ];
  const brief = (x: RawRun) => ({ prefillMs: round(x.prefillMs, 1), perTokenMs: round(x.perTokenMs, 2) });
  return { rows, notes, details: { threads, other, configured: ra.map(brief), otherThreads: rb.map(brief) } };
}
