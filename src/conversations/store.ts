// Stored conversations and the turn log: the one owner of both, in memory after load() and on
// disk as JSON Lines in one folder (normally `<[state] dir>/conversations`):
//
//   <stem>.jsonl   one conversation (see key.ts for the stem): a header line
//                  {"v":1,"conversation":{frontEnd,device,role}}, then one StoredExchange per line
//   turns.jsonl    the turn log, one StoredTurn per line (a later line with the same id wins)
//
// Changes are appended durably (fsync per line); a file is rewritten durably (temporary file,
// fsync, rename) when it holds over twice what is kept, when something is dropped by a sweep, and
// when anything is erased. Erasing deletes or rewrites the files: the data leaves the disk, not
// just memory.
//
// Bound on disk: at most `maxConversations` conversation files (the least recently touched one
// goes first), each of at most 2 x maxExchanges + 1 lines, plus a turn log of at most
// 2 x maxTurns lines; every string stored is cut to `maxChars` characters. With the defaults
// (1000 conversations, 200 exchanges, 2000 turns) and exchanges of a few hundred bytes that is
// well under 100 MB, and usually far less. Files set aside as unreadable (`*.corrupt-<ms>`) are
// deleted once older than the retention.
import { readdirSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { logger } from "../log.ts";
import { appendLineDurable, ensureDir, readJsonLines, syncDir, TMP_MARKER, writeFileDurable } from "../util/durable.ts";
import { conversationFileStem, deviceFileStemPrefix, type ConversationKey } from "./key.ts";

const log = logger("conversations");

const DAY_MS = 86_400_000;
const TURNS_FILE = "turns.jsonl";
const CORRUPT_MARKER = ".corrupt-";
const FORMAT_VERSION = 1;

export type { ConversationKey } from "./key.ts";

export interface Exchange {
  user: string;
  assistant: string;
}

export interface StoredExchange extends Exchange {
  /** Epoch ms when it was stored. */
  at: number;
  turnId?: string;
}

/** Any turn record: the pipeline's TurnRecord fits (it has id, at, and a key). Stored as given. */
export interface StoredTurn {
  id: string;
  at: number;
  key: ConversationKey;
  [field: string]: unknown;
}

/** What recordTurn takes: any object with these (an interface like TurnRecord needs no cast). */
export interface TurnLike {
  id: string;
  at: number;
  key: ConversationKey;
}

export interface ConversationStoreOptions {
  /** The folder, e.g. `<[state] dir>/conversations`; created (0700) when missing. */
  dir: string;
  /**
   * Exchanges and turns older than this many days are deleted (fractions allowed). 0 means "do
   * not store at all": nothing is written, history() and turns() are always empty, and whatever
   * an earlier run stored is deleted on load().
   */
  retentionDays: number;
  /** Exchanges kept per conversation; the oldest are dropped (e.g. 200). */
  maxExchanges: number;
  /** Turns kept in the turn log overall; the oldest are dropped (e.g. 2000). */
  maxTurns: number;
  /** Conversations kept; beyond this the least recently touched one is deleted. Default 1000. */
  maxConversations?: number;
  /** Every stored string (transcript, reply, turn field) is cut to this many characters. Default 4000. */
  maxChars?: number;
  /** The clock, for tests. Default Date.now. */
  now?: () => number;
}

interface Conversation {
  key: ConversationKey;
  stem: string;
  file: string;
  /** Oldest first, at most maxExchanges. */
  exchanges: StoredExchange[];
  /** Non-blank lines in the file, header included; 0 when there is no file. */
  lines: number;
  /** Epoch ms of the last change, for choosing which conversation goes beyond maxConversations. */
  touched: number;
  /** The file holds garbage lines: rewrite it at the next sweep. */
  dirty: boolean;
}

interface Header {
  v: number;
  conversation: ConversationKey;
}

export class ConversationStore {
  private readonly dir: string;
  private readonly retentionMs: number;
  private readonly maxExchanges: number;
  private readonly maxTurns: number;
  private readonly maxConversations: number;
  private readonly maxChars: number;
  private readonly now: () => number;
  private readonly turnsFile: string;
  /** By file stem (injective, unlike conversationId when a part contains ':'). */
  private readonly conversations = new Map<string, Conversation>();
  /** Oldest first by `at`, ids unique, at most maxTurns. */
  private turnLog: StoredTurn[] = [];
  private turnLines = 0;
  private turnsDirty = false;
  private loaded = false;
  private timer?: ReturnType<typeof setInterval>;

  constructor(opts: ConversationStoreOptions) {
    if (!(opts.retentionDays >= 0) || !Number.isFinite(opts.retentionDays)) throw new RangeError("retentionDays must be a number >= 0");
    for (const name of ["maxExchanges", "maxTurns", "maxConversations", "maxChars"] as const) {
      const v = opts[name];
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new RangeError(`${name} must be an integer >= 1`);
    }
    this.dir = opts.dir;
    this.retentionMs = opts.retentionDays * DAY_MS;
    this.maxExchanges = opts.maxExchanges;
    this.maxTurns = opts.maxTurns;
    this.maxConversations = opts.maxConversations ?? 1000;
    this.maxChars = opts.maxChars ?? 4000;
    this.now = opts.now ?? Date.now;
    this.turnsFile = join(this.dir, TURNS_FILE);
  }

  /** False when retentionDays is 0: nothing is kept. */
  get storing(): boolean {
    return this.retentionMs > 0;
  }

  /**
   * Reads everything from disk, then sweeps. Never throws for a bad file: torn or garbled lines
   * are skipped (with a warning naming the file and the count), a file that cannot be read or has
   * no valid header is renamed to `<name>.corrupt-<ms>`, stale temporary files are removed.
   * Called by the other methods on first use when not called before.
   */
  load(): void {
    this.loaded = true;
    this.conversations.clear();
    this.turnLog = [];
    this.turnLines = 0;
    this.turnsDirty = false;
    let names: string[];
    try {
      ensureDir(this.dir);
      names = readdirSync(this.dir);
    } catch (e) {
      log.error("cannot read the conversations folder: history is not kept", { dir: this.dir, error: errorText(e) });
      return;
    }
    for (const name of names.sort()) {
      const file = join(this.dir, name);
      if (name.includes(TMP_MARKER)) this.removeQuietly(file, "a write interrupted by a crash");
      else if (name === TURNS_FILE) this.loadTurns(file);
      else if (name.endsWith(".jsonl")) this.loadConversation(name.slice(0, -".jsonl".length), file);
    }
    log.info("loaded", { dir: this.dir, conversations: this.conversations.size, turns: this.turnLog.length });
    this.sweep();
  }

  /** The stored exchanges of that conversation, oldest first (copies). */
  history(key: ConversationKey): StoredExchange[] {
    this.ensureLoaded();
    const c = this.conversations.get(conversationFileStem(key));
    if (!c) return [];
    const cutoff = this.cutoff(this.now());
    return c.exchanges.filter((e) => e.at >= cutoff).map((e) => ({ ...e }));
  }

  /**
   * Stores an exchange (durable when this returns). A write error is logged, not thrown: the
   * exchange is still in memory for this run and the turn goes on.
   */
  append(key: ConversationKey, exchange: Exchange, turnId?: string): void {
    this.ensureLoaded();
    if (!this.storing) return;
    const now = this.now();
    const stem = conversationFileStem(key);
    let c = this.conversations.get(stem);
    if (!c) {
      this.makeRoomForOne();
      c = { key: { frontEnd: key.frontEnd, device: key.device, role: key.role }, stem, file: this.fileOf(stem), exchanges: [], lines: 0, touched: now, dirty: false };
      this.conversations.set(stem, c);
    }
    const stored: StoredExchange = { at: now, user: this.clip(exchange.user), assistant: this.clip(exchange.assistant) };
    if (turnId !== undefined) stored.turnId = this.clip(turnId);
    c.exchanges.push(stored);
    if (c.exchanges.length > this.maxExchanges) c.exchanges.splice(0, c.exchanges.length - this.maxExchanges);
    c.touched = now;
    try {
      if (c.lines === 0 || c.lines + 1 > 2 * this.maxExchanges + 1) this.rewriteConversation(c);
      else {
        appendLineDurable(c.file, JSON.stringify(stored));
        c.lines++;
      }
    } catch (e) {
      log.error("cannot store an exchange", { file: c.file, error: errorText(e) });
    }
  }

  /** Forgets that conversation: its file is deleted. Throws when the file cannot be deleted. */
  clear(key: ConversationKey): void {
    this.ensureLoaded();
    const stem = conversationFileStem(key);
    this.removeFilesOf((name) => name === `${stem}.jsonl` || name.startsWith(`${stem}.jsonl.`));
    this.conversations.delete(stem);
  }

  /**
   * Forgets a device: every role's conversation and every turn of it. Returns how many exchanges
   * and turns went. Also deletes files set aside as unreadable that may hold the device's data:
   * its conversations' and every set-aside turn log. Throws when a file cannot be deleted or
   * rewritten (then nothing is forgotten in memory either).
   */
  eraseDevice(frontEnd: string, device: string): number {
    this.ensureLoaded();
    const prefix = deviceFileStemPrefix(frontEnd, device);
    const keepTurns = this.turnLog.filter((t) => !(t.key.frontEnd === frontEnd && t.key.device === device));
    const turnsGone = this.turnLog.length - keepTurns.length;
    if (turnsGone > 0) {
      this.writeTurns(keepTurns);
      this.turnLog = keepTurns;
    }
    this.removeFilesOf((name) => name.startsWith(prefix) || name.startsWith(TURNS_FILE + CORRUPT_MARKER));
    let exchangesGone = 0;
    for (const [stem, c] of this.conversations) {
      if (c.key.frontEnd === frontEnd && c.key.device === device) {
        exchangesGone += c.exchanges.length;
        this.conversations.delete(stem);
      }
    }
    if (turnsGone + exchangesGone > 0) log.info("erased a device", { frontEnd, device, exchanges: exchangesGone, turns: turnsGone });
    return exchangesGone + turnsGone;
  }

  /** Forgets everything: every conversation, the turn log, set-aside and temporary files. */
  eraseAll(): void {
    this.ensureLoaded();
    this.removeFilesOf((name) => name.endsWith(".jsonl") || name.includes(".jsonl" + CORRUPT_MARKER) || name.includes(TMP_MARKER));
    const counts = { conversations: this.conversations.size, turns: this.turnLog.length };
    this.conversations.clear();
    this.turnLog = [];
    this.turnLines = 0;
    this.turnsDirty = false;
    log.info("erased all conversations and the turn log", counts);
  }

  /**
   * Adds a copy of a turn to the log (durable when this returns); a turn with the id of a stored
   * one replaces it (record it again to store later changes). Strings longer than maxChars are
   * cut. A write error is logged, not thrown; a turn without id, at or key is a TypeError.
   */
  recordTurn(turn: TurnLike): void {
    this.ensureLoaded();
    if (!isTurn(turn)) throw new TypeError("recordTurn: a turn needs a string id, a finite at and a key of three strings");
    if (!this.storing) return;
    const stored = clipStrings(turn, this.maxChars) as StoredTurn;
    if (stored.at < this.cutoff(this.now())) return;
    const old = this.turnLog.findIndex((t) => t.id === stored.id);
    if (old >= 0) this.turnLog.splice(old, 1);
    insertByTime(this.turnLog, stored);
    if (this.turnLog.length > this.maxTurns) this.turnLog.splice(0, this.turnLog.length - this.maxTurns);
    try {
      if (this.turnLines + 1 > 2 * this.maxTurns) this.writeTurns(this.turnLog);
      else {
        appendLineDurable(this.turnsFile, JSON.stringify(stored));
        this.turnLines++;
      }
    } catch (e) {
      log.error("cannot store a turn", { file: this.turnsFile, error: errorText(e) });
    }
  }

  /** Stored turns, newest first, filtered, at most `limit`. */
  turns(opts: { limit?: number; frontEnd?: string; device?: string; flaggedOnly?: (t: StoredTurn) => boolean } = {}): StoredTurn[] {
    this.ensureLoaded();
    const cutoff = this.cutoff(this.now());
    const limit = opts.limit ?? Infinity;
    const out: StoredTurn[] = [];
    for (let i = this.turnLog.length - 1; i >= 0 && out.length < limit; i--) {
      const t = this.turnLog[i]!;
      if (t.at < cutoff) break;
      if (opts.frontEnd !== undefined && t.key.frontEnd !== opts.frontEnd) continue;
      if (opts.device !== undefined && t.key.device !== opts.device) continue;
      if (opts.flaggedOnly && !opts.flaggedOnly(t)) continue;
      out.push(t);
    }
    return out;
  }

  turn(id: string): StoredTurn | undefined {
    this.ensureLoaded();
    const t = this.turnLog.find((t) => t.id === id);
    return t && t.at >= this.cutoff(this.now()) ? t : undefined;
  }

  /** Deletes one turn, from disk too (the log is rewritten). Throws when the rewrite fails. */
  deleteTurn(id: string): boolean {
    this.ensureLoaded();
    const keep = this.turnLog.filter((t) => t.id !== id);
    if (keep.length === this.turnLog.length) return false;
    this.writeTurns(keep);
    this.turnLog = keep;
    return true;
  }

  /**
   * Applies retention and the bounds, and rewrites (durably) every file that holds something
   * dropped or is over its size; deletes files left with nothing, stale temporary files and
   * set-aside files older than the retention. Errors are logged; the next sweep tries again.
   */
  sweep(now = this.now()): void {
    this.ensureLoaded();
    const cutoff = this.cutoff(now);
    let exchangesDropped = 0;
    let conversationsDropped = 0;
    for (const [stem, c] of this.conversations) {
      const kept = c.exchanges.filter((e) => e.at >= cutoff).slice(-this.maxExchanges);
      const dropped = c.exchanges.length - kept.length;
      if (kept.length > 0 && dropped === 0 && !c.dirty && c.lines <= kept.length + 1) continue;
      try {
        c.exchanges = kept;
        if (kept.length === 0) {
          this.removeFile(c.file);
          this.conversations.delete(stem);
          conversationsDropped++;
        } else this.rewriteConversation(c);
        exchangesDropped += dropped;
      } catch (e) {
        log.error("cannot rewrite a conversation file", { file: c.file, error: errorText(e) });
      }
    }
    conversationsDropped += this.dropOverBound(this.maxConversations);

    const keptTurns = this.turnLog.filter((t) => t.at >= cutoff).slice(-this.maxTurns);
    const turnsDropped = this.turnLog.length - keptTurns.length;
    if (turnsDropped > 0 || this.turnsDirty || this.turnLines > keptTurns.length) {
      try {
        this.writeTurns(keptTurns);
        this.turnLog = keptTurns;
      } catch (e) {
        log.error("cannot rewrite the turn log", { file: this.turnsFile, error: errorText(e) });
      }
    }

    this.removeOldLeftovers(cutoff);
    if (exchangesDropped + conversationsDropped + turnsDropped > 0) {
      log.info("swept", { exchanges: exchangesDropped, conversations: conversationsDropped, turns: turnsDropped });
    }
  }

  /** Sweeps every `intervalMs` (the timer does not keep the process alive) until stop(). */
  startSweeping(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => {
      try {
        this.sweep();
      } catch (e) {
        log.error("sweep failed", { error: errorText(e) });
      }
    }, intervalMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  // --- inside ---

  private ensureLoaded() {
    if (!this.loaded) this.load();
  }

  private cutoff(now: number): number {
    return this.storing ? now - this.retentionMs : Infinity;
  }

  private fileOf(stem: string): string {
    return join(this.dir, `${stem}.jsonl`);
  }

  private clip(text: string): string {
    return text.length > this.maxChars ? text.slice(0, this.maxChars) : text;
  }

  private loadConversation(stem: string, file: string) {
    let read: { items: unknown[]; skipped: number };
    try {
      read = readJsonLines<unknown>(file);
    } catch (e) {
      return this.setAside(file, errorText(e));
    }
    const [header, ...rest] = read.items;
    if (read.items.length === 0 && read.skipped === 0) return this.removeQuietly(file, "an empty conversation file");
    if (!isHeader(header)) return this.setAside(file, "the first line is not a conversation header");
    if (conversationFileStem(header.conversation) !== stem) return this.setAside(file, "its header names another conversation");
    const exchanges = rest.filter(isExchange);
    const skipped = read.skipped + rest.length - exchanges.length;
    if (skipped > 0) log.warn("skipped torn or garbled lines", { file, count: skipped });
    const key = header.conversation;
    let touched = exchanges.length ? Math.max(...exchanges.map((e) => e.at)) : 0;
    if (!touched) touched = mtimeOf(file);
    this.conversations.set(stem, {
      key: { frontEnd: key.frontEnd, device: key.device, role: key.role },
      stem,
      file,
      exchanges: exchanges.slice(-this.maxExchanges),
      lines: read.items.length + read.skipped,
      touched,
      dirty: skipped > 0,
    });
  }

  private loadTurns(file: string) {
    let read: { items: unknown[]; skipped: number };
    try {
      read = readJsonLines<unknown>(file);
    } catch (e) {
      return this.setAside(file, errorText(e));
    }
    const byId = new Map<string, StoredTurn>();
    let invalid = 0;
    for (const item of read.items) {
      if (!isTurn(item)) invalid++;
      else {
        byId.delete(item.id); // a later line with the same id wins, and takes the later place
        byId.set(item.id, item);
      }
    }
    const skipped = read.skipped + invalid;
    if (skipped > 0) log.warn("skipped torn or garbled lines", { file, count: skipped });
    this.turnLog = [];
    for (const t of byId.values()) insertByTime(this.turnLog, t);
    this.turnLines = read.items.length + read.skipped;
    this.turnsDirty = skipped > 0;
  }

  private rewriteConversation(c: Conversation) {
    if (c.exchanges.length === 0) {
      this.removeFile(c.file);
      c.lines = 0;
    } else {
      const header: Header = { v: FORMAT_VERSION, conversation: c.key };
      const lines = [JSON.stringify(header), ...c.exchanges.map((e) => JSON.stringify(e))];
      writeFileDurable(c.file, lines.join("\n") + "\n");
      c.lines = lines.length;
    }
    c.dirty = false;
  }

  /** Makes the turn log file hold exactly `turns` (deleted when empty). */
  private writeTurns(turns: StoredTurn[]) {
    if (turns.length === 0) this.removeFile(this.turnsFile);
    else writeFileDurable(this.turnsFile, turns.map((t) => JSON.stringify(t)).join("\n") + "\n");
    this.turnLines = turns.length;
    this.turnsDirty = false;
  }

  /** Before a new conversation: deletes the least recently touched ones so it fits the bound. */
  private makeRoomForOne() {
    try {
      this.dropOverBound(this.maxConversations - 1);
    } catch (e) {
      log.error("cannot delete an old conversation", { error: errorText(e) });
    }
  }

  private dropOverBound(bound: number): number {
    if (this.conversations.size <= bound) return 0;
    const oldest = [...this.conversations.values()].sort((a, b) => a.touched - b.touched).slice(0, this.conversations.size - bound);
    let dropped = 0;
    for (const c of oldest) {
      try {
        this.removeFile(c.file);
        this.conversations.delete(c.stem);
        dropped++;
      } catch (e) {
        log.error("cannot delete an old conversation", { file: c.file, error: errorText(e) });
      }
    }
    if (dropped) log.info("deleted the least recently used conversations (over the bound)", { count: dropped, bound: this.maxConversations });
    return dropped;
  }

  /** Deletes files in the folder whose names match; throws on the first that cannot be deleted. */
  private removeFilesOf(match: (name: string) => boolean) {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    let removed = 0;
    for (const name of names) {
      if (!match(name)) continue;
      rmSync(join(this.dir, name), { recursive: true, force: true });
      removed++;
    }
    if (removed) syncDir(this.dir);
  }

  private removeFile(file: string) {
    try {
      unlinkSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    syncDir(this.dir);
  }

  private removeQuietly(file: string, what: string) {
    try {
      rmSync(file, { recursive: true, force: true });
      log.debug("removed " + what, { file });
    } catch (e) {
      log.warn("cannot remove " + what, { file, error: errorText(e) });
    }
  }

  private setAside(file: string, reason: string) {
    const to = `${file}${CORRUPT_MARKER}${this.now()}`;
    try {
      renameSync(file, to);
      syncDir(this.dir);
      log.warn("set an unreadable file aside", { file, to, reason });
    } catch (e) {
      log.error("cannot set an unreadable file aside; it is ignored", { file, reason, error: errorText(e) });
    }
  }

  /** Stale temporary files, and set-aside files older than the retention (all, when not storing). */
  private removeOldLeftovers(cutoff: number) {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const file = join(this.dir, name);
      if (name.includes(TMP_MARKER)) this.removeQuietly(file, "a stale temporary file");
      else {
        const at = name.lastIndexOf(CORRUPT_MARKER);
        if (at < 0) continue;
        const ms = Number(name.slice(at + CORRUPT_MARKER.length));
        if (!Number.isFinite(ms) || ms < cutoff) this.removeQuietly(file, "a set-aside file past the retention");
      }
    }
  }
}

function insertByTime(list: StoredTurn[], t: StoredTurn) {
  let i = list.length;
  while (i > 0 && list[i - 1]!.at > t.at) i--;
  list.splice(i, 0, t);
}

function isKey(v: unknown): v is ConversationKey {
  const k = v as ConversationKey;
  return typeof k === "object" && k !== null && typeof k.frontEnd === "string" && typeof k.device === "string" && typeof k.role === "string";
}

function isHeader(v: unknown): v is Header {
  const h = v as Header;
  return typeof h === "object" && h !== null && h.v === FORMAT_VERSION && isKey(h.conversation);
}

function isExchange(v: unknown): v is StoredExchange {
  const e = v as StoredExchange;
  return (
    typeof e === "object" &&
    e !== null &&
    typeof e.user === "string" &&
    typeof e.assistant === "string" &&
    Number.isFinite(e.at) &&
    (e.turnId === undefined || typeof e.turnId === "string")
  );
}

function isTurn(v: unknown): v is StoredTurn {
  const t = v as StoredTurn;
  return typeof t === "object" && t !== null && typeof t.id === "string" && Number.isFinite(t.at) && isKey(t.key);
}

/** A copy with every string longer than `max` cut (plain JSON data: objects, arrays, primitives). */
function clipStrings(value: unknown, max: number): unknown {
  if (typeof value === "string") return value.length > max ? value.slice(0, max) : value;
  if (typeof (value as { toJSON?: unknown } | null)?.toJSON === "function") return clipStrings((value as { toJSON: () => unknown }).toJSON(), max);
  if (Array.isArray(value)) return value.map((v) => clipStrings(v, max));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = clipStrings(v, max);
    return out;
  }
  return value;
}

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function errorText(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message ?? String(e);
}
