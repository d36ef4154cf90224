// Which conversation a turn belongs to, and the file name it is stored under.
import { createHash } from "node:crypto";

/** A conversation is one role on one device of one front end. */
export interface ConversationKey {
  /** "folotoy", "xiaozhi", "api", "web", ... */
  frontEnd: string;
  /** The toy's SN, the API request's `user`, "console", ... (any text: it comes from the network). */
  device: string;
  /** The role (button) number or name. */
  role: string;
}

/** `"<frontEnd>:<device>:<role>"`, e.g. `folotoy:e465b82b9ec8:1`: for logs and display. */
export function conversationId(key: ConversationKey): string {
  return `${key.frontEnd}:${key.device}:${key.role}`;
}

// Longest encoded part kept as is; a longer one is cut and gets a hash of the whole part.
const MAX_PART = 40;
const KEEP_OF_LONG_PART = 24;

/**
 * One part of a file stem: [A-Za-z0-9_-] kept, every other UTF-8 byte as `%XX`, the empty string
 * as `%`. Over 40 characters it becomes its first 24 (whole escapes only), `~` and 16 hex digits
 * of its SHA-256. No `/`, no `.`, never empty, at most 41 characters.
 */
function stemPart(text: string): string {
  if (text === "") return "%";
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  if (out.length <= MAX_PART) return out;
  let head = out.slice(0, KEEP_OF_LONG_PART);
  const escape = head.lastIndexOf("%");
  if (escape >= 0 && escape > head.length - 3) head = head.slice(0, escape);
  return `${head}~${createHash("sha256").update(text, "utf8").digest("hex").slice(0, 16)}`;
}

/**
 * A file name stem for the conversation, safe on any file system: the three parts joined with
 * `.`, each made of [A-Za-z0-9_%~-] only (see stemPart), so a device SN or an API `user` string
 * can never name another folder or file. Different keys give different stems (parts over 40
 * characters rely on a 64-bit hash). At most 125 characters.
 */
export function conversationFileStem(key: ConversationKey): string {
  return `${stemPart(key.frontEnd)}.${stemPart(key.device)}.${stemPart(key.role)}`;
}

/** What every file stem of that device's conversations starts with, whatever the role. */
export function deviceFileStemPrefix(frontEnd: string, device: string): string {
  return `${stemPart(frontEnd)}.${stemPart(device)}.`;
}
