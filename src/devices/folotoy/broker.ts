// The MQTT side of the toy layer: an embedded aedes broker (default) or a connection to an
// external one (Mosquitto). Both deliver the same messages to the same handler.
import { Aedes, type AuthenticateError, type Client } from "aedes";
import mqtt, { Store, type MqttClient } from "mqtt";
import { timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import { hostname } from "node:os";
import { logger } from "../../log.ts";
import { removeStaleTemporaries, writeFileDurable } from "../../util/durable.ts";
import { SERVER_SUBSCRIPTIONS, SN_PATTERN, topics } from "./mqtt.ts";
import type { KeyCheck } from "./tokens.ts";

const log = logger("toy");

export interface BrokerHandlers {
  message(topic: string, payload: Buffer): void;
  /** A toy's MQTT connection is up (embedded broker only: an external broker does not tell). */
  toyConnected?(conn: { sn: string; localAddress?: string; remoteAddress?: string }): void;
  toyDisconnected?(sn: string): void;
}

export interface Broker {
  readonly kind: "embedded" | "external";
  start(): Promise<void>;
  /** JSON-encodes and publishes (QoS 1 towards the broker; the toy gets what it subscribed with). */
  publish(topic: string, payload: unknown): void;
  health(): { ok: boolean; reason?: string };
  stop(): Promise<void>;
}

import { plainAddress } from "../../util/network.ts";
export { firstNonInternalIPv4, plainAddress, urlHost } from "../../util/network.ts";

export interface EmbeddedOptions {
  port: number;
  host?: string;
  /** [mqtt] username/password: integrations (Home Assistant, ...) log in with these. An empty password lets no integration in. */
  serverUsername: string;
  serverPassword: string;
  acceptUnknownToys: boolean;
  /** [toy] known_toys: SN -> the key it must log in with. */
  knownToys: Record<string, string>;
  /**
   * Any other toy's key, checked against the one it first logged in with (trust on first use,
   * TokenStore.checkKey). Without it, such toys get in with any key.
   */
  checkToyKey?(sn: string, key: string): KeyCheck;
  /** [mqtt] max_connections and max_connections_per_address. */
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  /** Default LOGIN_TIMEOUT_MS (tests shorten it). */
  loginTimeoutMs?: number;
}

/** MQTT packets larger than this are refused before a client has logged in (CONNECT with a long key fits easily). */
export const MAX_PACKET_BEFORE_LOGIN = 4 * 1024;
/** ... and after (a toy's JSON is a few hundred bytes; an integration's text to speak a few kB). */
export const MAX_PACKET_AFTER_LOGIN = 64 * 1024;
/** A connection that has not logged in within this long is closed. */
export const LOGIN_TIMEOUT_MS = 10_000;

/** The generated integration password, `<state dir>/mqtt-password` (0600), made on first use. */
export function integrationPassword(file: string): string {
  removeStaleTemporaries(file);
  if (existsSync(file)) {
    const kept = readFileSync(file, "utf8").trim();
    if (kept) return kept;
    log.warn("the MQTT password file is empty (a write cut short?): making a new one", { file });
  }
  const password = Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64url");
  writeFileDurable(file, password + "\n", { mode: 0o600 });
  log.info("generated the password integrations use on the embedded MQTT broker", { file });
  return password;
}

const TOY_PUBLISH = (sn: string) => [topics.eventPost(sn), topics.dataPost(sn), topics.commandCallAck(sn)];
const SYS_CALL = /^\/sys\/folotoy\/([^/]+)\/thing\/command\/call$/;

/**
 * aedes on a TCP port, safe by default:
 * - toys log in with client id = username = SN and their key: a key in [toy] known_toys, or
 *   the key they first logged in with (trust on first use); a wrong key is refused and logged;
 * - integrations log in with [mqtt] username/password (generated when not set);
 * - a toy publishes only on its own /user/folotoy/{sn}/ topics and subscribes only to its own
 *   command topic; integrations publish /sys/folotoy/{sn}/thing/command/call and /sys/config and
 *   subscribe to /sys/ topics; no client subscribes with a wildcard (only Hearth itself does);
 * - packets are capped in size before and after login, a connection must log in within
 *   LOGIN_TIMEOUT_MS, and connections are limited in all and per address.
 */
export class EmbeddedBroker implements Broker {
  readonly kind = "embedded";
  private aedes?: Aedes;
  private server?: net.Server;
  private readonly integrations = new WeakSet<Client>();
  /** Sockets whose client has logged in (their packets may be larger). */
  private readonly loggedIn = new WeakSet<object>();
  private connections = 0;
  private readonly perAddress = new Map<string, number>();
  /** The port actually bound (when asked for port 0). */
  port = 0;

  constructor(
    private readonly opts: EmbeddedOptions,
    private readonly handlers: BrokerHandlers,
  ) {}

  async start(): Promise<void> {
    const aedes = await Aedes.createBroker({
      connectTimeout: this.opts.loginTimeoutMs ?? LOGIN_TIMEOUT_MS,
      authenticate: (client, username, password, done) => this.authenticate(client, username, password?.toString("utf8"), done),
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null); // Hearth itself
        const integration = this.integrations.has(client);
        if (integration ? packet.topic === topics.sysConfig || SYS_CALL.test(packet.topic) : TOY_PUBLISH(client.id).includes(packet.topic)) return done(null);
        log.warn(`${integration ? "integration" : "toy"} tried to publish on a topic it may not use; refused`, { client: client.id, topic: packet.topic });
        done(new Error("not authorized"));
      },
      authorizeSubscribe: (client, sub, done) => {
        const integration = this.integrations.has(client);
        const wildcard = /[+#]/.test(sub.topic);
        if (!wildcard && (integration ? sub.topic.startsWith("/sys/") : sub.topic === topics.commandCall(client.id))) return done(null, sub);
        log.warn(`${integration ? "integration" : "toy"} tried to subscribe to ${wildcard ? "a wildcard" : "a topic it may not read"}; refused`, { client: client.id, topic: sub.topic });
        done(null, null);
      },
    });
    aedes.on("clientReady", (client) => {
      if (this.integrations.has(client)) return log.info("integration connected to the embedded broker", { client: client.id });
      const socket = client.conn as net.Socket;
      this.handlers.toyConnected?.({ sn: client.id, localAddress: plainAddress(socket.localAddress), remoteAddress: plainAddress(socket.remoteAddress) });
    });
    aedes.on("clientDisconnect", (client) => {
      if (!this.integrations.has(client)) this.handlers.toyDisconnected?.(client.id);
    });
    aedes.on("clientError", (client, e) => log.debug("MQTT client error", { client: client?.id, error: e.message }));
    aedes.on("connectionError", (_client, e) => log.debug("MQTT connection error", { error: e.message }));
    for (const topic of SERVER_SUBSCRIPTIONS) {
      await new Promise<void>((resolve) =>
        aedes.subscribe(
          topic,
          (packet, cb) => {
            try {
              this.handlers.message(packet.topic, packet.payload as Buffer);
            } finally {
              cb();
            }
          },
          resolve,
        ),
      );
    }
    this.aedes = aedes;
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) =>
        reject(
          e.code === "EADDRINUSE"
            ? new Error(`MQTT port ${this.opts.port} is already in use (by Mosquitto?): set [mqtt] url to use that broker, or another [mqtt] port`)
            : e,
        ),
      );
      server.listen(this.opts.port, this.opts.host ?? "0.0.0.0", () => {
        server.removeAllListeners("error");
        resolve();
      });
    });
    server.on("error", (e) => log.error("embedded MQTT broker error", { error: e.message }));
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    log.info("embedded MQTT broker listening", { port: this.port });
  }

  /** A new TCP connection: counted (and refused over the limits), its packets size-checked, then handed to aedes. */
  private accept(socket: net.Socket) {
    const address = plainAddress(socket.remoteAddress) ?? "unknown";
    const fromAddress = this.perAddress.get(address) ?? 0;
    const maxAll = this.opts.maxConnections ?? Infinity;
    const maxPer = this.opts.maxConnectionsPerAddress ?? Infinity;
    if (this.connections >= maxAll || fromAddress >= maxPer) {
      const which = this.connections >= maxAll ? `[mqtt] max_connections (${maxAll})` : `[mqtt] max_connections_per_address (${maxPer})`;
      log.warn(`MQTT connection refused: ${which} reached`, { from: address });
      socket.destroy();
      return;
    }
    this.connections++;
    this.perAddress.set(address, fromAddress + 1);
    socket.once("close", () => {
      this.connections--;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    });
    socket.on("error", () => {}); // aedes reports its own; a reset before it attached must not throw
    guardPacketSizes(socket, () => (this.loggedIn.has(socket) ? MAX_PACKET_AFTER_LOGIN : MAX_PACKET_BEFORE_LOGIN), (size, cap) => {
      log.warn("MQTT packet over the size cap; connection closed", { from: address, bytes: size, cap, loggedIn: this.loggedIn.has(socket) });
    });
    this.aedes?.handle(socket as any);
  }

  private authenticate(client: Client, username: string | undefined, password: string | undefined, done: (e: AuthenticateError | null, ok: boolean | null) => void) {
    const refuse = (code: 2 | 3 | 4 | 5, why: string, fields: Record<string, unknown> = {}) => {
      log.warn(`MQTT login refused: ${why}`, { client: client.id, username, ...fields });
      const e = new Error(why) as AuthenticateError;
      e.returnCode = code as AuthenticateError["returnCode"];
      done(e, false);
    };
    const accept = () => {
      this.loggedIn.add(client.conn);
      done(null, true);
    };
    if (this.opts.serverUsername && username === this.opts.serverUsername) {
      if (!this.opts.serverPassword || !sameText(password ?? "", this.opts.serverPassword)) return refuse(4, "wrong password for the integration user");
      this.integrations.add(client);
      return accept();
    }
    const sn = client.id;
    if (!SN_PATTERN.test(sn)) return refuse(2, "client id is not a toy SN (8-32 letters and digits)");
    if (username && username !== sn) log.warn("toy logs in with a username other than its client id; using the client id as SN", { sn, username });
    const key = this.opts.knownToys[sn];
    if (key !== undefined) {
      if (!sameText(password ?? "", key)) return refuse(4, "wrong key for a known toy ([toy] known_toys)");
      return accept();
    }
    if (!this.opts.acceptUnknownToys) return refuse(5, "unknown toy; add it to [toy] known_toys or set [mqtt] accept_unknown_toys = true");
    switch (this.opts.checkToyKey?.(sn, password ?? "") ?? "match") {
      case "wrong":
        return refuse(4, "a known toy's SN arrived with a key other than the one it first logged in with (someone posing as it?). If the toy was reset or replaced, reset its key in the console or with DELETE /api/devices/folotoy/<sn>/key", { sn, from: plainAddress((client.conn as net.Socket).remoteAddress) });
      case "full":
        return refuse(3, "no room for another toy in tokens.json ([toy] max_toys)", { sn });
      case "learned":
        if (!password) log.warn("toy logs in without a key: anyone who knows its SN could log in as it", { sn });
        log.info("new toy: its key is remembered and required from now on (trust on first use)", { sn });
    }
    accept();
  }

  /** Connections open now (after the limits). */
  get connectionCount(): number {
    return this.connections;
  }

  publish(topic: string, payload: unknown): void {
    this.aedes?.publish({ cmd: "publish", topic, payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: false, dup: false } as any, (e) => {
      if (e) log.warn("publish failed", { topic, error: e.message });
    });
  }

  health() {
    return this.server?.listening ? { ok: true } : { ok: false, reason: "embedded MQTT broker is not listening" };
  }

  async stop(): Promise<void> {
    // aedes first: it closes the clients' connections, which server.close() would wait for
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    const aedes = this.aedes;
    this.aedes = undefined;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await closed;
  }
}

