// One OpenAI-compatible server an engine sends work to: its state (up, down, busy for a moment),
// what it is doing (requests in flight), what it has done (requests, errors, latency), and what it
// can do (learned by the pool's health check: llama.cpp's slots and grammars, Hearth's voices).
import { Cancelled } from "../../errors.ts";
import { failureOf, UpstreamFailure } from "./failure.ts";

export type EngineName = "stt" | "llm" | "tts";

/** What kind of server it is, as far as Hearth can tell; decides the non-OpenAI fields it is sent. */
export type ServerKind = "llama.cpp" | "hearth" | "openai";

export interface UpstreamInfo {
  server: ServerKind;
  /** Model ids from GET /v1/models. */
  models: string[];
  /** llama.cpp: parallel slots (-np) and each slot's context in tokens. */
  slots?: number;
  contextPerSlot?: number;
}

/** What /health shows of an upstream. */
export interface UpstreamStatus {
  url: string;
  state: "up" | "down" | "busy" | "unknown";
  server: ServerKind;
  inFlight: number;
  requests: number;
  errors: number;
  /** Moving average of the time to the first useful data (token, audio, transcript), in ms. */
  latencyMs: number | null;
  lastError: string | null;
  /** When the last health check or request told us the state (ISO time). */
  checkedAt: string | null;
}

export class Upstream {
  state: "up" | "down" | "unknown" = "unknown";
  /** Epoch ms until which it is left alone after a 429/503. */
  busyUntil = 0;
  inFlight = 0;
  requests = 0;
  errors = 0;
  latencyMs: number | undefined;
  lastError: string | undefined;
  checkedAt: number | undefined;
  info: UpstreamInfo = { server: "openai", models: [] };
  /** llama.cpp only: which slot each conversation's prompt cache is in. */
  readonly slots = new SlotTable();

  constructor(
    /** Base URL ending in /v1. */
    readonly url: string,
    private readonly apiKey: string,
  ) {}

  /** Where the server's own (non-/v1) routes live, e.g. llama-server's /props. */
  get origin(): string {
    return this.url.replace(/\/v1$/, "");
  }

  /** How many requests it is given at once; more wait in the pool (so they can still go elsewhere). */
  get capacity(): number {
    return this.info.slots ?? Infinity;
  }

  /** A request to `${url}${path}`. A non-2xx or a network error throws an UpstreamFailure; an abort throws the signal's reason. */
  async fetch(path: string, init: { method?: string; body?: BodyInit; json?: unknown; signal: AbortSignal; base?: "v1" | "origin" }): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`;
    let body = init.body;
    if (init.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(init.json);
    }
    const url = (init.base === "origin" ? this.origin : this.url) + path;
    let res: Response;
    try {
      res = await fetch(url, { method: init.method ?? (body ? "POST" : "GET"), headers, body, signal: init.signal });
    } catch (e) {
      if (init.signal.aborted) throw init.signal.reason ?? new Cancelled();
      throw new UpstreamFailure("down", `cannot reach ${this.url}: ${(e as Error).message}`);
    }
    if (!res.ok) throw await failureOf(res, this.url);
    return res;
  }

  markUp() {
    this.state = "up";
    this.checkedAt = Date.now();
  }

  markDown(reason: string) {
    this.state = "down";
    this.lastError = reason;
    this.checkedAt = Date.now();
    this.slots.clear(); // a restarted server has lost its caches
  }

  noteLatency(ms: number) {
    this.latencyMs = this.latencyMs === undefined ? ms : 0.8 * this.latencyMs + 0.2 * ms;
  }

  status(now = Date.now()): UpstreamStatus {
    return {
      url: this.url,
      state: this.state === "up" && this.busyUntil > now ? "busy" : this.state,
      server: this.info.server,
      inFlight: this.inFlight,
      requests: this.requests,
      errors: this.errors,
      latencyMs: this.latencyMs === undefined ? null : Math.round(this.latencyMs * 10) / 10,
      lastError: this.lastError ?? null,
      checkedAt: this.checkedAt ? new Date(this.checkedAt).toISOString() : null,
    };
  }
}

/**
 * llama-server's slots as Hearth uses them (`id_slot`): a conversation goes back to the slot that
 * holds its prompt cache when that slot is free; otherwise to a free slot no conversation holds,
 * else the one used longest ago. The pool never sends a server more requests than it has slots.
 */
export class SlotTable {
  private slots: { conversationId?: string; busy: boolean; lastUsed: number }[] = [];

  resize(count: number) {
    if (count === this.slots.length) return;
    this.slots = Array.from({ length: count }, () => ({ busy: false, lastUsed: 0 }));
  }

  /** A slot index for this request, or undefined (no slots known, or none free: let the server choose). */
  take(conversationId?: string): number | undefined {
    const own = conversationId ? this.slots.findIndex((s) => s.conversationId === conversationId && !s.busy) : -1;
    const free = this.slots.map((s, i) => ({ s, i })).filter(({ s }) => !s.busy);
    const pick = own >= 0 ? own : (free.find(({ s }) => !s.conversationId) ?? free.sort((a, b) => a.s.lastUsed - b.s.lastUsed)[0])?.i;
    if (pick === undefined) return undefined;
    const slot = this.slots[pick]!;
    if (conversationId && slot.conversationId !== conversationId) {
      for (const s of this.slots) if (s.conversationId === conversationId) s.conversationId = undefined;
    }
    slot.conversationId = conversationId;
    slot.busy = true;
    return pick;
  }

  release(index: number) {
    const slot = this.slots[index];
    if (!slot) return;
    slot.busy = false;
    slot.lastUsed = performance.now();
  }

  forget(conversationId: string) {
    for (const s of this.slots) if (s.conversationId === conversationId) s.conversationId = undefined;
  }

  clear() {
    for (const s of this.slots) s.conversationId = undefined;
  }
}
