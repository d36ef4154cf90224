// The LLM with node-llama-cpp: one model, one context with N sequences, a bounded queue.
import {
  getLlama,
  LlamaChat,
  resolveChatWrapper,
  type ChatHistoryItem,
  type ChatModelFunctions,
  type Llama,
  type LlamaContext,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import { BadRequest, Busy, Cancelled, NotReady } from "../../errors.ts";
import { logger } from "../../log.ts";
import { metrics } from "../../metrics.ts";
import { repeatPenalty, reusedPromptTokens, toHistory } from "./llama-prompt.ts";
import { ToolCallCollector, toolChoiceWrapper, toolPlan, type ToolChoiceWrapper } from "./llama-tools.ts";
import { Place } from "./place.ts";
import type { LlmModel } from "../../models/types.ts";
import type { ChatMessage, ChatOptions, ChatResult, Llm, LlmReservation, PreloadOptions, PreloadResult } from "../types.ts";

const log = logger("llm");

/** Waiting devices' turns served in a row before a waiting HTTP request gets a sequence. */
const DEVICE_STREAK = 4;

/**
 * A preload evaluates its prompt in slices of about this long, and stops between two slices when
 * a real request has come: the most a preload can delay one.
 */
const PRELOAD_SLICE_MS = 100;
/** Two user messages that differ from their first word on: the prompt before them is the part a preload can evaluate. */
const PROBE_MESSAGES = ["Hello.", "Why?"] as const;

export interface LlamaCppSettings {
  threads: number;
  contextSize: number;
  sequences: number;
  maxQueue: number;
  maxTokens: number;
  temperature: number;
}

/** A context sequence plus the chat evaluator bound to it; pinned to a conversation while it has one. */
interface Slot {
  chat: LlamaChat;
  /** The chat wrapper of `chat`, switched per request to force a tool call. */
  wrapper: ToolChoiceWrapper;
  conversationId?: string;
  busy: boolean;
  lastUsed: number;
}

interface PendingPreload {
  prefix: ChatMessage[];
  opts: PreloadOptions;
  resolve: (result: PreloadResult) => void;
}

interface Waiter {
  conversationId?: string;
  /** Device requests are served before the others. */
  device: boolean;
  resolve: (slot: Slot) => void;
  reject: (error: Error) => void;
}

export class LlamaCppLlm implements Llm {
  private readonly slots: Slot[];
  private readonly waiters: Waiter[] = [];
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  readonly supportsTools = true;
  /**
   * Places taken: requests running, waiting for a sequence, or reserved; at most sequences +
   * maxQueue for HTTP requests, and as many again for devices' (toys') turns, so that HTTP load
   * can never leave a toy without a place.
   */
  private admitted = 0;
  private admittedDevices = 0;
  /** Sequences handed to waiting device requests in a row (see release). */
  private devicesInARow = 0;
  /** Preloads waiting to run; they run one at a time (see preloadConversation). */
  private readonly preloads: PendingPreload[] = [];
  private preloading = false;
  private closed = false;

  private constructor(
    readonly id: string,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly settings: LlamaCppSettings,
  ) {
    this.slots = Array.from({ length: settings.sequences }, () => {
      // The wrapper node-llama-cpp picks for the model ("auto"), able to force a function call.
      const wrapper = toolChoiceWrapper(resolveChatWrapper(model));
      return { chat: new LlamaChat({ contextSequence: context.getSequence(), chatWrapper: wrapper }), wrapper, busy: false, lastUsed: 0 };
    });
  }

  static async load(model: LlmModel, settings: LlamaCppSettings): Promise<LlamaCppLlm> {
    const llama = await getLlama({ gpu: false, build: "never", logLevel: "warn" } as any);
    let loaded: LlamaModel;
    try {
      loaded = await llama.loadModel({ modelPath: model.file });
    } catch (e) {
      throw new NotReady(`cannot load the LLM ${model.file}: ${(e as Error).message}. Run "npm run setup -- --verify" to check the model files.`);
    }
    // node-llama-cpp gives each sequence `contextSize` cells; [llm] context_size is the total they share.
    const context = await loaded.createContext({
      contextSize: Math.floor(settings.contextSize / settings.sequences),
      sequences: settings.sequences,
      threads: settings.threads,
    });
    log.info("loaded", { model: model.id, context: settings.contextSize, sequences: settings.sequences, threads: settings.threads });
    return new LlamaCppLlm(model.id, llama, loaded, context, settings);
  }

  countTokens(text: string): number {
    return this.model.tokenize(text).length;
  }

  /** Tokens one conversation may hold: its sequence's share of the context. */
  get tokensPerConversation(): number {
    return this.context.contextSize;
  }

  countPromptTokens(messages: ChatMessage[], tools?: Pick<ChatOptions, "tools" | "toolChoice">): number {
    return this.promptTokens(this.slots[0]!.chat, toHistory(messages), tools ? toolPlan(tools).functions : undefined);
  }

  reserve(opts: { priority?: "device" } = {}): LlmReservation {
    return this.takePlace(false, opts.priority === "device");
  }

  get queueDepth(): number {
    return this.waiters.length;
  }

  /** Drops a conversation's pinned sequence (e.g. a toy's role button cleared its context). */
  forgetConversation(conversationId: string) {
    const slot = this.slots.find((s) => s.conversationId === conversationId);
    if (!slot) return;
    slot.conversationId = undefined;
    if (!slot.busy) void slot.chat.sequence.clearHistory();
  }

  /**
   * Evaluates the prompt a conversation's next request starts with (Llm.preloadConversation).
   * Preloads run one at a time; a newer one of the same conversation replaces one still waiting,
   * and at most one per sequence waits (an older one would only be evicted by the newer ones).
   */
  preloadConversation(prefix: ChatMessage[], opts: PreloadOptions): Promise<PreloadResult> {
    return new Promise((resolve) => {
      for (const p of this.preloads.filter((p) => p.opts.conversationId === opts.conversationId)) this.dropPreload(p, "replaced by a newer preload of the conversation");
      this.preloads.push({ prefix, opts, resolve });
      while (this.preloads.length > this.slots.length) this.dropPreload(this.preloads[0]!, "replaced by newer preloads");
      void this.runPreloads();
    });
  }

  /** Generates a reply, calling onText with each piece of text as it is produced. */
  async chat(messages: ChatMessage[], opts: ChatOptions, onText: (chunk: string) => void): Promise<ChatResult> {
    const given = opts.reservation instanceof Place && opts.reservation.owner === this && opts.reservation.use() ? opts.reservation : undefined;
    const place = given ?? this.takePlace(true, opts.priority === "device"); // throws Busy when every place is taken
    try {
      if (opts.signal?.aborted) throw new Cancelled();
      return await this.generate(messages, opts, onText);
    } finally {
      place.finish();
    }
  }

  private async generate(messages: ChatMessage[], opts: ChatOptions, onText: (chunk: string) => void): Promise<ChatResult> {
    const tools = toolPlan(opts);
    if (tools.functions && !tools.force && (opts.grammar || opts.jsonSchema)) {
      throw new BadRequest(
        "A grammar or JSON schema cannot be combined with tools the model may call (node-llama-cpp constrains one or the other); force a call with tool_choice, or leave the tools out.",
        opts.jsonSchema ? "response_format" : "grammar",
      );
    }
    // A forced call has no text for a grammar to shape.
    const grammar = tools.functions ? undefined : await this.grammarFor(opts);
    const slot = await this.acquire(opts.conversationId, opts.priority === "device", opts.signal);
    try {
      const history = toHistory(messages);
      const promptTokens = this.promptTokens(slot.chat, history, tools.functions);
      // Never past the end of the sequence: node-llama-cpp would silently drop the start of the conversation.
      const maxTokens = Math.max(1, Math.min(opts.maxTokens ?? this.settings.maxTokens, this.tokensPerConversation - promptTokens));
      let generatedTokens = 0;
      let first = true;
      const calls = new ToolCallCollector(opts.onToolCall);
      const meter = slot.chat.sequence.tokenMeter.getState();
      const heldBefore = slot.chat.sequence.contextTokens;
      slot.wrapper.forceCall = tools.force;
      const functionCalling = tools.functions
        ? {
            functions: tools.functions,
            documentFunctionParams: true,
            maxParallelFunctionCalls: opts.parallelToolCalls === false ? 1 : undefined,
            onFunctionCallParamsChunk: calls.onParamsChunk,
            onFunctionCall: calls.onCall,
          }
        : { grammar };
      const response = await slot.chat.generateResponse(history, {
        onTextChunk: (text) => {
          if (first) {
            first = false;
            opts.onPromptDone?.();
          }
          onText(text);
        },
        onToken: (tokens) => {
          generatedTokens += tokens.length;
        },
        signal: opts.signal,
        stopOnAbortSignal: true,
        maxTokens,
        temperature: opts.temperature ?? this.settings.temperature,
        topP: opts.topP,
        seed: opts.seed,
        ...(functionCalling as { grammar?: LlamaGrammar }),
        customStopTriggers: opts.stop?.length ? opts.stop : undefined,
        repeatPenalty: repeatPenalty(opts),
      });
      if (opts.signal?.aborted) throw new Cancelled();
      // onToken sees only the text; the meter counts the tokens of tool calls too.
      if (tools.functions) generatedTokens = Math.max(generatedTokens, slot.chat.sequence.tokenMeter.diff(meter).usedOutputTokens);
      const toolCalls = calls.complete();
      return {
        finishReason: response.metadata.stopReason === "maxTokens" ? "length" : "stop",
        promptTokens,
        completionTokens: Math.min(generatedTokens, maxTokens),
        cachedPromptTokens: reusedPromptTokens(heldBefore, slot.chat.sequence.contextTokens, promptTokens),
        ...(toolCalls.length ? { toolCalls } : {}),
      };
    } catch (e) {
      if (opts.signal?.aborted) throw new Cancelled();
      throw e;
    } finally {
      slot.wrapper.forceCall = false;
      this.release(slot);
    }
  }

  async close() {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new Cancelled("shutting down"));
    for (const p of [...this.preloads]) this.dropPreload(p, "shutting down");
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }

  private promptTokens(chat: LlamaChat, history: ChatHistoryItem[], functions?: ChatModelFunctions): number {
    try {
      // As generateResponse renders it: the reply continues a last model turn (after tool results) or starts a new one.
      const chatHistory = history.at(-1)?.type === "model" ? history : [...history, { type: "model" as const, response: [] }];
      const state = chat.chatWrapper.generateContextState({ chatHistory, availableFunctions: functions, documentFunctionParams: functions ? true : undefined });
      return state.contextText.tokenize(this.model.tokenizer).length;
    } catch {
      return history.reduce((n, item) => n + this.countTokens(item.type === "model" ? item.response.map(String).join("") : String(item.text)), 0);
    }
  }

  /**
   * The tokens of every prompt for `history` plus one more user message that do not depend on that
   * message: where two renderings with different messages part. Measured rather than derived from
   * the chat template, whatever it puts between the history and the new message.
   */
  private promptPrefix(chat: LlamaChat, history: ChatHistoryItem[], functions?: ChatModelFunctions): Token[] {
    const [a, b] = PROBE_MESSAGES.map((text) => {
      const chatHistory: ChatHistoryItem[] = [...history, { type: "user", text }, { type: "model", response: [] }];
      return chat.chatWrapper.generateContextState({ chatHistory, availableFunctions: functions, documentFunctionParams: functions ? true : undefined }).contextText.tokenize(this.model.tokenizer);
    }) as [Token[], Token[]];
    let n = 0;
    while (n < a.length && n < b.length && a[n] === b[n]) n++;
    return a.slice(0, n);
  }

  private dropPreload(p: PendingPreload, reason: string) {
    const i = this.preloads.indexOf(p);
    if (i >= 0) this.preloads.splice(i, 1);
    p.resolve({ outcome: "skipped", reason, cachedTokens: 0, evaluatedTokens: 0 });
  }

  private async runPreloads() {
    if (this.preloading) return;
    this.preloading = true;
    try {
      for (let next = this.preloads.shift(); next; next = this.preloads.shift()) next.resolve(await this.preload(next.prefix, next.opts));
    } finally {
      this.preloading = false;
    }
  }

  /** A request has a place (running, waiting, or reserved before its speech is transcribed). */
  private get requestsUnderWay(): boolean {
    return this.admitted + this.admittedDevices > 0;
  }

  /**
   * One preload: only on a free sequence and while no request is under way; evaluated in slices
   * of about PRELOAD_SLICE_MS, stopping as soon as a request comes (which then finds what was
   * evaluated so far, if it is of the same conversation).
   */
  private async preload(prefix: ChatMessage[], opts: PreloadOptions): Promise<PreloadResult> {
    const skipped = (reason: string): PreloadResult => ({ outcome: "skipped", reason, cachedTokens: 0, evaluatedTokens: 0 });
    if (this.closed) return skipped("shutting down");
    if (opts.signal?.aborted) return skipped("cancelled");
    if (this.requestsUnderWay) return skipped("the language model is busy");
    const slot = this.freeSlotFor(opts.conversationId);
    if (!slot) return skipped("no free context sequence");
    let tokens: Token[];
    try {
      tokens = this.promptPrefix(slot.chat, toHistory(prefix), toolPlan({ tools: opts.tools }).functions);
    } catch (e) {
      return skipped(`the prompt cannot be rendered: ${(e as Error).message}`);
    }
    if (tokens.length >= this.tokensPerConversation) return skipped("the prompt is longer than a conversation's context");
    const sequence = slot.chat.sequence;
    let start = 0;
    try {
      await this.take(slot, opts.conversationId);
      await sequence.adaptStateToTokens(tokens, false); // keeps what it has of the prefix, drops the rest
      start = sequence.nextTokenIndex;
      let size = 4; // a turn that comes during the first slice waits for 4 tokens at most
      while (sequence.nextTokenIndex < tokens.length) {
        if (this.closed || opts.signal?.aborted || this.requestsUnderWay) {
          const reason = this.closed ? "shutting down" : opts.signal?.aborted ? "cancelled" : "a request came";
          return { outcome: "stopped", reason, cachedTokens: sequence.nextTokenIndex, evaluatedTokens: sequence.nextTokenIndex - start };
        }
        const slice = tokens.slice(sequence.nextTokenIndex, sequence.nextTokenIndex + size);
        const t0 = performance.now();
        await sequence.evaluateWithoutGeneratingNewTokens(slice);
        // the next slice as large as fits in PRELOAD_SLICE_MS at the speed just measured
        size = Math.max(4, Math.min(512, Math.round((slice.length * PRELOAD_SLICE_MS) / Math.max(1, performance.now() - t0))));
      }
      return { outcome: "done", cachedTokens: tokens.length, evaluatedTokens: tokens.length - start };
    } catch (e) {
      if (!this.closed) log.warn("preloading a conversation failed", { conversation: opts.conversationId, error: (e as Error).message });
      return { outcome: "stopped", reason: (e as Error).message, cachedTokens: 0, evaluatedTokens: 0 };
    } finally {
      this.release(slot);
    }
  }

  private async grammarFor(opts: ChatOptions): Promise<LlamaGrammar | undefined> {
    const key = opts.jsonSchema ? "schema:" + JSON.stringify(opts.jsonSchema) : opts.grammar;
    if (!key) return undefined;
    let grammar = this.grammars.get(key);
    if (!grammar) {
      grammar = opts.jsonSchema
        ? this.llama.createGrammarForJsonSchema(opts.jsonSchema as any)
        : key === "json"
          ? this.llama.getGrammarFor("json")
          : this.llama.createGrammar({ grammar: key });
      if (this.grammars.size > 64) this.grammars.clear();
      this.grammars.set(key, grammar);
      grammar.catch(() => this.grammars.delete(key));
    }
    try {
      return await grammar;
    } catch (e) {
      const what = opts.jsonSchema ? "response_format.json_schema" : "grammar";
      throw new BadRequest(`Invalid ${what}: ${(e as Error).message}`, what);
    }
  }

  /** A place for one request (running or waiting), or Busy at once; `inUse` for chat's own; devices count apart. */
  private takePlace(inUse: boolean, device: boolean): Place {
    if (this.closed) throw new Cancelled("shutting down");
    if ((device ? this.admittedDevices : this.admitted) >= this.settings.sequences + this.settings.maxQueue) {
      throw new Busy(`the language model is busy (${this.waiters.length} requests waiting); try again shortly`);
    }
    const place = device ? new Place(this, () => this.admittedDevices--) : new Place(this, () => this.admitted--);
    if (device) this.admittedDevices++;
    else this.admitted++;
    if (inUse) place.use();
    return place;
  }

  /** Waits for a sequence; admission was decided by the caller's place. */
  private acquire(conversationId: string | undefined, device: boolean, signal?: AbortSignal): Promise<Slot> {
    if (this.closed) return Promise.reject(new Cancelled("shutting down"));
    const slot = this.freeSlotFor(conversationId);
    if (slot) return this.take(slot, conversationId);
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = { conversationId, device, resolve, reject };
      // devices' turns wait ahead of every HTTP request (in order among themselves)
      const firstHttp = device ? this.waiters.findIndex((w) => !w.device) : -1;
      if (firstHttp >= 0) this.waiters.splice(firstHttp, 0, waiter);
      else this.waiters.push(waiter);
      metrics.setQueueDepth("llm", this.waiters.length);
      signal?.addEventListener(
        "abort",
        () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) {
            this.waiters.splice(i, 1);
            metrics.setQueueDepth("llm", this.waiters.length);
            reject(new Cancelled());
          }
        },
        { once: true },
      );
    });
  }

  /** A conversation waits for its own slot; others take a free unpinned slot, else the least recently used one. */
  private freeSlotFor(conversationId?: string): Slot | undefined {
    const own = conversationId ? this.slots.find((s) => s.conversationId === conversationId) : undefined;
    if (own) return own.busy ? undefined : own;
    const free = this.slots.filter((s) => !s.busy);
    return free.find((s) => !s.conversationId) ?? free.sort((a, b) => a.lastUsed - b.lastUsed)[0];
  }

  private async take(slot: Slot, conversationId?: string): Promise<Slot> {
    slot.busy = true;
    if (slot.conversationId !== conversationId) {
      slot.conversationId = conversationId;
      await slot.chat.sequence.clearHistory();
    }
    return slot;
  }

  private release(slot: Slot) {
    slot.busy = false;
    slot.lastUsed = performance.now();
    // Devices' turns wait at the front, but after DEVICE_STREAK of them in a row an HTTP request
    // that has been waiting goes next: toys come first without shutting HTTP out entirely.
    const order = this.devicesInARow >= DEVICE_STREAK ? [...this.waiters.filter((w) => !w.device), ...this.waiters.filter((w) => w.device)] : this.waiters;
    for (const waiter of order) {
      const next = this.freeSlotFor(waiter.conversationId);
      if (next) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        metrics.setQueueDepth("llm", this.waiters.length);
        this.devicesInARow = waiter.device ? this.devicesInARow + 1 : 0;
        this.take(next, waiter.conversationId).then(waiter.resolve, waiter.reject);
        return;
      }
    }
  }
}
