// The MQTT transports on their own (no engines): the embedded aedes broker's toy auth and ACL,
// and the external-broker client's queueing and resubscription across a Mosquitto restart.
import { afterAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import dgram from "node:dgram";
import net from "node:net";
import { EmbeddedBroker, ExternalBroker, plainAddress, urlHost } from "../../../src/devices/folotoy/broker.ts";
import { topics } from "../../../src/devices/folotoy/mqtt.ts";
import { RecordingAssembler, UdpSpeechServer } from "../../../src/devices/folotoy/udp.ts";
import { startMosquitto, waitFor } from "./helpers.ts";

const SN = "e465b82b9ec8";

function connect(url: string, opts: mqtt.IClientOptions, onMessage?: (topic: string, body: any) => void) {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...opts });
  // attached before CONNACK: a resumed session's queued messages follow it immediately
  if (onMessage) client.on("message", (topic, payload) => onMessage(topic, JSON.parse(payload.toString())));
  return new Promise<mqtt.MqttClient>((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", (e) => {
      client.end(true);
      reject(e);
    });
  });
}

describe("embedded broker", () => {
  const got: { topic: string; body: any }[] = [];
  const connected: { sn: string; localAddress?: string; remoteAddress?: string }[] = [];
  const broker = new EmbeddedBroker(
    { port: 0, host: "127.0.0.1", serverUsername: "folotoy", serverPassword: "hub-secret", acceptUnknownToys: false, knownToys: { [SN]: "toy-key" } },
    {
      message: (topic, payload) => got.push({ topic, body: JSON.parse(payload.toString()) }),
      toyConnected: (c) => connected.push(c),
    },
  );
  afterAll(() => broker.stop());

  test("a known toy logs in with SN/key; the server sees its messages and the address it came in on", async () => {
    await broker.start();
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const toy = await connect(url, { clientId: SN, username: SN, password: "toy-key" });
    await waitFor(() => connected.length === 1);
    expect(connected).toEqual([{ sn: SN, localAddress: "127.0.0.1", remoteAddress: "127.0.0.1" }]);
    await toy.subscribeAsync(topics.commandCall(SN), { qos: 1 });
    const commands: any[] = [];
    toy.on("message", (_t, p) => commands.push(JSON.parse(p.toString())));
    await toy.publishAsync(topics.eventPost(SN), JSON.stringify({ msgId: 1, identifier: "login", outParams: { role: 1 } }));
    await waitFor(() => got.length === 1);
    expect(got[0]).toEqual({ topic: topics.eventPost(SN), body: { msgId: 1, identifier: "login", outParams: { role: 1 } } });
    broker.publish(topics.commandCall(SN), { msgId: 1, identifier: "updatetoken", inputParams: { token: "ab" } });
    await waitFor(() => commands.length === 1);
    expect(commands[0].identifier).toBe("updatetoken");
    await toy.endAsync();
  });

  test("wrong key, unknown toy, bad client id and wrong integration password are refused", async () => {
    const url = `mqtt://127.0.0.1:${broker.port}`;
    await expect(connect(url, { clientId: SN, username: SN, password: "wrong" })).rejects.toThrow();
    await expect(connect(url, { clientId: "aabbccddeeff", username: "aabbccddeeff", password: "" })).rejects.toThrow();
    await expect(connect(url, { clientId: "bad id!", username: "bad id!" })).rejects.toThrow();
    await expect(connect(url, { clientId: "ha", username: "folotoy", password: "nope" })).rejects.toThrow();
    const hub = await connect(url, { clientId: "ha", username: "folotoy", password: "hub-secret" });
    await hub.endAsync();
  });

  test("a toy may publish and subscribe only on its own topics; integrations anywhere", async () => {
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const toy = await connect(url, { clientId: SN, username: SN, password: "toy-key" });
    const refused = await toy.subscribeAsync(topics.commandCall("aabbccddeeff"), { qos: 0 }).catch((e) => e.packet?.granted);
    expect(refused).toEqual([128]);
    const before = got.length;
    // aedes closes the connection of a client whose publish is refused
    await toy.publishAsync(topics.eventPost("aabbccddeeff"), JSON.stringify({ msgId: 1, identifier: "login" })).catch(() => {});
    await Bun.sleep(100);
    expect(got.length).toBe(before);
    toy.end(true);
    const hub = await connect(url, { clientId: "ha", username: "folotoy", password: "hub-secret" });
    await hub.publishAsync(topics.sysCommandCall(SN), JSON.stringify({ msgId: 5, identifier: "iwantplay", inputParams: { url: "http://x/y.mp3" } }));
    await hub.publishAsync("/sys/config", JSON.stringify({ identifier: "load_roles_config" }));
    await waitFor(() => got.length === before + 2);
    await hub.endAsync();
  });
});

