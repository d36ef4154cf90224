// xiaozhi.json in [state] dir: every device that made a version check, with the token its
// WebSocket must carry and, with [xiaozhi] require_pairing, whether a parent approved it. Written
// durably when something a restart must keep changes, so restarting Hearth never strands a device.
import { randomBytes, randomInt } from "node:crypto";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { logger } from "../../log.ts";
import { writeFileDurable } from "../../util/durable.ts";
import type { OtaRequest } from "./ota.ts";

const log = logger("xiaozhi");

/** Devices remembered; past this, the one not seen for longest makes room. */
const MAX_DEVICES = 256;

export interface KnownDevice {
  /** Normalized Device-Id (12 hex digits for a MAC). */
  device: string;
  /** 32 lowercase hex digits: the WebSocket's Bearer token. */
  token: string;
  /** Allowed to talk (always true once [xiaozhi] require_pairing is off). */
  approved: boolean;
  /** While waiting for approval: the 6 digits it shows and says, and the challenge it echoes. */
  code?: string;
  challenge?: string;
  clientId?: string;
  firmware?: string;
  board?: string;
  /** What the device reported as its own IP. */
  ip?: string;
  /** The WebSocket URL last given to it, and why that one. */
  websocketUrl?: string;
  firstSeen: number;
  lastSeen: number;
}

export class DeviceRegistry {
  private devices: Record<string, KnownDevice> = {};

  constructor(readonly file: string) {}

  load(): void {
    if (!existsSync(this.file)) return;
    try {
      const data = JSON.parse(readFileSync(this.file, "utf8"));
      if (typeof data?.devices !== "object" || data.devices === null) throw new Error('no "devices" object');
      for (const [id, d] of Object.entries(data.devices as Record<string, KnownDevice>)) {
        if (typeof d?.token !== "string" || !/^[0-9a-f]{32}$/.test(d.token)) continue;
        this.devices[id] = { ...d, device: id, approved: d.approved === true };
      }
      log.info("xiaozhi devices loaded", { file: this.file, devices: Object.keys(this.devices).length });
    } catch (e) {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      log.error("xiaozhi devices file is unreadable; starting without it (devices get new tokens at their next boot)", { file: this.file, error: (e as Error).message, movedTo: aside });
      try {
        renameSync(this.file, aside);
      } catch {}
    }
  }

  get(device: string): KnownDevice | undefined {
    return this.devices[device];
  }

  list(): KnownDevice[] {
    return Object.values(this.devices).sort((a, b) => a.device.localeCompare(b.device));
  }

  /** Records a version check: a new device gets a token (approved at once unless pairing is required). */
  seen(req: OtaRequest, requirePairing: boolean): KnownDevice {
    const now = Date.now();
    let d = this.devices[req.device];
    let changed = false;
    if (!d) {
      this.makeRoom(requirePairing);
      d = { device: req.device, token: randomBytes(16).toString("hex"), approved: !requirePairing, firstSeen: now, lastSeen: now };
      this.devices[req.device] = d;
      changed = true;
    }
    if (!requirePairing && !d.approved) {
      d.approved = true;
      changed = true;
    }
    for (const [k, v] of [
      ["clientId", req.clientId],
      ["firmware", req.firmware],
      ["board", req.board],
      ["ip", req.ip],
    ] as const) {
      if (v !== undefined && d[k] !== v) {
        d[k] = v;
        changed = true;
      }
    }
    d.lastSeen = now;
    if (changed) this.save();
    return d;
  }

  /** Keeps the file bounded (anything can claim a new Device-Id): with pairing on, devices waiting for approval go first. */
  private makeRoom(requirePairing: boolean) {
    const all = Object.values(this.devices);
    if (all.length < MAX_DEVICES) return;
    const candidates = all.filter((d) => !(requirePairing && d.approved)).sort((a, b) => a.lastSeen - b.lastSeen);
    const oldest = candidates[0] ?? all.sort((a, b) => a.lastSeen - b.lastSeen)[0]!;
    delete this.devices[oldest.device];
    log.warn("too many xiaozhi devices remembered: forgot the one not seen for longest (it gets a new token at its next check-in)", { device: oldest.device, max: MAX_DEVICES });
  }

  /** The device's pairing code (and challenge), made the first time it is asked for. */
  pairingCode(device: string): { code: string; challenge: string } {
    const d = this.devices[device];
    if (!d) throw new Error(`unknown device ${device}`);
    if (!d.code || !d.challenge) {
      const taken = new Set(Object.values(this.devices).map((x) => x.code));
      let code: string;
      do code = String(randomInt(0, 1_000_000)).padStart(6, "0");
      while (taken.has(code));
      d.code = code;
      d.challenge = randomBytes(16).toString("hex");
      this.save();
    }
    return { code: d.code, challenge: d.challenge! };
  }

  /** A parent typed the code the device showed: that device may talk. */
  approveCode(code: string): KnownDevice | undefined {
    const d = Object.values(this.devices).find((x) => !x.approved && x.code === code.trim());
    if (!d) return undefined;
    d.approved = true;
    d.code = undefined;
    d.challenge = undefined;
    this.save();
    return d;
  }

  /** The device may open a WebSocket with this token. */
  accepts(device: string, token: string | undefined, requirePairing: boolean): boolean {
    const d = this.devices[device];
    if (!d || !token || d.token !== token) return false;
    return d.approved || !requirePairing;
  }

  /** Remembers the WebSocket URL given to a device (for the log and the device list). */
  noteWebsocketUrl(device: string, url: string) {
    const d = this.devices[device];
    if (!d || d.websocketUrl === url) return;
    d.websocketUrl = url;
    this.save();
  }

  private save() {
    try {
      writeFileDurable(this.file, JSON.stringify({ version: 1, devices: this.devices }, null, 2) + "\n");
    } catch (e) {
      log.error("cannot write the xiaozhi devices file: a restart will make devices re-check in", { file: this.file, error: (e as Error).message });
    }
  }
}
