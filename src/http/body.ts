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
