// The upstreams of one engine and the rules for using them:
//  - health: each is checked (GET /v1/models) every few seconds, every second while it is down;
//  - routing: a conversation sticks to the upstream it last used while that one is available (its
//    prompt cache is there); anything else goes to the least busy available upstream;
//  - failover: a request that fails on one upstream moves to another as long as the caller says it
//    may (nothing has been passed on yet: no text, no audio);
//  - backpressure: an upstream that answers 429/503 is left alone for a moment (Retry-After, else
//    1 s) and the request goes elsewhere; when none is free, it waits in a bounded queue;
//  - timeouts: an upstream silent for `timeoutMs` is treated as down;
//  - metrics: per-upstream requests by outcome, latency, up, in flight.
import { Busy, Cancelled, HearthError, NotReady } from "../../errors.ts";
import { logger } from "../../log.ts";
import { metrics } from "../../metrics.ts";
import { UpstreamFailure } from "./failure.ts";
import { Upstream, type EngineName, type UpstreamStatus } from "./upstream.ts";

const log = logger("remote");

export interface PoolSettings {
  engine: EngineName;
  urls: string[];
  apiKey: string;
  /** An upstream that sends nothing for this long is down. */
  timeoutMs: number;
  /** Requests that may wait for a free upstream; more get Busy (429). */
  maxQueue: number;
  /** Health check period for upstreams that are up (down ones: every second). */
  healthIntervalMs?: number;
  /** Learns what an upstream can do after it answered a health check (llama.cpp's /props, voices...). */
  probe?: (upstream: Upstream, signal: AbortSignal) => Promise<void>;
}

/** What a request's work function gets for one attempt on one upstream. */
export interface Attempt {
  upstream: Upstream;
  /** Aborted when the caller gives up or the upstream stays silent too long. */
  signal: AbortSignal;
  /** Something arrived: the silence timer starts again. */
  alive(): void;
  /** The first useful data arrived (token, audio, transcript): records the upstream's latency. */
  firstData(): void;
}

export interface RunOptions {
  /** Requests of one conversation go to the same upstream while it is available. */
  conversationId?: string;
  signal?: AbortSignal;
  /** Whether a failed attempt may be retried on another upstream (default: always). */
  canRetry?: () => boolean;
  /** Only upstreams that can do this request (e.g. GBNF grammars). */
  accept?: (upstream: Upstream) => boolean;
  /** Silence allowed for this request (default: the pool's timeout). */
  timeoutMs?: number;
  /** "device": a toy's turn; while one waits for room, other requests wait behind it. */
  priority?: "device";
}

const DEFAULT_HEALTH_MS = 5000;
const DOWN_HEALTH_MS = 1000;
const BUSY_BACKOFF_MS = 1000;
const MAX_STICKY = 10_000;

export class UpstreamPool {
  readonly upstreams: Upstream[];
  readonly engine: EngineName;
  private readonly sticky = new Map<string, Upstream>();
  private readonly waiters = new Set<() => void>();
  /** Device requests waiting for room: others do not take a free upstream before them. */
  private devicesWaiting = 0;
  private readonly checking = new Set<Upstream>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly closing = new AbortController();
  private turn = 0;

  constructor(private readonly settings: PoolSettings) {
    this.engine = settings.engine;
    this.upstreams = settings.urls.map((url) => new Upstream(url, settings.apiKey));
    for (const u of this.upstreams) metrics.setUpstreamUp(this.engine, u.url, 0);
  }