export interface ExternalOptions {
  url: string;
  username: string;
  password: string;
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/**
 * A client of an external broker. Reconnects with exponential backoff; while away, commands
 * are queued (their stores survive reconnects) and go out on reconnect; subscriptions are
 * made again on every connect. A persistent session (clean: false, a stable client id) lets
 * the broker keep toys' messages for us meanwhile.
 */
export class ExternalBroker implements Broker {
  readonly kind = "external";
  private client?: MqttClient;
  private readonly incomingStore = new Store();
  private readonly outgoingStore = new Store();
  private backoff = BACKOFF_MIN_MS;
  private retry?: ReturnType<typeof setTimeout>;
  private stopping = false;
  private downSince?: number;
  private lastError?: string;
  private queuedWhileDown = 0;

  constructor(
    private readonly opts: ExternalOptions,
    private readonly handlers: BrokerHandlers,
  ) {}

  /** Connects; resolves on the first connection, or after `waitMs` (then keeps trying in the background). */
  async start(waitMs = 5000): Promise<void> {
    const clientId = `hearth-${hostname().replace(/[^0-9A-Za-z_-]/g, "").slice(0, 40) || "server"}`;
    const client = mqtt.connect(this.opts.url, {
      clientId,
      username: this.opts.username || undefined,
      password: this.opts.password || undefined,
      clean: false,
      reconnectPeriod: 0, // our own backoff below
      connectTimeout: 10_000,
      resubscribe: false, // we subscribe on every connect
      queueQoSZero: true,
      incomingStore: this.incomingStore,
      outgoingStore: this.outgoingStore,
    });
    this.client = client;
    this.downSince = Date.now();
    client.on("connect", (connack) => {
      const wasDown = this.downSince ? Date.now() - this.downSince : 0;
      this.downSince = undefined;
      this.backoff = BACKOFF_MIN_MS;
      log.info("connected to the MQTT broker", { url: this.opts.url, clientId, sessionPresent: connack.sessionPresent, downMs: wasDown, queuedSent: this.queuedWhileDown });
      this.queuedWhileDown = 0;
      client.subscribe(
        SERVER_SUBSCRIPTIONS.map((t) => t),
        { qos: 1 },
        (e) => (e ? log.error("MQTT subscribe failed", { error: e.message }) : log.debug("subscribed", { topics: SERVER_SUBSCRIPTIONS.length })),
      );
    });
    client.on("message", (topic, payload) => this.handlers.message(topic, payload));
    client.on("error", (e) => {
      this.lastError = e.message;
      log.debug("MQTT client error", { error: e.message });
    });
    client.on("close", () => this.scheduleReconnect());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        log.warn("MQTT broker not reachable yet; starting anyway and retrying in the background", { url: this.opts.url, error: this.lastError });
        resolve();
      }, waitMs);
      client.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private scheduleReconnect() {
    if (this.stopping || this.retry) return;
    this.downSince ??= Date.now();
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    log.warn("MQTT broker connection lost; reconnecting", { url: this.opts.url, inMs: delay, error: this.lastError });
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.stopping || !this.client || this.client.connected) return;
      // the same stores: messages published while away are sent after reconnecting
      this.client.reconnect({ incomingStore: this.incomingStore, outgoingStore: this.outgoingStore });
    }, delay);
  }

  publish(topic: string, payload: unknown): void {
    const client = this.client;
    if (!client) return;
    if (!client.connected) {
      // said once per outage; the reconnect log line tells how many went out afterwards
      if (this.queuedWhileDown++ === 0) log.warn("MQTT broker unreachable: commands are queued until it is back", { topic });
      else log.debug("queued while the MQTT broker is unreachable", { topic });
    }
    client.publish(topic, JSON.stringify(payload), { qos: 1 }, (e) => {
      if (e) log.debug("publish not confirmed yet", { topic, error: e.message });
    });
  }

  health() {
    if (this.client?.connected) return { ok: true };
    const since = this.downSince ? ` for ${Math.round((Date.now() - this.downSince) / 1000)} s` : "";
    return { ok: false, reason: `MQTT broker ${this.opts.url} unreachable${since}${this.lastError ? ` (${this.lastError})` : ""}` };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // give queued commands a moment to go out, then close regardless
    await Promise.race([new Promise<void>((resolve) => client.end(false, {}, () => resolve())), Bun.sleep(2000)]);
    if (!client.disconnected) await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
  }
}

