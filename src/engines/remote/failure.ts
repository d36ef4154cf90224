// What went wrong with one request to one upstream, classified for routing:
//  - "down":     unreachable, silent past the timeout, a 5xx, a broken or garbled answer. The
//                upstream is marked down (health checks bring it back) and the request moves on.
//  - "busy":     429 or 503: the upstream is fine but full. It is left alone for a moment and the
//                request moves to another one, or waits.
//  - "rejected": a 4xx about the request itself. Another upstream would say the same: the error
//                goes back to the caller as the matching HearthError (a 400 stays a 400).
import { BadRequest, HearthError, NotFound, TooLarge } from "../../errors.ts";

export type FailureKind = "down" | "busy" | "rejected";

export class UpstreamFailure extends Error {
  override name = "UpstreamFailure";
  constructor(
    readonly kind: FailureKind,
    message: string,
    /** For "rejected": the error the caller gets. */
    readonly error?: HearthError,
    /** For "busy": how long the upstream asked us to wait (Retry-After), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Reads a non-2xx answer (OpenAI's error shape, or any text) into a classified failure. */
export async function failureOf(res: Response, label: string): Promise<UpstreamFailure> {
  const text = await res.text().catch(() => "");
  const { message, type, code, param } = errorFields(text);
  const said = `${label} answered ${res.status}${message ? `: ${message}` : ""}`;
  if (res.status === 429 || res.status === 503) {
    const retryAfter = Number(res.headers.get("retry-after"));
    return new UpstreamFailure("busy", said, undefined, Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 30) * 1000 : undefined);
  }
  // A wrong key or a model the server does not have is this Hearth's configuration, not the request: try another.
  if (res.status === 401 || res.status === 403) return new UpstreamFailure("down", `${said} (check the api_key of this engine in config.toml)`);
  if (res.status === 404 && !param) return new UpstreamFailure("down", `${said} (check the URL and the model of this engine in config.toml)`);
  if (res.status === 413) return new UpstreamFailure("rejected", said, new TooLarge(message || "The request is too large for the remote server.", param));
  if (res.status === 404) return new UpstreamFailure("rejected", said, new NotFound(message, param, code));
  if (res.status >= 400 && res.status < 500) {
    const contextFull = /context/i.test(`${type} ${code} ${message}`) && /exceed|length|size|too long|maximum/i.test(`${type} ${code} ${message}`);
    const error = contextFull
      ? new BadRequest(message || "The messages do not fit the model's context.", param ?? "messages", "context_length_exceeded")
      : new BadRequest(message || `The remote server refused the request (${res.status}).`, param, code);
    return new UpstreamFailure("rejected", said, error);
  }
  return new UpstreamFailure("down", said);
}

/** The error fields of an OpenAI-shaped body ({"error": {...}} or {"error": "text"}), or the text itself. */
export function errorFields(text: string): { message: string; type: string; code: string | null; param: string | null } {
  try {
    const body = JSON.parse(text);
    const error = body?.error ?? body;
    if (typeof error === "string") return { message: error, type: "", code: null, param: null };
    const str = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : null);
    return { message: str(error?.message) ?? str(body?.detail) ?? text.slice(0, 300), type: str(error?.type) ?? "", code: str(error?.code), param: str(error?.param) };
  } catch {
    return { message: text.trim().slice(0, 300), type: "", code: null, param: null };
  }
}
