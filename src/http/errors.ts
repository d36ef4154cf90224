// The one place where errors become HTTP responses, in OpenAI's shape. Never a stack trace.
import { Cancelled, HearthError } from "../errors.ts";
import { logger } from "../log.ts";
import { metrics } from "../metrics.ts";

const log = logger("http");

export function errorBody(error: HearthError) {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}

/** Status and OpenAI-shaped body for any error (null body: the client went away). Logs the unexpected ones. */
export function errorPayload(error: unknown, route = "?"): { status: number; body: object | null } {
  if (error instanceof HearthError) {
    metrics.countError(error.code ?? error.type);
    return { status: error.status, body: errorBody(error) };
  }
  if (error instanceof Cancelled) return { status: 499, body: null }; // nobody reads this
  metrics.countError("internal");
  log.error("unexpected error", { route, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  return {
    status: 500,
    body: { error: { message: "Internal server error; the details are in the Hearth log.", type: "server_error", param: null, code: null } },
  };
}

export function errorResponse(error: unknown, route = "?"): Response {
  const { status, body } = errorPayload(error, route);
  return body ? Response.json(body, { status }) : new Response(null, { status });
}
