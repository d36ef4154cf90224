// The web console: its page and script at "/", and the JSON routes the page reads (/api/...).
// In Bun.serve's `routes` format. The server applies the API key to /api/* (and /v1/*), or,
// with a parent password, a session (http/session.ts); the page and its script hold no data
// and load without either, then ask for the key on a 401 (or send the parent to /login).
import { z } from "zod";
import { BadRequest, HearthError, NotFound, TooLarge } from "../errors.ts";
import type { ToyStatus } from "../pipeline/types.ts";
import type { Routes } from "../http/routes.ts";
import { readJson } from "../http/body.ts";
import { errorBody } from "../http/errors.ts";
import type { ConsoleAuth } from "../http/session.ts";
import { controlsSchema, roleKeySchema, type DeviceControls } from "../pipeline/controls.ts";
import type { ModelFetchSnapshot } from "../models/fetch-status.ts";
import type { ResolvedProfile } from "../models/types.ts";
import { consoleAsset, warmConsoleAssets } from "./assets.ts";
import { modelDisk } from "./disk.ts";

/** What the console shows about the running appliance. */
export interface StatusSnapshot {
  models: {
    /** Model profile in use, e.g. "pi". */
    profile: string;
    /** All models loaded (false while Hearth is still starting). */
    loaded: boolean;
    /** Model ids (ResolvedProfile's stt.id, llm.id, vad.id). */
    stt: string;
    /** Also sent as `model` by the console's Talk page. */
    llm: string;
    /** Voice names as /v1/audio/speech takes them (TtsVoice.id), e.g. ["amy", "aishell3"]. */
    tts: string[];
    vad: string;
  };
  /** Resident set size of the Hearth process, in bytes. */
  memory: { rss: number };
  uptimeSeconds: number;
  ready: boolean;
  /** Why Hearth is not ready (empty when ready), e.g. ["loading models"]. */
  reasons: string[];
  /** Models being fetched at start (absent once loaded, or when none was missing): each file's progress, retries, errors. */
  modelFetch?: ModelFetchSnapshot;
  /** Engines that run on other machines ([stt]/[llm]/[tts] backend = "remote"): each server's state. */
  upstreams?: Record<string, { url: string; state: string; latencyMs: number | null; requests: number; errors: number; lastError: string | null }[]>;
  /**
   * What the device front ends listen on (their `listening()`, merged), e.g. { mqtt: 1883, udp: 8085 };
   * `mqtt` is the broker's URL when an external broker is configured, 0 while still starting.
   * The console pairs it with the host the page was opened on to tell a parent what to give a toy.
   */
  devices?: Record<string, number | string>;
  /** Disk space of the models in use (absent while they load). */
  disk?: ModelDisk;
  /** Whether a parent password ([console] password) protects the console; without one it shows how to set it. */
  passwordSet?: boolean;
}

/** Bytes on disk per model id of the profile, their total, and the space left where the models live. */
export interface ModelDisk {
  models: Record<string, number>;
  total: number;
  /** Free bytes on the models' file system (absent when it cannot be read). */
  free?: number;
}

/** Which turns GET /api/turns lists: newest first, at most `limit`, optionally of one front end / device. */
export interface TurnQuery {
  limit: number;
  frontEnd?: string;
  device?: string;
  /** ?flagged=1: only turns the safety layer flagged (redirected, blocked, care). */
  flaggedOnly?: (t: Record<string, unknown>) => boolean;
}

export type RolesWriteResult = { ok: true } | { ok: false; error: string };

/** Implemented by the app from the engines and the toy layer. */
export interface WebDeps {
  status(): Promise<StatusSnapshot> | StatusSnapshot;
  /** What the device front ends listen on, merged (each front end's listening()); becomes the status' `devices`. */
  listening?(): Record<string, number | string>;
  /** Where the models live and the profile in use (absent while loading): the status' `disk`. */
  models?: { dir: string; profile(): ResolvedProfile | undefined };
  /** The most recent finished turns, newest first, filtered as asked (the conversation store's turns()). */
  turns(query: TurnQuery): readonly object[];
  toys(): ConsoleToy[];
  roles: {
    /** The roles.json text as it is on disk. */
    read(): string;
    /** Validates and saves roles.json (the toy layer's watcher picks it up). */
    write(text: string): RolesWriteResult | Promise<RolesWriteResult>;
  };
  /** Erasing what Hearth remembers (from disk, not just from memory). */
  history: {
    /** False when there is no such turn. */
    deleteTurn(id: string): boolean;
    /** Every conversation and turn of one device; how many items went. */
    eraseDevice(frontEnd: string, device: string): number;
    eraseAll(): void;
  };
  /** The parent password's sessions ([console] password); absent = no password. */
  auth?: ConsoleAuth;
  /** The parent's controls per device (nickname, AI on/off, quiet hours, daily limit). */
  controls: {
    get(frontEnd: string, device: string): DeviceControlsView;
    set(frontEnd: string, device: string, controls: DeviceControls): DeviceControlsView;
    /** The parent chooses the role the device talks as (null: the device's own choice again): Pipeline.switchRole. */
    switchRole(frontEnd: string, device: string, role: string | null): DeviceControlsView;
  };
}

