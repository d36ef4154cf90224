// Reading and validating request bodies, with OpenAI-style 400s naming the field.
import { z } from "zod";
import { BadRequest, TooLarge, UnsupportedMedia } from "../errors.ts";

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

/**
 * The server-wide cap on request bodies, as an OpenAI-shaped 413 (TooLarge): a declared
 * Content-Length over the cap is refused before reading; a body without one (chunked) is read
 * only up to the cap and handed on from memory (every route reads its whole body anyway).
 */
export async function limitBody<R extends Request>(req: R, maxBytes: number): Promise<R> {
  const declared = req.headers.get("content-length");
  if (declared !== null) {
    const length = Number(declared);
    if (length > maxBytes) throw tooLarge(`is ${(length / 1e6).toFixed(1)} MB`, maxBytes);
    return req;
  }
  if (!req.body) return req;
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      reader.cancel().catch(() => {});
      throw tooLarge(`goes past ${(maxBytes / 1e6).toFixed(0)} MB`, maxBytes);
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  const buffered = new Request(req.url, { method: req.method, headers: req.headers, body: bytes, signal: req.signal });
  return Object.assign(buffered, { params: (req as { params?: unknown }).params }) as unknown as R;
}

function tooLarge(what: string, maxBytes: number): TooLarge {
  return new TooLarge(`Request body ${what}; this server accepts at most ${(maxBytes / 1e6).toFixed(0)} MB per request ([http] max_upload_mb, plus room for the form fields).`);
}
