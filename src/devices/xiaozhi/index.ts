// The xiaozhi-esp32 front end: stock devices pointed at http://<pi>:<port>/xiaozhi/ota/ check in
// there at boot (ota.ts), are told the WebSocket URL and token, and talk over /xiaozhi/v1/ (one
// session.ts per connection). Their utterances become pipeline turns with key
// {frontEnd: "xiaozhi", device: <MAC as 12 hex digits>, role}: the same roles, history, safety
// layer, turn log and console as every front end. Optional pairing ([xiaozhi] require_pairing):
// an unknown device shows a code, and a parent approves it (POST /api/xiaozhi/activate).
import { join } from "node:path";
import { z } from "zod";
import type { LoadedConfig } from "../../config/load.ts";
import { BadRequest, NotFound, NotReady, Unauthorized } from "../../errors.ts";
import { readJson } from "../../http/body.ts";
import type { Routes, SocketHandlers, SocketRoutes } from "../../http/routes.ts";
import { logger } from "../../log.ts";
import { Listening, type PauseDetectors } from "../../pipeline/listen.ts";
import type { Pipeline } from "../../pipeline/pipeline.ts";
import type { ToyStatus } from "../../pipeline/types.ts";
import { urlHost } from "../../util/network.ts";
import type { DeviceFrontEnd } from "../types.ts";
import { WEBSOCKET_PATH, websocketUrl } from "./addresses.ts";
import { normalizeDeviceId } from "./device-id.ts";
import { parseProtocolVersion } from "./framing.ts";
import type { SpeechDetectors } from "./listening.ts";
import { McpError } from "./mcp.ts";
import { xiaozhiMetrics } from "./metrics.ts";
import { localTimezoneOffsetMinutes, OtaRequestError, otaResponse, parseOtaRequest, type OtaAnswer } from "./ota.ts";
import { DeviceRegistry } from "./registry.ts";
import { XiaozhiSession, type SessionSettings } from "./session.ts";
import { LISTEN_RATE } from "./opus.ts";
import { FRONT_END } from "./turn.ts";

const log = logger("xiaozhi");

/** The OTA URL a device's owner types on its Wi-Fi setup page (after http://<pi>:<port>). */
export const OTA_PATH = "/xiaozhi/ota/";
/** How long a device shows its pairing code before checking in again (the firmware polls /activate meanwhile). */
const ACTIVATION_TIMEOUT_MS = 30_000;

export interface XiaozhiDeps {
  config: LoadedConfig;
  pipeline: Pipeline;
  /** The HTTP port actually bound (the config may say 0). */
  httpPort: number;
  /** Streaming VAD for auto and realtime listening (engines/vad/silero-stream.ts). */
  detectors: SpeechDetectors;
  /** Pause detectors: with them, an utterance is recognized while it arrives (pipeline/listen.ts). */
  pauses?: PauseDetectors;
  /** Session settings that tests shorten (the hello timeout). */
  settings?: Partial<SessionSettings>;
}

export class XiaozhiFrontEnd implements DeviceFrontEnd {
  readonly name = FRONT_END;
  readonly routes: Routes;
  readonly sockets: SocketRoutes;
  private readonly config: LoadedConfig;
  private readonly pipeline: Pipeline;
  private readonly registry: DeviceRegistry;
  private readonly sessions = new Map<string, XiaozhiSession>();
  private readonly settings: SessionSettings;
  private readonly deviceRoles: Record<string, string> = {};
  private stopped = false;

  constructor(private readonly deps: XiaozhiDeps) {
    const { config } = deps;
    this.config = config;
    this.pipeline = deps.pipeline;
    this.registry = new DeviceRegistry(join(config.state.dir, "xiaozhi.json"));
    for (const [id, role] of Object.entries(config.xiaozhi.device_roles)) {
      const device = normalizeDeviceId(id);
      if (device) this.deviceRoles[device] = role;
      else log.warn("[xiaozhi] device_roles: not a device id, ignored", { key: id });
    }
    this.settings = {
      listenMode: config.xiaozhi.listen_mode,
      endSilenceMs: config.xiaozhi.end_of_speech_seconds * 1000,
      helloTimeoutMs: 10_000,
      maxUtteranceSeconds: 60,
      leadFrames: 5,
      tailMs: 120,
      mcpTimeoutMs: 10_000,
      version: "hearth",
      ...deps.settings,
    };
    const ota = { GET: (req: Request) => this.versionCheck(req), POST: (req: Request) => this.versionCheck(req) };
    const activate = { POST: (req: Request) => this.activationPoll(req), GET: (req: Request) => this.activationPoll(req) };
    this.routes = {
      [OTA_PATH]: ota,
      [OTA_PATH.replace(/\/$/, "")]: ota,
      [`${OTA_PATH}activate`]: activate,
      "/api/xiaozhi/devices": { GET: () => Response.json({ data: this.details() }) },
      "/api/xiaozhi/activate": { POST: (req) => this.approve(req) },
      "/api/xiaozhi/devices/:device/tools/:name": { POST: (req) => this.callTool(req) },
    };
    const socket = (req: Request) => this.upgrade(req);
    this.sockets = { [WEBSOCKET_PATH]: socket, [WEBSOCKET_PATH.replace(/\/$/, "")]: socket };
  }

