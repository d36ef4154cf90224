// Which WebSocket URL a device is told to use (the OTA reply's websocket.url), and why that one.
import { firstNonInternalIPv4, urlHost } from "../../util/network.ts";

/** Where devices open their WebSocket, on the HTTP port. */
export const WEBSOCKET_PATH = "/xiaozhi/v1/";

export interface WebsocketUrlContext {
  /** [xiaozhi] websocket_url: wins when set. */
  configured: string;
  /** [http] public_url. */
  publicUrl: string;
  /** The Host header of the device's version check: the address it reached Hearth on. */
  host: string | null;
  /** The HTTP port actually bound. */
  httpPort: number;
}

/** The URL for a device, and the reason it was chosen (logged with it). */
export function websocketUrl(ctx: WebsocketUrlContext): { url: string; why: string } {
  if (ctx.configured) return { url: ctx.configured, why: "[xiaozhi] websocket_url" };
  const host = ctx.host?.trim();
  if (host && /^[\w.\-:[\]]+$/.test(host)) {
    return { url: `ws://${host}${WEBSOCKET_PATH}`, why: "the address the device reached the OTA URL on (its Host header)" };
  }
  if (ctx.publicUrl) {
    const base = ctx.publicUrl.replace(/^http/, "ws").replace(/\/+$/, "");
    return { url: `${base}${WEBSOCKET_PATH}`, why: "[http] public_url (the device sent no usable Host header)" };
  }
  const ip = firstNonInternalIPv4();
  if (ip) {
    return { url: `ws://${urlHost(ip)}:${ctx.httpPort}${WEBSOCKET_PATH}`, why: "the first non-internal IPv4 address of this machine (no Host header; set [xiaozhi] websocket_url if devices cannot reach it)" };
  }
  return { url: `ws://127.0.0.1:${ctx.httpPort}${WEBSOCKET_PATH}`, why: "no network interface found (set [xiaozhi] websocket_url)" };
}
