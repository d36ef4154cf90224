// One Bun.serve for everything HTTP: the OpenAI API, toy audio downloads, the console, health, metrics.
import type { Server, WebSocketHandler } from "bun";
import { checkApiKey } from "./auth.ts";
import { readBody } from "./body.ts";
import { Cors } from "./cors.ts";
import { errorResponse } from "./errors.ts";
import type { Handler, Routes, SocketHandlers, SocketRoute, SocketRoutes } from "./routes.ts";
import { NotFound, NotReady, Overloaded } from "../errors.ts";
import { metrics } from "../metrics.ts";

export interface ServerOptions {
  host: string;
  port: number;
  apiKeys: string[];
  /** Largest request body; a larger one gets an OpenAI-shaped 413 (with or without Content-Length). */
  maxBodyBytes: number;
  /** [http] cors_origins: origins whose web pages may call /v1/ ("*" = any); empty = no CORS. */
  corsOrigins?: string[];
  /** [http] max_requests: requests handled at once; more get a 503 at once (default 256). */
  maxRequests?: number;
  /** [http] body_timeout_seconds, in ms: a request body must arrive within this (default 60 s). */
  bodyTimeoutMs?: number;
  /**
   * Runs before the API key check (the parent password's sessions, http/session.ts): true = a
   * session authorizes the request (no key needed), false = the key rule decides, throws = refused.
   */
  access?: { admit(req: Request, path: string, address: string | undefined): boolean };
}

/**
 * Bun's own body cap answers a bare 413 with no body, so it is set far above ours and the
 * real cap (maxBodyBytes) is enforced in `wrap`, where the error gets OpenAI's shape.
 */
const BUN_BODY_CAP = Number.MAX_SAFE_INTEGER;

/** Paths under these prefixes need the API key when keys are configured (toy audio and /health never do). */
const PROTECTED = ["/v1/", "/api/"];

/** Largest WebSocket message accepted (a device's Opus frame is a few hundred bytes). */
const MAX_SOCKET_MESSAGE = 1 << 20;

export class HttpServer {
  private readonly server: Server<SocketHandlers>;
  private readonly cors: Cors;
  /** Each connection's handlers travel as its `data` (set by the SocketRoute that accepted it). */
  private readonly websocket: WebSocketHandler<SocketHandlers> = {
    maxPayloadLength: MAX_SOCKET_MESSAGE,
    open: (ws) => ws.data.open?.(ws),
    message: (ws, data) => ws.data.message(ws, typeof data === "string" ? data : new Uint8Array(data)),
    close: (ws, code, reason) => ws.data.close?.(ws, code, reason),
  };

  constructor(
    private readonly options: ServerOptions,
    routes: Routes,
    sockets: SocketRoutes = {},
  ) {
    this.cors = new Cors(options.corsOrigins ?? []);
    try {
      this.server = Bun.serve({
        hostname: options.host,
        port: options.port,
        idleTimeout: 120,
        maxRequestBodySize: BUN_BODY_CAP,
        routes: this.wrapAll(routes, sockets) as any,
        fetch: this.unknownRoute,
        websocket: this.websocket,
        error: (e) => errorResponse(e),
      });
    } catch (e) {
      throw new NotReady(`cannot listen for HTTP on ${options.host}:${options.port} (${(e as Error).message}); is another Hearth running? Change [http] port (HEARTH_HTTP_PORT) otherwise.`);
    }
  }

  get url(): URL {
    return this.server.url;
  }

  get port(): number {
    return this.server.port!;
  }

  /** Replaces the route table of the running server (front ends that start after the models load). */
  setRoutes(routes: Routes, sockets: SocketRoutes = {}) {
    this.server.reload({ routes: this.wrapAll(routes, sockets), fetch: this.unknownRoute, websocket: this.websocket } as any);
  }

  async stop() {
    await this.server.stop(true);
  }

  /** Not in the table: a 404 in OpenAI's shape (CORS preflights for /v1/ are still answered). */
  private readonly unknownRoute = (req: Request): Response => {
    const path = new URL(req.url).pathname;
    if (req.method === "OPTIONS" && this.cors.applies(path)) return this.cors.preflight(req);
    const response = errorResponse(new NotFound(`Unknown route: ${req.method} ${path}`, null, "unknown_route"));
    return this.cors.applies(path) ? this.cors.decorate(req, response) : response;
  };

