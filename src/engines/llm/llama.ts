// The LLM with node-llama-cpp: one model, one context with N sequences, a bounded queue.
import { getLlama, LlamaChat, type ChatHistoryItem, type Llama, type LlamaContext, type LlamaGrammar, type LlamaModel } from "node-llama-cpp";
import { BadRequest, Busy, Cancelled, NotReady } from "../../errors.ts";
import { logger } from "../../log.ts";
import { metrics } from "../../metrics.ts";
import type { LlmModel } from "../../models/types.ts";
import type { ChatMessage, ChatOptions, ChatResult, Llm, LlmReservation } from "../types.ts";

const log = logger("llm");

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
  conversationId?: string;
  busy: boolean;
  lastUsed: number;
}

/** A place among the running and waiting requests (Llm.reserve); chat takes it over with `use`. */
class Place implements LlmReservation {
  private state: "held" | "in use" | "released" = "held";
  constructor(
    readonly owner: LlamaCppLlm,
    private readonly giveBack: () => void,
  ) {}

  release() {
    if (this.state === "held") this.end();
  }

  /** Taken over by a chat call, which gives it back with `finish`; false if it was already released. */
  use(): boolean {
    if (this.state !== "held") return false;
    this.state = "in use";
    return true;
  }

  finish() {
    if (this.state === "in use") this.end();
  }

  private end() {
    this.state = "released";
    this.giveBack();
  }
}

interface Waiter {
  conversationId?: string;
  resolve: (slot: Slot) => void;
  reject: (error: Error) => void;
}

export class LlamaCppLlm implements Llm {
  private readonly slots: Slot[];
  private readonly waiters: Waiter[] = [];
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  /** Places taken: requests running, waiting for a sequence, or reserved; at most sequences + maxQueue. */
  private admitted = 0;
  private closed = false;

  private constructor(
    readonly id: string,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly settings: LlamaCppSettings,
  ) {
    this.slots = Array.from({ length: settings.sequences }, () => ({
      chat: new LlamaChat({ contextSequence: context.getSequence() }),
      busy: false,
      lastUsed: 0,
    }));
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

  countPromptTokens(messages: ChatMessage[]): number {
    return this.promptTokens(this.slots[0]!.chat, toHistory(messages));
  }

  reserve(): LlmReservation {
    return this.takePlace();
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

  /** Generates a reply, calling onText with each piece of text as it is produced. */
  async chat(messages: ChatMessage[], opts: ChatOptions, onText: (chunk: string) => void): Promise<ChatResult> {
    const given = opts.reservation instanceof Place && opts.reservation.owner === this && opts.reservation.use() ? opts.reservation : undefined;
    const place = given ?? this.takePlace(true); // throws Busy when every place is taken
    try {
      if (opts.signal?.aborted) throw new Cancelled();
      return await this.generate(messages, opts, onText);
    } finally {
      place.finish();
    }
  }

  private async generate(messages: ChatMessage[], opts: ChatOptions, onText: (chunk: string) => void): Promise<ChatResult> {
    const grammar = await this.grammarFor(opts);
    const slot = await this.acquire(opts.conversationId, opts.signal);
    try {
      const history = toHistory(messages);
      const promptTokens = this.promptTokens(slot.chat, history);
      // Never past the end of the sequence: node-llama-cpp would silently drop the start of the conversation.
      const maxTokens = Math.max(1, Math.min(opts.maxTokens ?? this.settings.maxTokens, this.tokensPerConversation - promptTokens));
      let generatedTokens = 0;
      let first = true;
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
        grammar,
        customStopTriggers: opts.stop?.length ? opts.stop : undefined,
        repeatPenalty:
          opts.frequencyPenalty || opts.presencePenalty
            ? { frequencyPenalty: opts.frequencyPenalty, presencePenalty: opts.presencePenalty }
            : undefined,
      });
      if (opts.signal?.aborted) throw new Cancelled();
      return {
        finishReason: response.metadata.stopReason === "maxTokens" ? "length" : "stop",
        promptTokens,
        completionTokens: Math.min(generatedTokens, maxTokens),
      };
    } catch (e) {
      if (opts.signal?.aborted) throw new Cancelled();
      throw e;
    } finally {
      this.release(slot);
    }
  }

  async close() {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new Cancelled("shutting down"));
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }

  private promptTokens(chat: LlamaChat, history: ChatHistoryItem[]): number {
    try {
      const state = chat.chatWrapper.generateContextState({ chatHistory: [...history, { type: "model", response: [] }] });
      return state.contextText.tokenize(this.model.tokenizer).length;
    } catch {
      return history.reduce((n, item) => n + this.countTokens(item.type === "model" ? item.response.map(String).join("") : String(item.text)), 0);
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

  /** A place for one request (running or waiting), or Busy at once; `inUse` for chat's own. */
  private takePlace(inUse = false): Place {
    if (this.closed) throw new Cancelled("shutting down");
    if (this.admitted >= this.settings.sequences + this.settings.maxQueue) {
      throw new Busy(`the language model is busy (${this.waiters.length} requests waiting); try again shortly`);
    }
    this.admitted++;
    const place = new Place(this, () => this.admitted--);
    if (inUse) place.use();
    return place;
  }

  /** Waits for a sequence; admission was decided by the caller's place. */
  private acquire(conversationId: string | undefined, signal?: AbortSignal): Promise<Slot> {
    if (this.closed) return Promise.reject(new Cancelled("shutting down"));
    const slot = this.freeSlotFor(conversationId);
    if (slot) return this.take(slot, conversationId);
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = { conversationId, resolve, reject };
      this.waiters.push(waiter);
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
    for (let i = 0; i < this.waiters.length; i++) {
      const waiter = this.waiters[i]!;
      const next = this.freeSlotFor(waiter.conversationId);
      if (next) {
        this.waiters.splice(i, 1);
        metrics.setQueueDepth("llm", this.waiters.length);
        this.take(next, waiter.conversationId).then(waiter.resolve, waiter.reject);
        return;
      }
    }
  }
}

function toHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  return messages.map((m) =>
    m.role === "assistant" ? { type: "model", response: [m.content] } : { type: m.role, text: m.content },
  );
}
