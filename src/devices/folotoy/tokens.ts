// tokens.json: each toy's UDP token, key, selected role and advertised host, persisted so that a
// restart of Hearth is invisible to toys. Bounded: at most `maxToys` toys.
import { createHash, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { logger } from "../../log.ts";
import { removeStaleTemporaries, writeFileDurable } from "../../util/durable.ts";

const log = logger("toy");

/** A full store gives the place of a toy unseen for this long (and not protected) to a new one. */
export const EVICT_UNSEEN_MS = 24 * 3600_000;
/** `seenAt` is written at most this often per toy (a login or a recording marks a toy as seen). */
const SEEN_RESOLUTION_MS = 3600_000;

/** What survives a restart, per toy. */
export interface PersistedToy {
  /** 32 lowercase hex: the UDP token. */
  token: string;
  /** Selected role button. */
  role: number;
  /** Host last advertised to the toy (UDP and audio URLs), used when a toy sends audio before re-logging in. */
  host?: string;
  issuedAt: number;
  /** Epoch ms the toy was last seen (login or recording), to the hour. */
  seenAt?: number;
  /**
   * sha256 (hex) of the key (MQTT password) the toy first logged in with: trust on first use.
   * Absent until its first login on the embedded broker, and after a reset.
   */
  keyHash?: string;
}

/** What a key check says (the embedded broker asks at every MQTT login). */
export type KeyCheck = "match" | "learned" | "wrong" | "full";

/** tokens.json: SN -> token, key, role, advertised host. Written durably on every change. */
export class TokenStore {
  private toys: Record<string, PersistedToy> = {};
  private snByToken = new Map<string, string>();

  constructor(
    readonly file: string,
    private readonly opts: {
      maxToys?: number;
      /** Toys that keep their place when the store is full (listed in known_toys, connected now). */
      protect?: (sn: string) => boolean;
      /** Toys that always get a place (listed in known_toys), even in a store full of others. */
      known?: (sn: string) => boolean;
      now?: () => number;
    } = {},
  ) {}

  private get now(): number {
    return (this.opts.now ?? Date.now)();
  }

  load(): void {
    removeStaleTemporaries(this.file); // a write a power cut interrupted: the file itself is whole
    if (!existsSync(this.file)) return;
    try {
      const data = JSON.parse(readFileSync(this.file, "utf8"));
      const toys = data?.toys;
      if (typeof toys !== "object" || toys === null) throw new Error('no "toys" object');
      for (const [sn, t] of Object.entries(toys as Record<string, PersistedToy>)) {
        if (typeof t?.token !== "string" || !/^[0-9a-f]{32}$/.test(t.token)) continue;
        this.toys[sn] = {
          token: t.token,
          role: Number(t.role) || 1,
          host: typeof t.host === "string" ? t.host : undefined,
          issuedAt: Number(t.issuedAt) || 0,
          seenAt: Number(t.seenAt) || undefined,
          keyHash: typeof t.keyHash === "string" && /^[0-9a-f]{64}$/.test(t.keyHash) ? t.keyHash : undefined,
        };
        this.snByToken.set(t.token, sn);
      }
      log.info("tokens loaded", { file: this.file, toys: this.snByToken.size });
    } catch (e) {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      log.error("tokens file is unreadable; starting without tokens (toys get new ones at their next login)", { file: this.file, error: (e as Error).message, movedTo: aside });
      try {
        renameSync(this.file, aside);
      } catch {}
    }
  }

  /**
   * The toy's token; a new random one the first time a toy logs in. Stable across logins and
   * restarts. Undefined when the store is full and no toy's place can be given (see `makeRoom`).
   */
  tokenFor(sn: string): string | undefined {
    const known = this.toys[sn];
    if (known) {
      this.seen(sn);
      return known.token;
    }
    if (!this.makeRoom(sn)) return undefined;
    const token = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
    const now = this.now;
    this.toys[sn] = { token, role: 1, issuedAt: now, seenAt: now };
    this.snByToken.set(token, sn);
    this.save();
    return token;
  }

  /**
   * Checks a toy's key (its MQTT password) against the one it first logged in with, learning it
   * the first time (trust on first use). "full": the toy is new and there is no room for it.
   */
  checkKey(sn: string, key: string): KeyCheck {
    const hash = createHash("sha256").update(key, "utf8").digest("hex");
    let toy = this.toys[sn];
    if (!toy) {
      if (this.tokenFor(sn) === undefined) return "full";
      toy = this.toys[sn]!;
    }
    if (toy.keyHash === undefined) {
      toy.keyHash = hash;
      this.save();
      return "learned";
    }
    const same = timingSafeEqual(Buffer.from(toy.keyHash, "hex"), Buffer.from(hash, "hex"));
    if (same) this.seen(sn);
    return same ? "match" : "wrong";
  }

  /** Forgets the key a toy logged in with: its next login is trusted and teaches a new one. False for an unknown toy. */
  resetKey(sn: string): boolean {
    const toy = this.toys[sn];
    if (!toy) return false;
    if (toy.keyHash !== undefined) {
      delete toy.keyHash;
      this.save();
    }
    return true;
  }

  snOf(token: string): string | undefined {
    return this.snByToken.get(token);
  }

  get(sn: string): PersistedToy | undefined {
    return this.toys[sn];
  }

  sns(): string[] {
    return Object.keys(this.toys);
  }

  get size(): number {
    return this.snByToken.size;
  }

  /** Records a role or host change; writes only when something changed. */
  update(sn: string, patch: Partial<Pick<PersistedToy, "role" | "host">>): void {
    const t = this.toys[sn];
    if (!t) return;
    let changed = false;
    for (const [k, v] of Object.entries(patch) as [keyof typeof patch, any][]) {
      if (v !== undefined && t[k] !== v) {
        (t as any)[k] = v;
        changed = true;
      }
    }
    if (changed) this.save();
  }

  /** Marks a toy as seen now (written at most once an hour per toy). */
  seen(sn: string): void {
    const t = this.toys[sn];
    if (!t) return;
    const now = this.now;
    if (t.seenAt !== undefined && now - t.seenAt < SEEN_RESOLUTION_MS) return;
    t.seenAt = now;
    this.save();
  }

  /**
   * Room for one more toy: true while under maxToys; when full, the toy unseen for longest gives
   * its place if that was over EVICT_UNSEEN_MS ago and `protect` (listed in known_toys, connected)
   * does not keep it. Otherwise false: a flood of made-up SNs can never push out toys in use.
   * A `known` toy always gets in: the unprotected toy unseen for longest gives way, however
   * recently it was seen (or, when every toy is protected, the store grows by one).
   */
  private makeRoom(sn: string): boolean {
    const max = this.opts.maxToys ?? Infinity;
    if (this.size < max) return true;
    const known = this.opts.known?.(sn) ?? false;
    const now = this.now;
    let oldest: [string, number] | undefined;
    for (const [other, t] of Object.entries(this.toys)) {
      const seen = t.seenAt ?? t.issuedAt;
      if ((!known && now - seen < EVICT_UNSEEN_MS) || this.opts.protect?.(other)) continue;
      if (!oldest || seen < oldest[1]) oldest = [other, seen];
    }
    if (!oldest) {
      if (known) return true;
      log.warn("tokens.json is full: a new toy was refused ([toy] max_toys; every remembered toy was seen within a day)", { sn, max });
      return false;
    }
    const [gone] = oldest;
    this.snByToken.delete(this.toys[gone]!.token);
    delete this.toys[gone];
    log.warn("tokens.json is full: the toy unseen for longest was forgotten to make room for a new one", { forgotten: gone, sn, max });
    return true;
  }

  private save() {
    try {
      writeFileDurable(this.file, JSON.stringify({ version: 1, toys: this.toys }, null, 2) + "\n");
    } catch (e) {
      log.error("cannot write the tokens file: a restart will make toys re-login", { file: this.file, error: (e as Error).message });
    }
  }
}
