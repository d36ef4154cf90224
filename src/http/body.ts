// Reading and validating request bodies, with OpenAI-style 400s naming the field.
import { z } from "zod";
import { BadRequest, Busy, RequestTimeout, TooLarge, UnsupportedMedia } from "../errors.ts";

export async function readJson<T extends z.ZodType>(req: Request, schema: T): Promise<z.infer<T>> {
  const type = req.headers.get("content-type") ?? "";
  if (type && !type.includes("json")) throw new UnsupportedMedia(`expected Content-Type: application/json, got ${type}`);
  let body: unknown;
  try {
    body = await req.json();
  } catch {
    throw new BadRequest("We could not parse the JSON body of your request. Send valid JSON.");
  }
  return validate(schema, body);
}

export function validate<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = issue.path.map(String).join(".") || null;
  const missing = issue.code === "invalid_type" && (issue as any).input === undefined;
  throw new BadRequest(missing ? `Missing required parameter: '${param}'.` : `Invalid '${param}': ${issue.message}.`, param);
}

/** Rejects a body larger than the limit before reading it, when the client says how large it is. */
export function checkLength(req: Request, maxBytes: number) {
  const length = Number(req.headers.get("content-length") ?? "0");
  if (length > maxBytes) throw new TooLarge(`Request body is ${(length / 1e6).toFixed(1)} MB; the limit is ${(maxBytes / 1e6).toFixed(0)} MB ([http] max_upload_mb).`);
}

/** A body over this many bytes counts as an upload (see MAX_UPLOADS_AT_ONCE). */
export const UPLOAD_BYTES = 1_000_000;
/** Uploads held in memory at once, all routes together: the next one is a 429 before it is read. */
export const MAX_UPLOADS_AT_ONCE = 4;
let uploadsHeld = 0;

export interface BodyLimits {
  /** The server-wide cap on a body, as an OpenAI-shaped 413 (TooLarge). */
  maxBytes: number;
  /** The whole body must arrive within this many ms ([http] body_timeout_seconds), else a 408. */
  timeoutMs: number;
}

/**
 * Reads the whole request body before the handler runs, within the server-wide limits: a
 * declared Content-Length over the cap is refused before reading, a body without one (chunked)
 * is read only up to the cap; a body that does not arrive within `timeoutMs` is a 408 (a client
 * trickling a byte at a time cannot hold a connection); and no more than MAX_UPLOADS_AT_ONCE
 * bodies over UPLOAD_BYTES are held at once. Returns the request with its body in memory (every
 * route reads its whole body anyway) and `release`, to call once the handler is done with it.
 */
export async function readBody<R extends Request>(req: R, limits: BodyLimits): Promise<{ req: R; release: () => void }> {
  const declared = req.headers.get("content-length");
  const length = declared === null ? undefined : Number(declared);
  if (length !== undefined && length > limits.maxBytes) throw tooLarge(`is ${(length / 1e6).toFixed(1)} MB`, limits.maxBytes);
  if (!req.body) return { req, release: () => {} };

  let holding = false;
  const release = () => {
    if (holding) uploadsHeld--;
    holding = false;
  };
  const hold = () => {
    if (holding) return;
    if (uploadsHeld >= MAX_UPLOADS_AT_ONCE) throw new Busy(`${uploadsHeld} uploads are being received or handled already; try again shortly`);
    uploadsHeld++;
    holding = true;
  };
  const reader = req.body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RequestTimeout(`The request body did not arrive within ${Math.round(limits.timeoutMs / 1000)} s ([http] body_timeout_seconds).`)),
      limits.timeoutMs,
    );
  });
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    if (length !== undefined && length > UPLOAD_BYTES) hold();
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), late]);
      if (done) break;
      total += value.length;
      if (total > limits.maxBytes) throw tooLarge(`goes past ${(limits.maxBytes / 1e6).toFixed(0)} MB`, limits.maxBytes);
      if (total > UPLOAD_BYTES) hold();
      parts.push(value);
    }
  } catch (e) {
    reader.cancel().catch(() => {});
    release();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  const buffered = new Request(req.url, { method: req.method, headers: req.headers, body: bytes, signal: req.signal });
  return { req: Object.assign(buffered, { params: (req as { params?: unknown }).params }) as unknown as R, release };
}

function tooLarge(what: string, maxBytes: number): TooLarge {
  return new TooLarge(`Request body ${what}; this server accepts at most ${(maxBytes / 1e6).toFixed(0)} MB per request ([http] max_upload_mb, plus room for the form fields).`);
}
