// The one place where errors become HTTP responses, in OpenAI's shape. Never a stack trace.
import { Cancelled, HearthError } from "../errors.ts";
import { logger } from "../log.ts";
import { metrics } from "../metrics.ts";

const log = logger("http");

export function errorBody(error: HearthError) {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}

export function errorResponse(error: unknown, route = "?"): Response {
  if (error instanceof HearthError) {
    metrics.countError(error.code ?? error.type);
    return Response.json(errorBody(error), { status: error.status });
  }
  if (error instanceof Cancelled) {
    // the client went away; nobody reads this
    return new Response(null, { status: 499 });
  }
  metrics.countError("internal");
  log.error("unexpected error", { route, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  return Response.json(
    { error: { message: "Internal server error; the details are in the Hearth log.", type: "server_error", param: null, code: null } },
    { status: 500 },
  );
}