/** A device as the console lists it: `role` is the one in force (a role chosen in the console wins). */
export interface ConsoleToy extends ToyStatus {
  /** The role the device picks itself (a FoloToy toy's role button; [xiaozhi] device_roles or role). */
  ownRole?: number;
  /** The role a parent chose in the console, when one is chosen. */
  chosenRole?: string;
}

export interface DeviceControlsView {
  /** What the parent set for this device. */
  controls: DeviceControls;
  /** What is in force (the device's settings, else the defaults from config.toml). */
  effective: Required<Omit<DeviceControls, "nickname">> & { nickname?: string };
  usedTodayMinutes: number;
  /** The role a parent chose in the console (absent: the device's own choice). */
  role?: string;
  /** Why it would not talk right now, if it would not. */
  paused?: "resting" | "quiet_hours" | "daily_limit";
}

export type WebRoutes = Routes;

const DEFAULT_TURNS = 50;
const MAX_TURNS = 500;
const MAX_ROLES_BYTES = 1_000_000;

export function webRoutes(deps: WebDeps): WebRoutes {
  warmConsoleAssets();
  return {
    "/": { GET: (req) => (mustSignIn(deps, req) ? redirect("/login") : consoleAsset("page")) },
    "/login": { GET: (req) => (mustSignIn(deps, req) ? consoleAsset("login") : redirect("/")) },
    "/console/app.js": { GET: () => consoleAsset("script") },
    "/console/login.js": { GET: () => consoleAsset("loginScript") },
    "/console/app.css": { GET: () => consoleAsset("style") },
    "/api/session": { GET: (req) => Response.json({ passwordSet: !!deps.auth?.passwordSet, signedIn: !!deps.auth?.signedIn(req) }, noStore) },
    "/api/login": { POST: (req) => login(req, deps) },
    "/api/logout": {
      POST: (req) => Response.json({ signedOut: true }, { headers: { ...noStore.headers, ...(deps.auth ? { "Set-Cookie": deps.auth.logout(req, isHttps(req)) } : {}) } }),
    },
    "/api/status": { GET: async () => Response.json(await statusOf(deps), noStore) },
    "/api/turns": { GET: (req) => Response.json({ data: deps.turns(turnQuery(req)) }, noStore) },
    "/api/toys": { GET: () => Response.json({ data: deps.toys() }, noStore) },
    "/api/turns/:id": {
      DELETE: (req) => {
        const id = req.params.id ?? "";
        if (!deps.history.deleteTurn(id)) throw new NotFound(`No turn "${id}" in the turn log.`, "id", "turn_not_found");
        return Response.json({ deleted: id });
      },
    },
    "/api/history/:frontEnd/:device": {
      DELETE: (req) => {
        const { frontEnd = "", device = "" } = req.params;
        return Response.json({ erased: deps.history.eraseDevice(frontEnd, device) });
      },
    },
    "/api/devices/:frontEnd/:device/controls": {
      GET: (req) => Response.json(deps.controls.get(req.params.frontEnd ?? "", req.params.device ?? ""), noStore),
      PUT: async (req) => {
        const body = await readJson(req, controlsSchema);
        return Response.json(deps.controls.set(req.params.frontEnd ?? "", req.params.device ?? "", body));
      },
    },
    "/api/devices/:frontEnd/:device/role": {
      PUT: async (req) => {
        const { role } = await readJson(req, roleSwitchSchema);
        return Response.json(deps.controls.switchRole(req.params.frontEnd ?? "", req.params.device ?? "", role));
      },
    },
    "/api/history": {
      DELETE: () => {
        deps.history.eraseAll();
        return Response.json({ erased: "all" });
      },
    },
    "/api/roles": {
      GET: () => new Response(deps.roles.read(), { headers: { "Content-Type": "application/json; charset=utf-8", ...noStore.headers } }),
      PUT: (req) => putRoles(req, deps),
    },
  };
}

