// The LLM on other machines: OpenAI-compatible servers (llama.cpp's llama-server, Ollama, vLLM,
// LocalAI) through POST /v1/chat/completions, streamed (SSE), with the routing, failover and
// backpressure of engines/remote/pool.ts. With llama-server, a conversation keeps its slot
// (`id_slot`) and its prompt cache (`cache_prompt`), and GBNF grammars are sent as they are;
// other servers get JSON schemas as `response_format`, and a grammar-only request is refused.
// No preloadConversation (warm prompts): the OpenAI API has no standard "evaluate the prompt,
// generate nothing" request, and a speculative request would hold a server slot and could evict
// another conversation's prompt cache on a shared server; llama-server caches a conversation's
// prompt on its first turn.
import { BadRequest, Busy, Cancelled } from "../../errors.ts";
import { logger } from "../../log.ts";
import { UpstreamFailure } from "../remote/failure.ts";
import { UpstreamPool, type Attempt } from "../remote/pool.ts";
import { sseData } from "../remote/sse.ts";
import { Place } from "./place.ts";
import type { Upstream } from "../remote/upstream.ts";
import type { ChatMessage, ChatOptions, ChatResult, Llm, LlmReservation } from "../types.ts";

const log = logger("llm");

export interface RemoteLlmSettings {
  urls: string[];
  apiKey: string;
  /** "" = the first model the server lists. */
  model: string;
  timeoutMs: number;
  /** [llm] context_size / sequences: a conversation's tokens when the server does not say. */
  contextSize: number;
  sequences: number;
  maxQueue: number;
  maxTokens: number;
  temperature: number;
  healthIntervalMs?: number;
}

/**
 * Token counts are estimated (the servers' tokenizers are not here): UTF-8 bytes / 3 plus a few
 * tokens of chat template per message, times a factor learned from the prompt_tokens the last
 * answer reported, with a 10 % margin. It starts cautious (2 bytes a token).
 */
const BYTES_PER_TOKEN = 3;
const MESSAGE_OVERHEAD = 4;

export class RemoteLlm implements Llm {
  /** Places taken by HTTP requests, and apart from them by devices' turns (so HTTP load never leaves a toy without one). */
  private admitted = 0;
  private admittedDevices = 0;
  private factor = 1.5;
  private closed = false;

  private constructor(
    readonly pool: UpstreamPool,
    private readonly settings: RemoteLlmSettings,
  ) {}

  static async load(settings: RemoteLlmSettings): Promise<RemoteLlm> {
    const pool = new UpstreamPool({
      engine: "llm",
      urls: settings.urls,
      apiKey: settings.apiKey,
      timeoutMs: settings.timeoutMs,
      maxQueue: Number.MAX_SAFE_INTEGER, // bounded by admission (reserve): running + [llm] max_queue, for HTTP and devices each
      healthIntervalMs: settings.healthIntervalMs,
      probe: probeLlamaCpp,
    });
    await pool.start();
    return new RemoteLlm(pool, settings);
  }

  /** The configured model, else the first one an upstream lists. */
  get id(): string {
    return this.settings.model || this.pool.upstreams.find((u) => u.info.models.length)?.info.models[0] || "remote-llm";
  }

  countTokens(text: string): number {
    return Math.ceil((Buffer.byteLength(text) / BYTES_PER_TOKEN) * this.factor);
  }

  countPromptTokens(messages: ChatMessage[]): number {
    return Math.ceil(rawPromptTokens(messages) * this.factor);
  }

  /** The smallest context per slot a llama-server reports, else [llm] context_size / sequences. */
  get tokensPerConversation(): number {
    const reported = this.pool.upstreams.map((u) => u.info.contextPerSlot).filter((n): n is number => !!n);
    return reported.length ? Math.min(...reported) : Math.floor(this.settings.contextSize / this.settings.sequences);
  }

  get queueDepth(): number {
    return this.pool.waiting;
  }

  reserve(opts: { priority?: "device" } = {}): LlmReservation {
    return this.takePlace(false, opts.priority === "device");
  }

  forgetConversation(conversationId: string) {
    this.pool.forget(conversationId);
  }

  async chat(messages: ChatMessage[], opts: ChatOptions, onText: (chunk: string) => void): Promise<ChatResult> {
    const given = opts.reservation instanceof Place && opts.reservation.owner === this && opts.reservation.use() ? opts.reservation : undefined;
    const place = given ?? this.takePlace(true, opts.priority === "device");
    try {
      if (opts.signal?.aborted) throw new Cancelled();
      const gbnf = opts.grammar && opts.grammar !== "json" && !opts.jsonSchema;
      if (gbnf && !this.pool.upstreams.some(takesGrammars)) {
        throw new BadRequest(
          "The remote language model servers do not take GBNF grammars (llama.cpp's llama-server does): use response_format json_schema instead, or add a llama-server to [llm] urls.",
          "grammar",
          "unsupported_parameter",
        );
      }
      let emitted = false;
      return await this.pool.run(
        (attempt) =>
          this.complete(attempt, messages, opts, (text) => {
            emitted = true;
            onText(text);
          }),
        { conversationId: opts.conversationId, signal: opts.signal, canRetry: () => !emitted, accept: gbnf ? takesGrammars : undefined, priority: opts.priority },
      );
    } finally {
      place.finish();
    }
  }

  async close() {
    this.closed = true;
    this.pool.close();
  }