  async start(): Promise<void> {
    this.registry.load();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const sessions = [...this.sessions.values()];
    for (const s of sessions) s.close(1001, "Hearth is shutting down");
    await Promise.race([Promise.all(sessions.map((s) => s.settled())), Bun.sleep(5000)]);
    xiaozhiMetrics.setConnected(0);
  }

  ready(): { ok: boolean; reasons: string[] } {
    return { ok: true, reasons: [] };
  }

  listening(): Record<string, number | string> {
    return { xiaozhi: OTA_PATH };
  }

  howToConnect(host: string, httpPort: number): string {
    const ota = this.config.http.public_url ? `${this.config.http.public_url.replace(/\/+$/, "")}${OTA_PATH}` : `http://${urlHost(host)}:${httpPort}${OTA_PATH}`;
    return `xiaozhi devices: OTA URL ${ota} (on the device's Wi-Fi setup page, advanced options)${this.config.xiaozhi.require_pairing ? "; new devices show a code to enter in Hearth" : ""}`;
  }

  devices(): ToyStatus[] {
    return this.registry.list().map((d) => {
      const s = this.sessions.get(d.device);
      return {
        sn: d.device,
        frontEnd: FRONT_END,
        role: Number(this.roleOf(d.device)) || 1,
        connected: s !== undefined,
        lastSeen: Math.max(d.lastSeen, s?.lastSeen ?? 0),
        firmware: d.firmware,
        address: s?.address ?? d.ip,
      };
    });
  }

  /** The open session of a device (tests, the bench). */
  session(device: string): XiaozhiSession | undefined {
    return this.sessions.get(normalizeDeviceId(device) ?? device);
  }

  /** Recognition while the device streams, when pause detectors were given. */
  private listen(device: string): (() => Listening) | undefined {
    const pauses = this.deps.pauses;
    if (!pauses) return undefined;
    return () => {
      // The role's language steers recognizers that take a hint, as for a whole recording (turn.ts).
      const { role } = this.pipeline.turns.role({ frontEnd: FRONT_END, device, role: this.roleOf(device) });
      return new Listening({ stt: this.pipeline.engines.stt, detectors: pauses, sampleRate: LISTEN_RATE, language: role.language ?? undefined });
    };
  }

  /** The role key a device talks to: [xiaozhi] device_roles, else [xiaozhi] role. */
  roleOf(device: string): string {
    return this.deviceRoles[device] ?? this.config.xiaozhi.role;
  }

  // ---- the version check (OTA) ----------------------------------------------------------

  private async versionCheck(req: Request): Promise<Response> {
    const body = req.method === "POST" ? await req.text() : "";
    let ota;
    try {
      ota = parseOtaRequest(req.headers, body);
    } catch (e) {
      if (!(e instanceof OtaRequestError)) throw e;
      xiaozhiMetrics.countVersionCheck("refused");
      throw new BadRequest(e.message, "Device-Id");
    }
    const requirePairing = this.config.xiaozhi.require_pairing;
    const device = this.registry.seen(ota, requirePairing);
    const answer: OtaAnswer = { now: Date.now(), timezoneOffsetMinutes: localTimezoneOffsetMinutes(), firmwareVersion: ota.firmware };
    if (!device.approved) {
      const { code, challenge } = this.registry.pairingCode(device.device);
      answer.activation = { code, challenge, message: `Hearth ${code}`, timeoutMs: ACTIVATION_TIMEOUT_MS };
      xiaozhiMetrics.countVersionCheck("activation");
      log.info("a new device waits for approval: enter the code it shows in Hearth (POST /api/xiaozhi/activate)", { device: device.device, code, board: ota.board, firmware: ota.firmware });
    } else {
      const { url, why } = websocketUrl({ configured: this.config.xiaozhi.websocket_url, publicUrl: this.config.http.public_url, host: req.headers.get("host"), httpPort: this.deps.httpPort });
      answer.websocket = { url, token: device.token };
      this.registry.noteWebsocketUrl(device.device, url);
      xiaozhiMetrics.countVersionCheck("ok");
      log.info("device checked in: advertised its WebSocket", { device: device.device, board: ota.board, firmware: ota.firmware, websocket: url, because: why });
    }
    return Response.json(otaResponse(answer));
  }

  /** The firmware polls this while it shows its code: 202 = keep waiting, 200 = approved. */
  private activationPoll(req: Request): Response {
    const device = normalizeDeviceId(req.headers.get("device-id"));
    const known = device ? this.registry.get(device) : undefined;
    if (!known) throw new NotFound("unknown device: it must check in at /xiaozhi/ota/ first", "Device-Id", "unknown_device");
    if (known.approved || !this.config.xiaozhi.require_pairing) return Response.json({ status: "activated" });
    return Response.json({ status: "waiting for approval", code: known.code }, { status: 202 });
  }