const noStore = { headers: { "Cache-Control": "no-store" } };
/** PUT .../role: {"role": "2"} chooses role 2, {"role": null} gives the device its own choice back. */
const roleSwitchSchema = z.strictObject({ role: roleKeySchema.nullable() });

async function statusOf(deps: WebDeps): Promise<StatusSnapshot> {
  const snapshot = { ...(await deps.status()) };
  if (deps.listening) snapshot.devices = deps.listening();
  if (deps.models) snapshot.disk = modelDisk(deps.models.dir, deps.models.profile());
  snapshot.passwordSet = !!deps.auth?.passwordSet;
  return snapshot;
}

/** A console page asked for without a session while a parent password is set. */
function mustSignIn(deps: WebDeps, req: Request): boolean {
  return !!deps.auth?.passwordSet && !deps.auth.signedIn(req);
}

function redirect(location: string): Response {
  // relative, so it works behind any host name; the browser keeps the #fragment (the page asked for)
  return new Response(null, { status: 302, headers: { Location: location, "Cache-Control": "no-store" } });
}

function isHttps(req: Request): boolean {
  return new URL(req.url).protocol === "https:" || req.headers.get("x-forwarded-proto") === "https";
}

const loginSchema = z.strictObject({ password: z.string().max(1000) });

/** POST /api/login {password}: a session cookie, or 401, or 429 (Retry-After) after too many failures from this address. */
async function login(req: Request, deps: WebDeps): Promise<Response> {
  const auth = deps.auth;
  if (!auth?.passwordSet) {
    throw new BadRequest("No parent password is set: the console is open. Set [console] password in config.toml to protect it.", null, "no_password");
  }
  const address = auth.addressOf(req);
  const { password } = await readJson(req, loginSchema);
  const result = auth.login(password, address, isHttps(req));
  if (result.ok) return Response.json({ signedIn: true }, { headers: { ...noStore.headers, "Set-Cookie": result.cookie } });
  if (result.reason === "too_many_attempts") {
    const error = new HearthError(`Too many wrong passwords. Try again in ${result.retryAfterSeconds} s.`, 429, "rate_limit_error", null, "too_many_attempts");
    return Response.json(errorBody(error), { status: 429, headers: { "Retry-After": String(result.retryAfterSeconds) } });
  }
  const error = new HearthError("That is not the parent password.", 401, "authentication_error", "password", "wrong_password");
  return Response.json(errorBody(error), { status: 401 });
}

/** ?limit=N (1..500, default 50), ?frontEnd=folotoy, ?device=<sn or API user>, ?flagged=1. */
function turnQuery(req: Request): TurnQuery {
  const params = new URL(req.url).searchParams;
  const raw = params.get("limit");
  const limit = raw === null ? DEFAULT_TURNS : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TURNS) throw new BadRequest(`limit must be an integer from 1 to ${MAX_TURNS}`, "limit");
  const query: TurnQuery = { limit };
  const flagged = params.get("flagged");
  if (flagged === "1" || flagged === "true") query.flaggedOnly = isFlagged;
  for (const name of ["frontEnd", "device"] as const) {
    const value = params.get(name);
    if (value === null) continue;
    if (value === "" || value.length > 200) throw new BadRequest(`${name} must be 1 to 200 characters`, name);
    query[name] = value;
  }
  return query;
}

/** A turn the safety layer redirected, blocked or answered with care. */
function isFlagged(t: Record<string, unknown>): boolean {
  const verdict = (t.safety as { verdict?: unknown } | undefined)?.verdict;
  return typeof verdict === "string" && verdict !== "allowed";
}

async function putRoles(req: Request, deps: WebDeps): Promise<Response> {
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (declared > MAX_ROLES_BYTES) throw new TooLarge(`roles.json may be at most ${MAX_ROLES_BYTES} bytes`, "body");
  const text = await req.text();
  if (text.length > MAX_ROLES_BYTES) throw new TooLarge(`roles.json may be at most ${MAX_ROLES_BYTES} bytes`, "body");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new BadRequest(`roles.json is not valid JSON: ${(e as Error).message}`, "body", "invalid_json");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new BadRequest('roles.json must be a JSON object: {"1": {"prompt": "..."}, ...}', "body", "invalid_roles");
  }
  const result = await deps.roles.write(text);
  if (!result.ok) throw new BadRequest(result.error, "body", "invalid_roles");
  return Response.json({ ok: true });
}
