// The small set of typed errors. Each is thrown at the edge that detects the problem and
// mapped to an OpenAI-shaped HTTP error in exactly one place (src/api/errors.ts).

export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error";

export class HearthError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly type: OpenAIErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: the request is malformed or a value is out of range. */
export class BadRequest extends HearthError {
  constructor(message: string, param: string | null = null, code: string | null = null) {
    super(message, 400, "invalid_request_error", param, code);
  }
}

/** 401: an API key is configured and the request did not carry a valid one. */
export class Unauthorized extends HearthError {
  constructor(message = "Incorrect or missing API key. Send 'Authorization: Bearer <key>'.") {
    super(message, 401, "authentication_error", null, "invalid_api_key");
  }
}

/** 404: unknown route or model. */
export class NotFound extends HearthError {
  constructor(message: string, param: string | null = null, code: string | null = null) {
    super(message, 404, "invalid_request_error", param, code);
  }
}

/** 413: upload or audio too large. */
export class TooLarge extends HearthError {
  constructor(message: string, param: string | null = null) {
    super(message, 413, "invalid_request_error", param, "too_large");
  }
}

/** 415: a media type we cannot decode. */
export class UnsupportedMedia extends HearthError {
  constructor(message: string, param: string | null = null) {
    super(message, 415, "invalid_request_error", param, "unsupported_media_type");
  }
}

/** 429: an engine's wait queue is full; the client should retry later. */
export class Busy extends HearthError {
  constructor(message: string) {
    super(message, 429, "rate_limit_error", null, "queue_full");
  }
}

/** 408: the request body did not arrive in time ([http] body_timeout_seconds). */
export class RequestTimeout extends HearthError {
  constructor(message: string) {
    super(message, 408, "invalid_request_error", null, "request_timeout");
  }
}

/** 503: more requests at once than the server takes ([http] max_requests); the client should retry. */
export class Overloaded extends HearthError {
  constructor(message: string) {
    super(message, 503, "server_error", null, "overloaded");
  }
}

/** 503: models are not loaded (yet) or a model file is missing. */
export class NotReady extends HearthError {
  constructor(message: string) {
    super(message, 503, "server_error", null, "not_ready");
  }
}

/** The operation was cancelled (client went away, toy timed out, shutdown). Never sent to a client. */
export class Cancelled extends Error {
  override name = "Cancelled";
  constructor(message = "cancelled") {
    super(message);
  }
}
