// The MQTT side of the toy layer: an embedded aedes broker (default) or a connection to an
// external one (Mosquitto). Both deliver the same messages to the same handler.
import { Aedes, type AuthenticateError, type Client } from "aedes";
import mqtt, { Store, type MqttClient } from "mqtt";
import net from "node:net";
import { hostname } from "node:os";
import { logger } from "../../log.ts";
import { SERVER_SUBSCRIPTIONS, SN_PATTERN } from "./mqtt.ts";

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
  /** [mqtt] username/password: integrations (Home Assistant, ...) log in with these. */
  serverUsername: string;
  serverPassword: string;
  acceptUnknownToys: boolean;
  knownToys: Record<string, string>;
}

/**
 * aedes on a TCP port. Toys log in with client id = username = SN and their key; integrations
 * with [mqtt] username/password. A toy may publish only its own /user/folotoy/{sn}/ topics
 * and subscribe only to its own topics.
 */
export class EmbeddedBroker implements Broker {
  readonly kind = "embedded";
  private aedes?: Aedes;
  private server?: net.Server;
  private readonly integrations = new WeakSet<Client>();
  /** The port actually bound (when asked for port 0). */
  port = 0;

  constructor(
    private readonly opts: EmbeddedOptions,
    private readonly handlers: BrokerHandlers,
  ) {}

  async start(): Promise<void> {
    const aedes = await Aedes.createBroker({
      authenticate: (client, username, password, done) => this.authenticate(client, username, password?.toString("utf8"), done),
      authorizePublish: (client, packet, done) => {
        if (!client || this.integrations.has(client)) return done(null);
        const own = new RegExp(`^/user/folotoy/${client.id}/thing/(event/post|data/post|command/callAck)$`);
        if (own.test(packet.topic)) return done(null);
        log.warn("toy tried to publish outside its own topics; refused", { sn: client.id, topic: packet.topic });
        done(new Error("not authorized"));
      },
      authorizeSubscribe: (client, sub, done) => {
        if (this.integrations.has(client)) return done(null, sub);
        if (sub.topic.startsWith(`/user/folotoy/${client.id}/`) || sub.topic.startsWith(`/sys/folotoy/${client.id}/`)) return done(null, sub);
        log.warn("toy tried to subscribe outside its own topics; refused", { sn: client.id, topic: sub.topic });
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
    const server = net.createServer(aedes.handle as any);
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

  private authenticate(client: Client, username: string | undefined, password: string | undefined, done: (e: AuthenticateError | null, ok: boolean | null) => void) {
    const refuse = (code: 2 | 4 | 5, why: string) => {
      log.warn(`MQTT login refused: ${why}`, { client: client.id, username });
      const e = new Error(why) as AuthenticateError;
      e.returnCode = code as AuthenticateError["returnCode"];
      done(e, false);
    };
    if (this.opts.serverUsername && username === this.opts.serverUsername) {
      if (this.opts.serverPassword && password !== this.opts.serverPassword) return refuse(4, "wrong password for the integration user");
      this.integrations.add(client);
      return done(null, true);
    }
    const sn = client.id;
    if (!SN_PATTERN.test(sn)) return refuse(2, "client id is not a toy SN (8-32 letters and digits)");
    if (username && username !== sn) log.warn("toy logs in with a username other than its client id; using the client id as SN", { sn, username });
    const key = this.opts.knownToys[sn];
    if (key !== undefined) {
      if (password !== key) return refuse(4, "wrong key for a known toy ([toy] known_toys)");
      return done(null, true);
    }
    if (!this.opts.acceptUnknownToys) return refuse(5, "unknown toy; add it to [toy] known_toys or set [mqtt] accept_unknown_toys = true");
    log.info("unknown toy accepted ([mqtt] accept_unknown_toys)", { sn });
    done(null, true);
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
