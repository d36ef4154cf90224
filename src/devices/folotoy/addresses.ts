// Which address a toy is told to use for UDP speech and reply downloads, and why that one.
import type { LoadedConfig } from "../../config/load.ts";
import { firstNonInternalIPv4, urlHost } from "./broker.ts";
import type { ToySession } from "./session.ts";

export interface AddressContext {
  config: LoadedConfig;
  /** The HTTP port actually bound (the config may say 0). */
  httpPort: number;
  brokerKind?: "embedded" | "external";
  /** The host last advertised to a toy, from tokens.json. */
  persistedHost(sn: string): string | undefined;
}

/** The host a toy can reach us at, and why that one. */
export function advertisedHost(ctx: AddressContext, s: ToySession): { host: string; why: string } {
  if (ctx.config.toy.advertise_host) return { host: ctx.config.toy.advertise_host, why: "[toy] advertise_host" };
  if (s.localAddress && s.localAddress !== "0.0.0.0" && s.localAddress !== "::") {
    return { host: s.localAddress, why: "the local address of the toy's MQTT connection" };
  }
  const persisted = ctx.brokerKind === "embedded" ? ctx.persistedHost(s.sn) : undefined;
  if (persisted) return { host: persisted, why: "the address last advertised to this toy" };
  const ip = firstNonInternalIPv4();
  if (ip) return { host: ip, why: "the first non-internal IPv4 address of this machine (set [toy] advertise_host if toys cannot reach it)" };
  return { host: "127.0.0.1", why: "no network interface found (set [toy] advertise_host)" };
}

/** Base URL the toy downloads reply MP3s from. */
export function audioBase(ctx: AddressContext, s: ToySession): string {
  const pub = ctx.config.http.public_url;
  if (pub) return pub.replace(/\/+$/, "");
  return `http://${urlHost(advertisedHost(ctx, s).host)}:${ctx.httpPort}`;
}
