// Issue 11, items 3 and 4, on the embedded broker alone (real sockets, no engines): no cross-toy
// reads, no impersonation, no wildcard subscribers, a generated integration password, and no
// way to make it buffer a huge packet or keep a connection that never logs in.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedBroker, integrationPassword, MAX_PACKET_AFTER_LOGIN, MAX_PACKET_BEFORE_LOGIN } from "../../../src/devices/folotoy/broker.ts";
import { topics } from "../../../src/devices/folotoy/mqtt.ts";
import { TokenStore } from "../../../src/devices/folotoy/tokens.ts";

const A = "e465b82b9ec8";
const B = "aabbccddee01";
const dir = mkdtempSync(join(tmpdir(), "hearth-broker-"));
const tokens = new TokenStore(join(dir, "tokens.json"));
const seen: { topic: string; payload: Buffer }[] = [];
const LOGIN_TIMEOUT_MS = 400;
let broker: EmbeddedBroker;
let url: string;
let password: string;

beforeAll(async () => {
  password = integrationPassword(join(dir, "mqtt-password"));
  broker = new EmbeddedBroker(
    {
      port: 0,
      host: "127.0.0.1",
      serverUsername: "folotoy",
      serverPassword: password,
      acceptUnknownToys: true,
      knownToys: {},
      checkToyKey: (sn, key) => tokens.checkKey(sn, key),
      maxConnections: 40,
      maxConnectionsPerAddress: 12,
      loginTimeoutMs: LOGIN_TIMEOUT_MS,
    },
    { message: (topic, payload) => seen.push({ topic, payload }) },
  );
  await broker.start();
  url = `mqtt://127.0.0.1:${broker.port}`;
});
afterAll(async () => {
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
});

function connect(opts: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...opts });
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", (e) => {
      client.end(true);
      reject(e);
    });
  });
}
const toy = (sn: string, key: string) => connect({ clientId: sn, username: sn, password: key });
const integration = (pw = password) => connect({ clientId: `ha${Math.random().toString(16).slice(2, 8)}`, username: "folotoy", password: pw });
const granted = (client: mqtt.MqttClient, topic: string) => client.subscribeAsync(topic, { qos: 1 }).then((g) => g.map((x) => x.qos), (e) => e.packet?.granted ?? [128]);
const collect = (client: mqtt.MqttClient) => {
  const got: string[] = [];
  client.on("message", (topic) => got.push(topic));
  return got;
};

function rawSocket(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(broker.port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}
const closed = (s: net.Socket) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once("close", () => resolve())));

describe("safe by default", () => {
  test("the integration password is generated, kept 0600 in the state folder, and required", async () => {
    const file = join(dir, "mqtt-password");
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(integrationPassword(file)).toBe(password); // kept across restarts
    await expect(integration("")).rejects.toThrow();
    await expect(integration("folotoy")).rejects.toThrow();
    const ok = await integration();
    await ok.endAsync();
    writeFileSync(join(dir, "empty-password"), "");
    expect(integrationPassword(join(dir, "empty-password")).length).toBeGreaterThanOrEqual(20); // a torn write is replaced
  });

  test("no cross-toy reads and no wildcards: a toy gets only its own commands", async () => {
    const a = await toy(A, "key-a");
    const b = await toy(B, "key-b");
    try {
      expect(await granted(a, topics.commandCall(A))).toEqual([1]);
      for (const topic of [topics.commandCall(B), "#", "/user/folotoy/+/thing/command/call", `/user/folotoy/${A}/#`, topics.sysEventPost(A), "$SYS/#"]) {
        expect([topic, await granted(a, topic)]).toEqual([topic, [128]]);
      }
      const gotA = collect(a);
      const gotB = collect(b);
      await granted(b, topics.commandCall(A)); // refused
      broker.publish(topics.commandCall(A), { msgId: 1, identifier: "updatetoken", inputParams: { token: "secret" } });
      await Bun.sleep(200);
      expect(gotA).toEqual([topics.commandCall(A)]);
      expect(gotB).toEqual([]);
    } finally {
      a.end(true);
      b.end(true);
    }
  });

  test("integrations see /sys/ topics only, without wildcards, and publish only what Hearth relays", async () => {
    const hub = await integration();
    try {
      for (const topic of ["#", "/sys/#", "/sys/folotoy/+/thing/event/post", topics.commandCall(A), topics.eventPost(A)]) {
        expect([topic, await granted(hub, topic)]).toEqual([topic, [128]]);
      }
      expect(await granted(hub, topics.sysEventPost(A))).toEqual([1]);
      expect(await granted(hub, topics.sysConfigAck)).toEqual([1]);
      const before = seen.length;
      await hub.publishAsync(topics.sysCommandCall(A), JSON.stringify({ msgId: 1, identifier: "iwantplay", inputParams: { url: "http://x/y.mp3" } }));
      await Bun.sleep(100);
      expect(seen.slice(before).map((m) => m.topic)).toEqual([topics.sysCommandCall(A)]);
      // a forged toy event from the integration is refused (aedes closes the connection)
      await hub.publishAsync(topics.eventPost(A), JSON.stringify({ msgId: 1, identifier: "login" })).catch(() => {});
      await Bun.sleep(100);
      expect(seen.slice(before).map((m) => m.topic)).toEqual([topics.sysCommandCall(A)]);
    } finally {
      hub.end(true);
    }
  });

  test("no impersonation: the SN with another key is refused and the real toy stays connected", async () => {
    const real = await toy(A, "key-a");
    const got = collect(real);
    await real.subscribeAsync(topics.commandCall(A), { qos: 1 });
    try {
      await expect(toy(A, "stolen-sn-wrong-key")).rejects.toThrow(/Bad username or password|Not authorized|bad user/i);
      await expect(toy(A, "")).rejects.toThrow();
      await Bun.sleep(100);
      expect(real.connected).toBe(true);
      broker.publish(topics.commandCall(A), { msgId: 2, identifier: "audioplay", inputParams: {} });
      await Bun.sleep(200);
      expect(got).toEqual([topics.commandCall(A)]);
      // after a reset (the toy was replaced) the next key is learned
      expect(tokens.resetKey(A)).toBe(true);
      const replaced = await toy(A, "new-board-key");
      replaced.end(true);
      await expect(toy(A, "key-a")).rejects.toThrow();
    } finally {
      real.end(true);
    }
  });
});

