// The parent password ([console] password): sessions for the console, and who may use which route.
//
// With a password set, the console's data (/api/*) needs a session (an HttpOnly, SameSite=Strict
// cookie from POST /api/login) or an API key; a session also opens /v1 (the Talk page), which
// otherwise keeps its own rule (open unless [http] api_keys are set). A change made with the
// cookie (any method but GET/HEAD/OPTIONS) must come from a page of this same origin: a page on
// another port or host of the home network cannot make a parent's browser act for it.
// Sessions live in memory (a restart, or a new password, signs everyone out); failed logins are
// limited per address. Without a password nothing here applies and the old rules stand.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { HearthError } from "../errors.ts";
import { logger } from "../log.ts";
import { plainAddress } from "../util/network.ts";

const log = logger("console");

export const SESSION_COOKIE = "hearth_session";
const DAY_MS = 86_400_000;

export interface ConsoleAuthOptions {
  /** [console] password; empty = no password, everything stays as it was. */
  password: string;
  /** [http] api_keys: with a password set, a Bearer key still opens /api. */
  apiKeys: string[];
  /** How long a session lasts from sign-in (default 30 days). */
  sessionDays?: number;
  /** Failed logins allowed per address within `failureWindowMs` (default 5 per minute). */
  maxFailures?: number;
  failureWindowMs?: number;
  /** Sessions kept at once; the oldest go first (default 200). */
  maxSessions?: number;
  now?: () => number;
}

export type LoginResult =
  | { ok: true; cookie: string }
  | { ok: false; reason: "wrong_password" | "no_password" }
  | { ok: false; reason: "too_many_attempts"; retryAfterSeconds: number };

/** 401 for the console's data without a session; the console sends the parent to /login. */
export class LoginRequired extends HearthError {
  constructor() {
    super("Sign in with the parent password (the console's /login page), or send 'Authorization: Bearer <key>'.", 401, "authentication_error", null, "login_required");
  }
}