  /**
   * Handlers get auth, the body cap, error mapping, CORS and request metrics; static values (HTML
   * bundles) pass through. Routes under /v1/ answer OPTIONS (the CORS preflight) without auth.
   */
  private wrapAll(routes: Routes, sockets: SocketRoutes) {
    const socketTable = Object.entries(sockets).map(([path, route]) => [path, { GET: this.upgrade(path, route) }]);
    return Object.fromEntries([
      ...socketTable,
      ...Object.entries(routes).map(([path, methods]) => {
        if (!isMethodTable(methods)) return [path, methods];
        const table = Object.fromEntries(Object.entries(methods).map(([m, h]) => [m, this.wrap(path, h as Handler)]));
        if (path.startsWith("/v1/") && !table.OPTIONS) {
          const allow = [...Object.keys(table), "OPTIONS"].join(", ");
          table.OPTIONS = (req: Request) => (this.cors.applies(path) ? this.cors.preflight(req) : new Response(null, { status: 204, headers: { Allow: allow } }));
        }
        return [path, table];
      }),
    ]);
  }

  /** A WebSocket endpoint: the route accepts (its handlers become the connection's) or refuses with an HTTP error. */
  private upgrade(path: string, route: SocketRoute) {
    return (req: Request & { params: Record<string, string> }): Response | undefined => {
      let response: Response;
      try {
        const handlers = route(req);
        if (this.server.upgrade(req, { data: handlers })) {
          metrics.countRequest(path, 101);
          return undefined;
        }
        response = Response.json({ error: { message: "expected a WebSocket upgrade", type: "invalid_request_error", param: null, code: "upgrade_required" } }, { status: 426, headers: { Upgrade: "websocket" } });
      } catch (e) {
        response = errorResponse(e, path);
      }
      metrics.countRequest(path, response.status);
      return response;
    };
  }

  private wrap(path: string, handler: Handler): Handler {
    return async (req) => {
      let response: Response;
      let releaseBody: (() => void) | undefined;
      try {
        admitLoad(this.server, this.options, path);
        const admitted = this.options.access?.admit(req, path, this.server.requestIP(req)?.address) ?? false;
        if (!admitted && PROTECTED.some((p) => path.startsWith(p))) checkApiKey(req, this.options.apiKeys);
        const body = await receiveBody(this.server, req, this.options);
        releaseBody = body.release;
        response = await handler(body.req);
      } catch (e) {
        response = errorResponse(e, path);
        // refused before its body was read (overloaded, no key, too large, too slow): do not wait for the rest of it
        if (!releaseBody && req.body) response.headers.set("Connection", "close");
      } finally {
        releaseBody?.();
      }
      if (this.cors.applies(path)) response = this.cors.decorate(req, response);
      metrics.countRequest(path, response.status);
      return response;
    };
  }
}

// ---- load limits (issue 11): requests at once, slow bodies ------------------------------------
// Kept apart from the routing above: every wrapped handler passes through these two first.

const DEFAULT_MAX_REQUESTS = 256;
const DEFAULT_BODY_TIMEOUT_MS = 60_000;
/** Never refused for load: toys downloading their replies (load must not silence them) and /health (cheap, and says how things are). */
const UNCAPPED = ["/audio/", "/health"];

/** Refuses a request (503 Overloaded) when [http] max_requests are being handled already. */
function admitLoad(server: Server<SocketHandlers>, options: ServerOptions, path: string) {
  if (UNCAPPED.some((p) => path.startsWith(p))) return;
  const max = options.maxRequests ?? DEFAULT_MAX_REQUESTS;
  // pendingRequests counts this one too
  if (server.pendingRequests > max) throw new Overloaded(`Hearth is handling ${max} requests already ([http] max_requests); try again shortly.`);
}

/**
 * Reads the whole body within [http] body_timeout_seconds (Bun's idle timeout stays on meanwhile,
 * so a silent client is dropped too), then lifts the idle timeout: long transcriptions and quiet
 * SSE streams must not hit it.
 */
async function receiveBody<R extends Request>(server: Server<SocketHandlers>, req: R, options: ServerOptions): Promise<{ req: R; release: () => void }> {
  if (req.method === "GET" || req.method === "HEAD") return { req, release: () => {} };
  const body = await readBody(req, { maxBytes: options.maxBodyBytes, timeoutMs: options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS });
  server.timeout(req, 0);
  return body;
}

function isMethodTable(value: unknown): boolean {
  return typeof value === "object" && value !== null && !(value instanceof Response) && Object.keys(value).every((k) => /^[A-Z]+$/.test(k));
}