describe("packet sizes, login timeout, connection limits", () => {
  test("a huge packet before login: the connection is closed at its header, not buffered", async () => {
    for (const type of [0x10, 0x30]) {
      // CONNECT (or a PUBLISH before CONNECT) declaring 100 MB, then streaming it
      const s = await rawSocket();
      const done = closed(s);
      let written = 0;
      s.on("error", () => {});
      const header = Buffer.from([type, 0x80, 0xc2, 0xd7, 0x2f]); // 100,000,000 as MQTT varint
      s.write(header);
      const chunk = Buffer.alloc(64 * 1024);
      while (!s.destroyed && written < 100e6) {
        if (!s.write(chunk)) await Promise.race([new Promise((r) => s.once("drain", r)), done, Bun.sleep(200)]);
        written += chunk.length;
        if (written > 8e6) break;
      }
      await Promise.race([done, Bun.sleep(2000)]);
      expect(s.destroyed || s.readyState === "closed").toBe(true);
      expect(written).toBeLessThan(8e6); // closed long before: the broker never holds the packet
    }
    expect(MAX_PACKET_BEFORE_LOGIN).toBeLessThanOrEqual(4096);
  });

  test("after login: a packet over 64 kB closes the connection and never reaches Hearth; one under it does", async () => {
    const a = await toy(A, "new-board-key");
    const before = seen.length;
    await a.publishAsync(topics.eventPost(A), Buffer.alloc(MAX_PACKET_AFTER_LOGIN - 1000, 0x20));
    for (let i = 0; i < 50 && seen.length === before; i++) await Bun.sleep(20);
    const gone = new Promise<void>((resolve) => a.once("close", () => resolve()));
    a.publish(topics.eventPost(A), Buffer.alloc(1_000_000, 0x20));
    await Promise.race([gone, Bun.sleep(3000)]);
    expect(a.connected).toBe(false);
    await Bun.sleep(100);
    expect(seen.slice(before).map((m) => m.payload.length)).toEqual([MAX_PACKET_AFTER_LOGIN - 1000]);
    a.end(true);
  });

  test("a connection that never logs in is closed after the login timeout", async () => {
    const silent = await rawSocket();
    const partial = await rawSocket();
    partial.write(Buffer.from([0x10, 0x20, 0x00, 0x04])); // the start of a CONNECT, then nothing
    const started = performance.now();
    await Promise.all([closed(silent), closed(partial)]);
    expect(performance.now() - started).toBeLessThan(LOGIN_TIMEOUT_MS + 1500);
  });

  test("connections per address are capped; the ones already open are kept", async () => {
    const open: net.Socket[] = [];
    try {
      for (let i = 0; i < 12; i++) open.push(await rawSocket());
      const extra = await rawSocket();
      await Promise.race([closed(extra), Bun.sleep(1000)]);
      expect(extra.destroyed || extra.readyState === "closed").toBe(true);
      expect(open.every((s) => !s.destroyed)).toBe(true);
      expect(broker.connectionCount).toBe(12);
    } finally {
      for (const s of open) s.destroy();
    }
    await Bun.sleep(100);
    expect(broker.connectionCount).toBe(0);
    const again = await toy(B, "key-b"); // room again
    again.end(true);
  });
});