/** Equal strings, compared in constant time. */
function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given, "utf8");
  const b = Buffer.from(expected, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Watches the MQTT framing of what aedes reads from `socket` (it reads with socket.read(), which
 * is wrapped here) and closes the connection at the first packet whose declared length is over
 * `cap()`: a client can never make the broker buffer a huge packet, before login or after.
 */
export function guardPacketSizes(socket: net.Socket, cap: () => number, onRefused: (size: number, cap: number) => void) {
  let skip = 0; // body bytes of the current packet still to come
  let header: number[] = []; // fixed header of the next packet: type byte, then the length bytes
  const read = socket.read.bind(socket);
  socket.read = ((size?: number) => {
    const chunk = read(size) as Buffer | null;
    if (!chunk || socket.destroyed) return chunk;
    for (let at = 0; at < chunk.length; ) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - at);
        skip -= n;
        at += n;
        continue;
      }
      header.push(chunk[at++]!);
      const last = header[header.length - 1]!;
      if (header.length === 1 || (last & 0x80 && header.length < 5)) continue; // the type byte, or more length bytes follow
      let length = 0;
      for (let i = header.length - 1; i >= 1; i--) length = length * 128 + (header[i]! & 0x7f);
      header = [];
      const max = cap();
      if (last & 0x80 || length > max) {
        onRefused(length, max);
        socket.destroy();
        return null;
      }
      skip = length;
    }
    return chunk;
  }) as typeof socket.read;
}