  /** One streamed completion on one upstream. */
  private async complete(attempt: Attempt, messages: ChatMessage[], opts: ChatOptions, onText: (chunk: string) => void): Promise<ChatResult> {
    const { upstream, signal } = attempt;
    const estimate = this.countPromptTokens(messages);
    // Never past the end of the conversation's context: the reply stops there ("length"), as the local engine's does.
    const maxTokens = Math.max(1, Math.min(opts.maxTokens ?? this.settings.maxTokens, this.tokensPerConversation - estimate));
    const body: Record<string, unknown> = {
      model: this.settings.model || upstream.info.models[0] || "default",
      messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: maxTokens,
      temperature: opts.temperature ?? this.settings.temperature,
      top_p: opts.topP,
      frequency_penalty: opts.frequencyPenalty,
      presence_penalty: opts.presencePenalty,
      seed: opts.seed,
      stop: opts.stop?.length ? opts.stop : undefined,
    };
    if (opts.jsonSchema) body.response_format = { type: "json_schema", json_schema: { name: "response", schema: opts.jsonSchema, strict: true } };
    else if (opts.grammar === "json") body.response_format = { type: "json_object" };
    else if (opts.grammar) body.grammar = opts.grammar;
    const slot = upstream.info.server === "llama.cpp" ? upstream.slots.take(opts.conversationId) : undefined;
    if (upstream.info.server === "llama.cpp") {
      body.cache_prompt = true;
      if (slot !== undefined) body.id_slot = slot;
    }
    try {
      const res = await upstream.fetch("/chat/completions", { json: body, signal });
      let finishReason: ChatResult["finishReason"] | undefined;
      let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
      let pieces = 0;
      let done = false;
      for await (const data of sseData(res.body!, attempt.alive)) {
        if (data.trim() === "[DONE]") {
          done = true;
          break;
        }
        const event = parse(data, upstream);
        if (event.error) throw new UpstreamFailure("down", `${upstream.url} failed mid-answer: ${JSON.stringify(event.error).slice(0, 300)}`);
        const choice = event.choices?.[0];
        const text = choice?.delta?.content;
        if (typeof text === "string" && text) {
          if (pieces++ === 0) {
            attempt.firstData();
            opts.onPromptDone?.();
          }
          onText(text);
        }
        if (choice?.finish_reason) finishReason = choice.finish_reason === "length" ? "length" : "stop";
        if (event.usage) usage = event.usage;
      }
      if (!done && !finishReason) throw new UpstreamFailure("down", `${upstream.url} ended the stream before the reply was complete`);
      if (signal.aborted) throw signal.reason;
      if (pieces === 0) opts.onPromptDone?.();
      if (usage?.prompt_tokens) this.calibrate(messages, usage.prompt_tokens);
      return {
        finishReason: finishReason ?? "stop",
        promptTokens: usage?.prompt_tokens ?? estimate,
        completionTokens: Math.min(usage?.completion_tokens ?? pieces, maxTokens),
      };
    } finally {
      if (slot !== undefined) upstream.slots.release(slot);
    }
  }

  /** Learns the factor from what the server counted for the last prompt (its chat template included). */
  private calibrate(messages: ChatMessage[], promptTokens: number) {
    const observed = promptTokens / rawPromptTokens(messages);
    if (Number.isFinite(observed) && observed > 0) this.factor = Math.min(8, Math.max(0.25, observed * 1.1));
  }

  private takePlace(inUse: boolean, device: boolean): Place {
    if (this.closed) throw new Cancelled("shutting down");
    // Room: what the upstreams that are not down can run at once (their slots, else [llm] sequences each), plus the queue.
    const running = this.pool.upstreams.filter((u) => u.state !== "down").reduce((n, u) => n + (u.info.slots ?? this.settings.sequences), 0);
    if ((device ? this.admittedDevices : this.admitted) >= Math.max(1, running) + this.settings.maxQueue) {
      throw new Busy(`the language model servers are busy (${this.pool.waiting} requests waiting); try again shortly`);
    }
    const place = device ? new Place(this, () => this.admittedDevices--) : new Place(this, () => this.admitted--);
    if (device) this.admittedDevices++;
    else this.admitted++;
    if (inUse) place.use();
    return place;
  }
}

/** The estimate before the learned factor: bytes / 3 per message, plus a few tokens of template each. */
function rawPromptTokens(messages: ChatMessage[]): number {
  return messages.reduce((n, m) => n + Buffer.byteLength(m.content) / BYTES_PER_TOKEN + MESSAGE_OVERHEAD, 3);
}

/** llama.cpp's server and Hearth take a GBNF `grammar` field; OpenAI's API does not. */
function takesGrammars(u: Upstream): boolean {
  return u.info.server === "llama.cpp" || u.info.server === "hearth";
}

interface ChunkEvent {
  choices?: { delta?: { content?: unknown }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  error?: unknown;
}

function parse(data: string, upstream: Upstream): ChunkEvent {
  try {
    return JSON.parse(data) as ChunkEvent;
  } catch {
    throw new UpstreamFailure("down", `${upstream.url} sent a stream event that is not JSON: ${data.slice(0, 100)}`);
  }
}

/** llama-server's GET /props: its slots (-np) and each slot's context. Other servers have no /props. */
async function probeLlamaCpp(upstream: Upstream, signal: AbortSignal): Promise<void> {
  if (upstream.info.server !== "llama.cpp") return;
  try {
    const res = await upstream.fetch("/props", { signal, base: "origin" });
    const props = (await res.json()) as { total_slots?: number; default_generation_settings?: { n_ctx?: number } };
    if (props.total_slots) {
      upstream.info.slots = props.total_slots;
      upstream.slots.resize(props.total_slots);
    }
    if (props.default_generation_settings?.n_ctx) upstream.info.contextPerSlot = props.default_generation_settings.n_ctx;
  } catch (e) {
    if (signal.aborted) throw e;
    log.debug("no llama.cpp /props", { upstream: upstream.url, error: (e as Error).message });
  }
}