  private async approve(req: Request): Promise<Response> {
    const { code } = await readJson(req, z.object({ code: z.string().regex(/^\d{6}$/, "the 6 digits the device shows") }));
    const device = this.registry.approveCode(code);
    if (!device) throw new NotFound(`no device is waiting with code ${code}`, "code", "unknown_code");
    log.info("device approved", { device: device.device });
    return Response.json({ approved: device.device });
  }

  private async callTool(req: Request & { params: Record<string, string> }): Promise<Response> {
    const device = normalizeDeviceId(req.params.device);
    const session = device ? this.sessions.get(device) : undefined;
    if (!session) throw new NotFound(`device ${req.params.device} is not connected`, "device", "device_not_connected");
    const body = await readJson(req, z.object({ arguments: z.record(z.string(), z.unknown()).default({}) }).loose());
    try {
      return Response.json(await session.callTool(req.params.name ?? "", body.arguments));
    } catch (e) {
      if (e instanceof McpError) throw new BadRequest(`the device's tool failed: ${e.message}`, "name", "tool_failed");
      throw e;
    }
  }

  /** Everything known about each device (the console's xiaozhi details, the API). */
  private details() {
    return this.registry.list().map((d) => {
      const s = this.sessions.get(d.device);
      return {
        device: d.device,
        approved: d.approved || !this.config.xiaozhi.require_pairing,
        // never the pairing code: it proves someone can see the device (docs/xiaozhi.md)
        // the role it talks to now: the one a parent chose in the console, else its configured one
        role: this.pipeline.turns.role({ frontEnd: FRONT_END, device: d.device, role: this.roleOf(d.device) }).key,
        board: d.board,
        firmware: d.firmware,
        websocketUrl: d.websocketUrl,
        connected: s !== undefined,
        protocol: s?.protocol,
        tools: s?.tools.map((t) => t.name) ?? [],
        firstSeen: d.firstSeen,
        lastSeen: Math.max(d.lastSeen, s?.lastSeen ?? 0),
      };
    });
  }

  // ---- the WebSocket ----------------------------------------------------------------------

  /** Checks the handshake (Device-Id, Protocol-Version, Bearer token); the connection's handlers. */
  private upgrade(req: Request): SocketHandlers {
    if (this.stopped) throw new NotReady("Hearth is shutting down");
    const device = normalizeDeviceId(req.headers.get("device-id"));
    if (!device) throw new BadRequest("a xiaozhi WebSocket needs a Device-Id header (the device's MAC)", "Device-Id");
    const protocol = parseProtocolVersion(req.headers.get("protocol-version") ?? "1");
    if (!protocol) throw new BadRequest(`Protocol-Version ${req.headers.get("protocol-version")} is not supported (1, 2 or 3)`, "Protocol-Version");
    const token = bearer(req.headers.get("authorization"));
    if (!this.registry.accepts(device, token, this.config.xiaozhi.require_pairing)) {
      const known = this.registry.get(device);
      const why = !known ? "it never checked in at /xiaozhi/ota/" : !known.approved && this.config.xiaozhi.require_pairing ? "it is not approved yet" : "its token is not the one Hearth gave it";
      log.warn("refused a device's WebSocket: restart the device so it checks in at its OTA URL again", { device, why });
      throw new Unauthorized(`refused: ${why}; restart the device so it checks in at ${OTA_PATH} again`);
    }
    const clientId = req.headers.get("client-id") ?? undefined;
    let session: XiaozhiSession | undefined;
    return {
      open: (socket) => {
        const old = this.sessions.get(device);
        if (old) {
          log.info("device opened a new WebSocket: closing its old one", { device });
          old.close(1000, "replaced by a newer connection");
        }
        session = new XiaozhiSession({
          device,
          clientId,
          protocol,
          socket,
          turns: this.pipeline.turns,
          detectors: this.deps.detectors,
          listen: this.listen(device),
          role: () => this.roleOf(device),
          settings: this.settings,
          changed: () => this.countConnected(),
          // a role with device_tools renders them in its prompt: warm that prompt again with them
          toolsListed: (tools) => void this.pipeline.warmer.warm({ frontEnd: FRONT_END, device, role: this.roleOf(device) }, { tools }),
        });
        this.sessions.set(device, session);
        this.countConnected();
        void this.pipeline.warmer.warm({ frontEnd: FRONT_END, device, role: this.roleOf(device) });
        log.debug("device WebSocket open", { device, from: socket.remoteAddress, protocol, clientId });
      },
      message: (_socket, data) => session?.onMessage(data),
      close: (_socket, code) => {
        if (!session) return;
        session.onClose();
        if (this.sessions.get(device) === session) this.sessions.delete(device);
        this.countConnected();
        log.info("device WebSocket closed", { device, code });
      },
    };
  }

  private countConnected() {
    let n = 0;
    for (const s of this.sessions.values()) if (s.phase !== "closed") n++;
    xiaozhiMetrics.setConnected(n);
  }
}

/** "Bearer <token>" (or the bare token) -> the token. */
function bearer(header: string | null): string | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  const m = value.match(/^bearer\s+(\S+)$/i);
  return m ? m[1] : value.includes(" ") ? undefined : value;
}