describe("external broker", () => {
  test("while Mosquitto is down commands are queued and delivered after reconnect; subscriptions come back", async () => {
    const mosq = await startMosquitto({ persistence: true });
    const received: string[] = [];
    const broker = new ExternalBroker({ url: mosq.url, username: "", password: "" }, { message: (topic) => received.push(topic) });
    try {
      await broker.start();
      expect(broker.health()).toEqual({ ok: true });
      // a toy with a persistent session, so the broker keeps its messages across the restart
      const toy = await connect(mosq.url, { clientId: SN, username: SN, clean: false });
      await toy.subscribeAsync(topics.commandCall(SN), { qos: 1 });
      const commands: number[] = [];
      toy.on("message", (_t, p) => commands.push(JSON.parse(p.toString()).msgId));
      broker.publish(topics.commandCall(SN), { msgId: 1, identifier: "audioplay", inputParams: {} });
      await waitFor(() => commands.length === 1);
      toy.end(true);

      await mosq.kill();
      await waitFor(() => !broker.health().ok, 5000, "the broker to notice");
      expect(broker.health().reason).toContain("unreachable");
      for (const msgId of [2, 3, 4]) broker.publish(topics.commandCall(SN), { msgId, identifier: "audioplay", inputParams: {} });
      await Bun.sleep(700); // at least one failed reconnect attempt while it is down
      await mosq.restart();
      await waitFor(() => broker.health().ok, 10_000, "reconnect");

      const back = await connect(mosq.url, { clientId: SN, username: SN, clean: false }, (_t, body) => commands.push(body.msgId));
      await waitFor(() => commands.length === 4, 5000, "the queued commands");
      expect(commands).toEqual([1, 2, 3, 4]);
      // the server's subscriptions were made again
      await back.publishAsync(topics.eventPost(SN), JSON.stringify({ msgId: 9, identifier: "login", outParams: {} }));
      await waitFor(() => received.includes(topics.eventPost(SN)), 5000, "a toy event after reconnect");
      await back.endAsync();
    } finally {
      await broker.stop();
      await mosq.stop();
    }
  }, 30_000);
});

test("address helpers", () => {
  expect(plainAddress("::ffff:192.168.1.2")).toBe("192.168.1.2");
  expect(urlHost("fe80::1")).toBe("[fe80::1]");
  expect(urlHost("10.0.0.2")).toBe("10.0.0.2");
});

test("a port already in use is reported in words, not as EADDRINUSE", async () => {
  const tcp = net.createServer();
  await new Promise<void>((resolve) => tcp.listen(0, "0.0.0.0", resolve));
  const udp = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => udp.bind(0, "0.0.0.0", resolve));
  try {
    const broker = new EmbeddedBroker({ port: (tcp.address() as net.AddressInfo).port, serverUsername: "folotoy", serverPassword: "", acceptUnknownToys: true, knownToys: {} }, { message() {} });
    await expect(broker.start()).rejects.toThrow(/MQTT port \d+ is already in use .*\[mqtt\] url/);
    await broker.stop();
    const speech = new UdpSpeechServer(new RecordingAssembler({ snOfToken: () => undefined, onRecording() {}, onDrop() {} }));
    await expect(speech.start(udp.address().port)).rejects.toThrow(/toy UDP port \d+ is already in use/);
  } finally {
    tcp.close();
    udp.close();
  }
});
