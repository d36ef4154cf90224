import { timingSafeEqual } from "node:crypto";
import { Unauthorized } from "../errors.ts";

/** Throws Unauthorized unless the request carries one of the keys (no keys configured = open). */
export function checkApiKey(req: Request, keys: string[]) {
  if (keys.length === 0) return;
  const header = req.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  const given = Buffer.from(match?.[1] ?? "");
  // compare against every key, in constant time for each, so timing reveals nothing
  let ok = false;
  for (const key of keys) {
    const expected = Buffer.from(key);
    const same = given.length === expected.length && timingSafeEqual(given, expected);
    ok = ok || same;
  }
  if (!ok) throw new Unauthorized();
}
