// One Bun.serve for everything HTTP: the OpenAI API, toy audio downloads, the console, health, metrics.
import type { Server } from "bun";
import { checkApiKey } from "./auth.ts";
import { limitBody } from "./body.ts";
import { Cors } from "./cors.ts";
import { errorResponse } from "./errors.ts";
import type { Handler, Routes } from "./routes.ts";
import { NotFound, NotReady } from "../errors.ts";
import { metrics } from "../metrics.ts";

export interface ServerOptions {
  host: string;
  port: number;
  apiKeys: string[];
  /** Largest request body; a larger one gets an OpenAI-shaped 413 (with or without Content-Length). */
  maxBodyBytes: number;
  /** [http] cors_origins: origins whose web pages may call /v1/ ("*" = any); empty = no CORS. */
  corsOrigins?: string[];
}

/**
 * Bun's own body cap answers a bare 413 with no body, so it is set far above ours and the
 * real cap (maxBodyBytes) is enforced in `wrap`, where the error gets OpenAI's shape.
 */
const BUN_BODY_CAP = Number.MAX_SAFE_INTEGER;

/** Paths under these prefixes need the API key when keys are configured (toy audio and /health never do). */
const PROTECTED = ["/v1/", "/api/"];

export class HttpServer {
  private readonly server: Server<undefined>;
  private readonly cors: Cors;

  constructor(
    private readonly options: ServerOptions,
    routes: Routes,
  ) {
    this.cors = new Cors(options.corsOrigins ?? []);
    try {
      this.server = Bun.serve({
        hostname: options.host,
        port: options.port,
        idleTimeout: 120,
        maxRequestBodySize: BUN_BODY_CAP,
        routes: this.wrapAll(routes) as any,
        fetch: this.unknownRoute,
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
  setRoutes(routes: Routes) {
    this.server.reload({ routes: this.wrapAll(routes), fetch: this.unknownRoute } as any);
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
  private wrapAll(routes: Routes) {
    return Object.fromEntries(
      Object.entries(routes).map(([path, methods]) => {
        if (!isMethodTable(methods)) return [path, methods];
        const table = Object.fromEntries(Object.entries(methods).map(([m, h]) => [m, this.wrap(path, h as Handler)]));
        if (path.startsWith("/v1/") && !table.OPTIONS) {
          const allow = [...Object.keys(table), "OPTIONS"].join(", ");
          table.OPTIONS = (req: Request) => (this.cors.applies(path) ? this.cors.preflight(req) : new Response(null, { status: 204, headers: { Allow: allow } }));
        }
        return [path, table];
      }),
    );
  }

  private wrap(path: string, handler: Handler): Handler {
    return async (req) => {
      let response: Response;
      try {
        if (PROTECTED.some((p) => path.startsWith(p))) checkApiKey(req, this.options.apiKeys);
        // Long transcriptions and quiet SSE streams must not hit Bun's idle timeout.
        if (req.method !== "GET") this.server.timeout(req, 0);
        response = await handler(await limitBody(req, this.options.maxBodyBytes));
      } catch (e) {
        response = errorResponse(e, path);
      }
      if (this.cors.applies(path)) response = this.cors.decorate(req, response);
      metrics.countRequest(path, response.status);
      return response;
    };
  }
}

function isMethodTable(value: unknown): boolean {
  return typeof value === "object" && value !== null && !(value instanceof Response) && Object.keys(value).every((k) => /^[A-Z]+$/.test(k));
}
