// The version check a xiaozhi device makes at every boot (main/ota.cc): POST (GET with no body)
// <ota_url> with headers Device-Id (its MAC), Client-Id (a UUID), Activation-Version, User-Agent
// (<board>/<version>), Accept-Language, and its system-info JSON as the body. It needs a 200 with
// JSON; it reads server_time, firmware {version, url}, websocket {url, token[, version]}, and an
// optional activation {message, code, challenge, timeout_ms}, after which it polls <ota_url>activate
// (202 = keep waiting, 200 = done).
import { normalizeDeviceId } from "./device-id.ts";

/** What a device says about itself in its version check. */
export interface OtaRequest {
  /** Normalized Device-Id (see device-id.ts). */
  device: string;
  /** The Device-Id header as sent. */
  deviceIdHeader: string;
  clientId?: string;
  /** "1", or "2" for a device with a serial number in efuse (it then sends Serial-Number). */
  activationVersion?: string;
  serialNumber?: string;
  userAgent?: string;
  language?: string;
  /** The firmware version (application.version, else the User-Agent's part after "/"). */
  firmware?: string;
  /** board.type (else the User-Agent's part before "/"). */
  board?: string;
  chip?: string;
  /** The device's own IP on its network, as it reports it (board.ip). */
  ip?: string;
}

/** The request is not a device's version check (no usable Device-Id). */
export class OtaRequestError extends Error {
  override name = "OtaRequestError";
}

/** Reads the headers and the system-info body (any JSON, or none). */
export function parseOtaRequest(headers: Headers, body: string): OtaRequest {
  const deviceIdHeader = headers.get("device-id") ?? "";
  const device = normalizeDeviceId(deviceIdHeader);
  if (!device) {
    throw new OtaRequestError(
      deviceIdHeader ? `Device-Id "${deviceIdHeader.slice(0, 80)}" is not a MAC address or a plain id` : "no Device-Id header: this URL is for xiaozhi-esp32 devices (their version check)",
    );
  }
  let info: any = {};
  if (body.trim()) {
    try {
      info = JSON.parse(body);
    } catch {
      info = {}; // the headers are enough; a broken body is not worth refusing a device for
    }
  }
  if (typeof info !== "object" || info === null) info = {};
  const userAgent = headers.get("user-agent") ?? undefined;
  const [uaBoard, uaVersion] = splitUserAgent(userAgent);
  const str = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);
  return {
    device,
    deviceIdHeader,
    clientId: str(headers.get("client-id")),
    activationVersion: str(headers.get("activation-version")),
    serialNumber: str(headers.get("serial-number")),
    userAgent,
    language: str(headers.get("accept-language")),
    firmware: str(info.application?.version) ?? uaVersion,
    board: str(info.board?.type) ?? uaBoard,
    chip: str(info.chip_model_name),
    ip: str(info.board?.ip),
  };
}

function splitUserAgent(ua: string | undefined): [string | undefined, string | undefined] {
  const m = ua?.match(/^([^/\s]+)\/(\S+)/);
  return m ? [m[1], m[2]] : [undefined, undefined];
}

export interface OtaAnswer {
  /** Epoch ms (the device sets its clock from it). */
  now: number;
  /** Minutes east of UTC the device should show. */
  timezoneOffsetMinutes: number;
  /** The device's own version: it flashes nothing. Omitted when unknown (the firmware parses it). */
  firmwareVersion?: string;
  websocket?: { url: string; token: string };
  activation?: { code: string; message: string; challenge: string; timeoutMs: number };
}

/** The JSON body of the 200. */
export function otaResponse(a: OtaAnswer): Record<string, unknown> {
  const out: Record<string, unknown> = { server_time: { timestamp: a.now, timezone_offset: a.timezoneOffsetMinutes } };
  // A version the firmware can compare without throwing: digits separated by dots, as it sent it.
  if (a.firmwareVersion && /^\d+(\.\d+)*([-+][\w.-]*)?$/.test(a.firmwareVersion)) out.firmware = { version: a.firmwareVersion, url: "" };
  if (a.websocket) out.websocket = { url: a.websocket.url, token: a.websocket.token };
  if (a.activation) out.activation = { message: a.activation.message, code: a.activation.code, challenge: a.activation.challenge, timeout_ms: a.activation.timeoutMs };
  return out;
}

/** Minutes east of UTC of this machine's local time, now. */
export function localTimezoneOffsetMinutes(at = new Date()): number {
  return -at.getTimezoneOffset();
}