  /** Checks every upstream once (so the first requests know which are up), then keeps checking. */
  async start(): Promise<void> {
    await this.checkNow();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.checkDue(), DOWN_HEALTH_MS);
    this.timer.unref?.();
    const up = this.upstreams.filter((u) => u.state === "up").length;
    log.info(`${this.engine}: ${up} of ${this.upstreams.length} servers up`, Object.fromEntries(this.upstreams.map((u) => [u.url, u.state])));
  }

  /** Health-checks every upstream now. */
  async checkNow(): Promise<void> {
    await Promise.all(this.upstreams.map((u) => this.check(u)));
  }

  close() {
    clearInterval(this.timer);
    this.closing.abort(new Cancelled("shutting down"));
    for (const wake of this.waiters) wake();
  }

  /** Silence after which an upstream counts as down, in ms. */
  get timeoutMs(): number {
    return this.settings.timeoutMs;
  }

  /** Requests waiting for a free upstream. */
  get waiting(): number {
    return this.waiters.size;
  }

  status(): UpstreamStatus[] {
    const now = Date.now();
    return this.upstreams.map((u) => u.status(now));
  }

  /** True when at least one upstream is not known to be down. */
  available(): boolean {
    return this.upstreams.some((u) => u.state !== "down");
  }

  forget(conversationId: string) {
    this.sticky.delete(conversationId);
    for (const u of this.upstreams) u.slots.forget(conversationId);
  }

  /**
   * Runs `work` on an upstream, moving to another one when it fails and the caller allows it, and
   * waiting (bounded) while every usable upstream is full. Throws the request's own error (a 400
   * stays a 400), NotReady (503) when no upstream is reachable, Busy (429) when all stay full.
   */
  async run<T>(work: (attempt: Attempt) => Promise<T>, opts: RunOptions = {}): Promise<T> {
    const failed = new Set<Upstream>(); // upstreams that failed this request
    const accept = opts.accept ?? (() => true);
    const timeoutMs = opts.timeoutMs ?? this.settings.timeoutMs;
    const queueDeadline = Date.now() + timeoutMs;
    for (;;) {
      if (opts.signal?.aborted) throw new Cancelled();
      if (this.closing.signal.aborted) throw new Cancelled("shutting down");
      const device = opts.priority === "device";
      const upstream = device || this.devicesWaiting === 0 ? this.pick(failed, opts.conversationId, accept) : undefined;
      if (!upstream) {
        const usable = this.upstreams.filter((u) => accept(u) && u.state !== "down" && !failed.has(u));
        if (usable.length === 0) throw new NotReady(this.unreachable(failed));
        if (Date.now() > queueDeadline) throw new Busy(`every ${this.engine} server stayed busy for ${seconds(timeoutMs)}; try again shortly`);
        if (device) this.devicesWaiting++;
        try {
          await this.waitForRoom(opts.signal, Math.max(0, queueDeadline - Date.now()), device);
        } finally {
          if (device) this.devicesWaiting--;
        }
        continue;
      }
      try {
        return await this.attempt(upstream, work, opts, timeoutMs);
      } catch (e) {
        if (opts.signal?.aborted) throw new Cancelled();
        if (!(e instanceof UpstreamFailure)) throw e;
        if (e.kind === "rejected") throw e.error ?? new NotReady(e.message);
        if (e.kind === "down") failed.add(upstream);
        const retry = opts.canRetry?.() ?? true;
        log.warn(`${this.engine} server ${e.kind === "busy" ? "busy" : "failed"}${retry ? "; trying another" : ""}`, { upstream: upstream.url, error: e.message });
        if (!retry) throw e.kind === "busy" ? new Busy(e.message) : new NotReady(`the ${this.engine} server failed mid-answer: ${e.message}`);
      }
    }
  }

  private async attempt<T>(upstream: Upstream, work: (attempt: Attempt) => Promise<T>, opts: RunOptions, timeoutMs: number): Promise<T> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(new Cancelled());
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const onClose = () => controller.abort(new Cancelled("shutting down"));
    this.closing.signal.addEventListener("abort", onClose, { once: true });
    let silence: ReturnType<typeof setTimeout> | undefined;
    const alive = () => {
      clearTimeout(silence);
      silence = setTimeout(
        () => controller.abort(new UpstreamFailure("down", `${upstream.url} sent nothing for ${seconds(timeoutMs)}`)),
        timeoutMs,
      );
    };
    const started = performance.now();
    let latency: number | undefined;
    const firstData = () => {
      alive();
      if (latency !== undefined) return;
      latency = performance.now() - started;
      upstream.noteLatency(latency);
      metrics.observeUpstream(this.engine, upstream.url, latency / 1000);
    };
    if (opts.conversationId) this.stick(opts.conversationId, upstream);
    upstream.inFlight++;
    upstream.requests++;
    metrics.setUpstreamInFlight(this.engine, upstream.url, upstream.inFlight);
    alive();
    try {
      const value = await work({ upstream, signal: controller.signal, alive, firstData });
      if (latency === undefined) firstData();
      this.markUp(upstream);
      metrics.countUpstream(this.engine, upstream.url, "ok");
      return value;
    } catch (e) {
      // An abort surfaces as whatever fetch or the body reader threw: the reason is what counts.
      const error = controller.signal.aborted ? controller.signal.reason : e;
      if (error instanceof Cancelled || opts.signal?.aborted) {
        metrics.countUpstream(this.engine, upstream.url, "cancelled");
        throw error instanceof Cancelled ? error : new Cancelled();
      }
      const failure = error instanceof UpstreamFailure || error instanceof HearthError ? error : new UpstreamFailure("down", `${upstream.url}: ${(error as Error).message}`);
      if (failure instanceof UpstreamFailure) this.noteFailure(upstream, failure);
      throw failure;
    } finally {
      clearTimeout(silence);
      opts.signal?.removeEventListener("abort", onAbort);
      this.closing.signal.removeEventListener("abort", onClose);
      upstream.inFlight--;
      metrics.setUpstreamInFlight(this.engine, upstream.url, upstream.inFlight);
      this.wake();
    }
  }

  private noteFailure(upstream: Upstream, failure: UpstreamFailure) {
    metrics.countUpstream(this.engine, upstream.url, failure.kind);
    if (failure.kind === "rejected") return;
    upstream.errors++;
    upstream.lastError = failure.message;
    if (failure.kind === "busy") {
      upstream.busyUntil = Date.now() + (failure.retryAfterMs ?? BUSY_BACKOFF_MS);
      setTimeout(() => this.wake(), failure.retryAfterMs ?? BUSY_BACKOFF_MS).unref?.();
    } else this.markDown(upstream, failure.message);
  }

  /** The conversation's own upstream when it is available, else the least busy one (ties rotate). */
  private pick(failed: Set<Upstream>, conversationId: string | undefined, accept: (u: Upstream) => boolean): Upstream | undefined {
    const now = Date.now();
    const free = this.upstreams.filter((u) => accept(u) && !failed.has(u) && u.state !== "down" && u.busyUntil <= now && u.inFlight < u.capacity);
    if (!free.length) return undefined;
    const own = conversationId ? this.sticky.get(conversationId) : undefined;
    if (own && free.includes(own)) return own;
    const start = this.turn++ % this.upstreams.length;
    const order = (u: Upstream) => (this.upstreams.indexOf(u) - start + this.upstreams.length) % this.upstreams.length;
    return free.sort((a, b) => a.inFlight - b.inFlight || order(a) - order(b))[0];
  }

  private stick(conversationId: string, upstream: Upstream) {
    this.sticky.delete(conversationId); // re-insert: the map's order is least recently used first
    this.sticky.set(conversationId, upstream);
    if (this.sticky.size > MAX_STICKY) this.sticky.delete(this.sticky.keys().next().value!);
  }

  /** Resolves when an upstream may have room (a request ended, a backoff ran out), or after `ms`. */
  private waitForRoom(signal: AbortSignal | undefined, ms: number, device: boolean): Promise<void> {
    if (!device && this.waiters.size >= this.settings.maxQueue) {
      return Promise.reject(new Busy(`the ${this.engine} servers are busy (${this.waiters.size} requests waiting); try again shortly`));
    }
    metrics.setQueueDepth(this.engine, this.waiters.size + 1);
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.waiters.delete(done);
        metrics.setQueueDepth(this.engine, this.waiters.size);
        resolve();
      };
      const timer = setTimeout(done, Math.min(ms, BUSY_BACKOFF_MS));
      signal?.addEventListener("abort", done, { once: true });
      this.waiters.add(done);
    });
  }

  private wake() {
    for (const wake of [...this.waiters]) wake();
  }

  private unreachable(failed: Set<Upstream>): string {
    const reasons = this.upstreams.map((u) => `${u.url}: ${u.lastError ?? (failed.has(u) ? "failed" : u.state)}`);
    return `no ${this.engine} server can take the request now (${reasons.join("; ")})`;
  }

  private markUp(upstream: Upstream) {
    if (upstream.state !== "up") log.info(`${this.engine} server up`, { upstream: upstream.url });
    upstream.markUp();
    metrics.setUpstreamUp(this.engine, upstream.url, 1);
    this.wake();
  }

  private markDown(upstream: Upstream, reason: string) {
    if (upstream.state !== "down") log.warn(`${this.engine} server down`, { upstream: upstream.url, reason });
    upstream.markDown(reason);
    metrics.setUpstreamUp(this.engine, upstream.url, 0);
  }

  private checkDue() {
    const now = Date.now();
    for (const u of this.upstreams) {
      const every = u.state === "up" ? (this.settings.healthIntervalMs ?? DEFAULT_HEALTH_MS) : DOWN_HEALTH_MS;
      if (now - (u.checkedAt ?? 0) >= every) void this.check(u);
    }
  }

  /** GET /v1/models (and the probe, when it is up): up or down. */
  private async check(u: Upstream): Promise<void> {
    if (this.checking.has(u)) return;
    this.checking.add(u);
    const signal = AbortSignal.any([this.closing.signal, AbortSignal.timeout(Math.min(this.settings.timeoutMs, 3000))]);
    try {
      const res = await u.fetch("/models", { signal });
      const body = (await res.json().catch(() => ({}))) as { data?: { id?: unknown; owned_by?: unknown }[] };
      const data = Array.isArray(body.data) ? body.data : [];
      u.info.models = data.map((m) => String(m.id ?? "")).filter(Boolean);
      if (data.some((m) => m.owned_by === "llamacpp")) u.info.server = "llama.cpp";
      else if (data.some((m) => m.owned_by === "hearth")) u.info.server = "hearth";
      await this.settings.probe?.(u, signal);
      this.markUp(u);
    } catch (e) {
      if (this.closing.signal.aborted) return;
      const reason = e instanceof UpstreamFailure ? e.message : signal.aborted ? `${u.url} did not answer its health check` : `${u.url}: ${(e as Error).message}`;
      this.markDown(u, reason);
    } finally {
      u.checkedAt = Date.now();
      this.checking.delete(u);
    }
  }
}

const seconds = (ms: number) => `${+(ms / 1000).toFixed(1)} s`;