/** 403: a change carried the session cookie but did not come from the console's own pages. */
export class CrossSiteRequest extends HearthError {
  constructor() {
    super("This change did not come from Hearth's own console page, so it was refused. Open the console and try again there.", 403, "invalid_request_error", null, "cross_site_request");
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const sha256 = (text: string) => createHash("sha256").update(text).digest();

export class ConsoleAuth {
  private readonly password: Buffer | null;
  private readonly apiKeys: readonly string[];
  private readonly sessionMs: number;
  private readonly maxFailures: number;
  private readonly failureWindowMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;
  /** sha256(session id) -> when it ends; only hashes are kept, so a memory dump reveals no live cookie. */
  private readonly sessions = new Map<string, number>();
  /** Failed logins per client address: their times, oldest first. */
  private readonly failures = new Map<string, number[]>();
  /** The client address of each session-route request admit() saw (the login route limits failures by it). */
  private readonly addresses = new WeakMap<Request, string>();

  constructor(options: ConsoleAuthOptions) {
    this.password = options.password ? sha256(options.password) : null;
    this.apiKeys = options.apiKeys;
    this.sessionMs = (options.sessionDays ?? 30) * DAY_MS;
    this.maxFailures = options.maxFailures ?? 5;
    this.failureWindowMs = options.failureWindowMs ?? 60_000;
    this.maxSessions = options.maxSessions ?? 200;
    this.now = options.now ?? Date.now;
  }

  get passwordSet(): boolean {
    return this.password !== null;
  }

  /**
   * The server's access check (ServerOptions.access), run before every handler: true when a
   * console session authorizes the request (the API key check is then skipped), false to leave it
   * to the API key rule, throws to refuse. Console pages and everything outside /v1/ and /api/ are
   * left alone (the page redirects to /login itself; toy audio and /health stay open).
   */
  admit(req: Request, path: string, address: string | undefined): boolean {
    if (isSessionRoute(path)) {
      this.addresses.set(req, plainAddress(address) ?? "unknown");
      if (this.password) this.checkOrigin(req, path);
      return true;
    }
    if (!this.password) return false;
    const api = path.startsWith("/api/");
    if (!api && !path.startsWith("/v1/")) return false;
    if (this.signedIn(req)) {
      this.checkOrigin(req, path);
      return true;
    }
    if (!api) return false; // /v1 without a session: open, or the API keys decide
    if (this.apiKeys.length > 0 && req.headers.has("authorization")) return false; // the key check decides
    throw new LoginRequired();
  }

  /** A change (not GET/HEAD/OPTIONS) made with the cookie must come from our own pages. */
  private checkOrigin(req: Request, path: string) {
    if (SAFE_METHODS.has(req.method) || sameOrigin(req)) return;
    log.warn("refused a cross-site change", { path, origin: req.headers.get("origin") ?? undefined, site: req.headers.get("sec-fetch-site") ?? undefined });
    throw new CrossSiteRequest();
  }

  /** Whether the request carries a live session cookie. */
  signedIn(req: Request): boolean {
    const id = cookieValue(req.headers.get("cookie"), SESSION_COOKIE);
    if (!id) return false;
    const key = sha256(id).toString("hex");
    const ends = this.sessions.get(key);
    if (ends === undefined) return false;
    if (ends <= this.now()) {
      this.sessions.delete(key);
      return false;
    }
    return true;
  }

  /** The client address admit() recorded for this request ("unknown" for a copy of it, e.g. a chunked body). */
  addressOf(req: Request): string {
    return this.addresses.get(req) ?? "unknown";
  }

  /**
   * Checks the password (constant time) unless this address failed too often lately; on success
   * starts a session and returns its Set-Cookie value. `secure` adds the Secure flag (https).
   */
  login(given: string, address: string, secure = false): LoginResult {
    if (!this.password) return { ok: false, reason: "no_password" };
    const now = this.now();
    const recent = (this.failures.get(address) ?? []).filter((t) => t > now - this.failureWindowMs);
    if (recent.length >= this.maxFailures) {
      this.failures.set(address, recent);
      return { ok: false, reason: "too_many_attempts", retryAfterSeconds: Math.max(1, Math.ceil((recent[0]! + this.failureWindowMs - now) / 1000)) };
    }
    if (!timingSafeEqual(sha256(given), this.password)) {
      recent.push(now);
      this.failures.set(address, recent);
      this.pruneFailures(now);
      log.warn("wrong console password", { from: address, failuresThisMinute: recent.length });
      return { ok: false, reason: "wrong_password" };
    }
    this.failures.delete(address);
    const id = randomBytes(32).toString("base64url");
    this.pruneSessions(now);
    this.sessions.set(sha256(id).toString("hex"), now + this.sessionMs);
    log.info("console signed in", { from: address });
    return { ok: true, cookie: sessionCookie(id, Math.floor(this.sessionMs / 1000), secure) };
  }

  /** Ends the request's session (if any); returns the Set-Cookie value that clears the cookie. */
  logout(req: Request, secure = false): string {
    const id = cookieValue(req.headers.get("cookie"), SESSION_COOKIE);
    if (id) this.sessions.delete(sha256(id).toString("hex"));
    return sessionCookie("", 0, secure);
  }

  private pruneSessions(now: number) {
    for (const [key, ends] of this.sessions) if (ends <= now) this.sessions.delete(key);
    // Map order is insertion order: the oldest sign-ins go first
    while (this.sessions.size >= this.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
  }

  private pruneFailures(now: number) {
    if (this.failures.size < 1000) return;
    for (const [address, times] of this.failures) if (times.at(-1)! <= now - this.failureWindowMs) this.failures.delete(address);
  }
}

/** The routes a browser uses to sign in and out: open, so the login page can reach them. */
function isSessionRoute(path: string): boolean {
  return path === "/api/login" || path === "/api/logout" || path === "/api/session";
}

/**
 * Whether a browser sent this request from a page of the same origin: Sec-Fetch-Site when the
 * browser sends it (all current ones do), else the Origin header against the Host it asked for.
 * A request with neither is refused: browsers send at least Origin with every POST, PUT, DELETE.
 */
export function sameOrigin(req: Request): boolean {
  const site = req.headers.get("sec-fetch-site");
  if (site) return site === "same-origin";
  const origin = req.headers.get("origin");
  const host = req.headers.get("host");
  if (!origin || origin === "null" || !host) return false;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}
