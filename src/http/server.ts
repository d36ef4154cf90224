// One Bun.serve for everything HTTP: the OpenAI API, toy audio downloads, the console, health, metrics.
import type { Server } from "bun";
import { checkApiKey } from "./auth.ts";
import { errorResponse } from "./errors.ts";
import type { Handler, Routes } from "./routes.ts";
import { NotFound, NotReady } from "../errors.ts";
import { metrics } from "../metrics.ts";

export interface ServerOptions {
  host: string;
  port: number;
  apiKeys: string[];
  maxBodyBytes: number;
}

/** Paths under these prefixes need the API key when keys are configured (toy audio and /health never do). */
const PROTECTED = ["/v1/", "/api/"];

const unknownRoute = (req: Request) => errorResponse(new NotFound(`Unknown route: ${req.method} ${new URL(req.url).pathname}`, null, "unknown_route"));

export class HttpServer {
  private readonly server: Server<undefined>;

  constructor(
    private readonly options: ServerOptions,
    routes: Routes,
  ) {
    try {
      this.server = Bun.serve({
        hostname: options.host,
        port: options.port,
        idleTimeout: 120,
        maxRequestBodySize: options.maxBodyBytes,
        routes: this.wrapAll(routes) as any,
        fetch: unknownRoute,
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
    this.server.reload({ routes: this.wrapAll(routes), fetch: unknownRoute } as any);
  }

  async stop() {
    await this.server.stop(true);
  }

  /** Handlers get auth, error mapping and request metrics; static values (HTML bundles) pass through. */
  private wrapAll(routes: Routes) {
    return Object.fromEntries(
      Object.entries(routes).map(([path, methods]) => [
        path,
        isMethodTable(methods) ? Object.fromEntries(Object.entries(methods).map(([m, h]) => [m, this.wrap(path, h as Handler)])) : methods,
      ]),
    );
  }

  private wrap(path: string, handler: Handler): Handler {
    return async (req) => {
      let response: Response;
      try {
        if (PROTECTED.some((p) => path.startsWith(p))) checkApiKey(req, this.options.apiKeys);
        // Long transcriptions and quiet SSE streams must not hit Bun's idle timeout.
        if (req.method !== "GET") this.server.timeout(req, 0);
        response = await handler(req);
      } catch (e) {
        response = errorResponse(e, path);
      }
      metrics.countRequest(path, response.status);
      return response;
    };
  }
}

function isMethodTable(value: unknown): boolean {
  return typeof value === "object" && value !== null && !(value instanceof Response) && Object.keys(value).every((k) => /^[A-Z]+$/.test(k));
}
