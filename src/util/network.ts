// Addresses of this machine, as a device on the LAN or a person's browser reaches it.
import { networkInterfaces } from "node:os";

/** "::ffff:192.168.1.2" -> "192.168.1.2". */
export function plainAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/** The first IPv4 address of this machine that is not loopback, or undefined. */
export function firstNonInternalIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return undefined;
}

/** An address as the host part of a URL ("[fe80::1]" for IPv6). */
export function urlHost(address: string): string {
  return address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
}

/** The host people and devices on the LAN use for a server bound to `bindHost` (never 0.0.0.0). */
export function lanHost(bindHost: string): string {
  if (bindHost === "0.0.0.0" || bindHost === "::" || bindHost === "") return firstNonInternalIPv4() ?? "localhost";
  return bindHost;
}
