// The web console: its page and script at "/", and the JSON routes the page reads (/api/...).
// In Bun.serve's `routes` format. The server applies the API key to /api/* (and /v1/*);
// the page and its script hold no data and load without one, then ask for the key on a 401.
import { BadRequest, NotFound, TooLarge } from "../errors.ts";
import type { ToyStatus } from "../pipeline/types.ts";
import type { Routes } from "../http/routes.ts";
import { readJson } from "../http/body.ts";
import { controlsSchema, type DeviceControls } from "../pipeline/controls.ts";
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
  /**
   * What the device front ends listen on (their `listening()`, merged), e.g. { mqtt: 1883, udp: 8085 };
   * `mqtt` is the broker's URL when an external broker is configured, 0 while still starting.
   * The console pairs it with the host the page was opened on to tell a parent what to give a toy.
   */
  devices?: Record<string, number | string>;
  /** Disk space of the models in use (absent while they load). */
  disk?: ModelDisk;
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
  toys(): ToyStatus[];
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
  /** The parent's controls per device (nickname, AI on/off, quiet hours, daily limit). */
  controls: {
    get(frontEnd: string, device: string): DeviceControlsView;
    set(frontEnd: string, device: string, controls: DeviceControls): DeviceControlsView;
  };
}

export interface DeviceControlsView {
  /** What the parent set for this device. */
  controls: DeviceControls;
  /** What is in force (the device's settings, else the defaults from config.toml). */
  effective: Required<Omit<DeviceControls, "nickname">> & { nickname?: string };
  usedTodayMinutes: number;
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
    "/": { GET: () => consoleAsset("page") },
    "/console/app.js": { GET: () => consoleAsset("script") },
    "/console/app.css": { GET: () => consoleAsset("style") },
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

async function statusOf(deps: WebDeps): Promise<StatusSnapshot> {
  const snapshot = { ...(await deps.status()) };
  if (deps.listening) snapshot.devices = deps.listening();
  if (deps.models) snapshot.disk = modelDisk(deps.models.dir, deps.models.profile());
  return snapshot;
}

/** ?limit=N (1..500, default 50), ?frontEnd=folotoy, ?device=<sn or API user>. */
function turnQuery(req: Request): TurnQuery {
  const params = new URL(req.url).searchParams;
  const raw = params.get("limit");
  const limit = raw === null ? DEFAULT_TURNS : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TURNS) throw new BadRequest(`limit must be an integer from 1 to ${MAX_TURNS}`, "limit");
  const query: TurnQuery = { limit };
  for (const name of ["frontEnd", "device"] as const) {
    const value = params.get(name);
    if (value === null) continue;
    if (value === "" || value.length > 200) throw new BadRequest(`${name} must be 1 to 200 characters`, name);
    query[name] = value;
  }
  return query;
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
