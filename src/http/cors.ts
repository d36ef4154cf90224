// CORS for the OpenAI API, so a web app served from another origin in the home can call it.
// Off unless [http] cors_origins lists origins ("*" = any). Only /v1/ routes take part.

const METHODS = "GET, POST, PUT, DELETE, OPTIONS";
/** Headers a browser may read from our responses (speech sends the PCM rate in one). */
const EXPOSED = "X-Sample-Rate, Content-Type";
const MAX_AGE_SECONDS = "600";

export class Cors {
  private readonly any: boolean;
  private readonly origins: Set<string>;

  constructor(origins: readonly string[]) {
    this.any = origins.includes("*");
    this.origins = new Set(origins.map(normalizeOrigin));
  }

  get enabled(): boolean {
    return this.any || this.origins.size > 0;
  }

  /** Whether this path takes part in CORS at all. */
  applies(path: string): boolean {
    return this.enabled && path.startsWith("/v1/");
  }

  /** The headers that let the request's origin read the response, or none when it is not allowed. */
  headersFor(req: Request): Record<string, string> {
    const origin = req.headers.get("origin");
    if (!origin || !(this.any || this.origins.has(normalizeOrigin(origin)))) return {};
    // The origin is echoed (not "*"), so requests with credentials work too.
    return { "Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED, Vary: "Origin" };
  }

  /** The answer to a preflight (OPTIONS) request: no auth, no body. */
  preflight(req: Request): Response {
    const headers: Record<string, string> = { Allow: METHODS, Vary: "Origin" };
    const allowed = this.headersFor(req);
    if (allowed["Access-Control-Allow-Origin"]) {
      Object.assign(headers, allowed, {
        "Access-Control-Allow-Methods": METHODS,
        // Echoed: SDKs send their own headers (x-stainless-*, openai-organization, ...).
        "Access-Control-Allow-Headers": req.headers.get("access-control-request-headers") ?? "authorization, content-type",
        "Access-Control-Max-Age": MAX_AGE_SECONDS,
      });
    }
    return new Response(null, { status: 204, headers });
  }

  /** Adds the CORS headers to a response on its way out (a copy when its headers are immutable). */
  decorate(req: Request, response: Response): Response {
    const headers = this.headersFor(req);
    if (!headers["Access-Control-Allow-Origin"]) return response;
    try {
      for (const [k, v] of Object.entries(headers)) response.headers.set(k, v);
      return response;
    } catch {
      const copy = new Response(response.body, response);
      for (const [k, v] of Object.entries(headers)) copy.headers.set(k, v);
      return copy;
    }
  }
}

function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, "").toLowerCase();
}
