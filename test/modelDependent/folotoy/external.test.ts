// External-broker mode against a real Mosquitto started by the test: the whole flow, then the
// broker going away in the middle of a turn and coming back.
import { afterAll, beforeAll, expect, test } from "bun:test";
import mqtt from "mqtt";
import { topics } from "../../../src/devices/folotoy/mqtt.ts";
import { SimToy, simulateToy } from "../../../scripts/lib/toy-simulator.ts";
import { transcripts, wordErrorRate } from "../../support/hearth.ts";
import { REPLY, REPLY_SENTENCES, startMosquitto, startTestToy, testEngines, UTT, waitFor, type Mosquitto, type TestToy } from "./helpers.ts";

let mosq: Mosquitto;
let h: TestToy;

beforeAll(async () => {
  await testEngines();
  mosq = await startMosquitto({ persistence: true });
  h = await startTestToy({ env: { HEARTH_MQTT_URL: mosq.url, HEARTH_MQTT_PASSWORD: "", HEARTH_TOY_ADVERTISE_HOST: "127.0.0.1", HEARTH_TOY_INTEGRATION_MIRROR: "true" } });
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await mosq?.stop();
});

test("login and a streamed turn through Mosquitto, with the integration mirror", async () => {
  expect(h.toy.ready()).toEqual({ ok: true, reasons: [] });
  const result = await simulateToy({ mqtt: mosq.url, sn: "e465b82b9ec8", files: [UTT(1)], pace: 4 });
  expect(result.udp).toEqual({ host: "127.0.0.1", port: h.toy.udpPort });
  expect(result.greetingUrl).toContain(`http://127.0.0.1:${h.server.port}/audio/start-`);
  const turn = result.turns[0]!;
  expect(turn.error).toBeUndefined();
  expect(turn.audioplays.map((a) => a.order)).toEqual([1, 2, 3, 4, 5]);
  expect(turn.total).toBe(5);
  expect(turn.mp3s.every((m) => !m.error && m.seconds > 0)).toBe(true);
  // the mirror: recording_transcribed and one voice_generated per sentence
  const refs = await transcripts();
  expect(wordErrorRate(refs.get("utt01.wav")!, turn.transcript!)).toBeLessThan(0.25);
  expect(turn.replyTexts).toEqual(REPLY_SENTENCES);
}, 60_000);

test("Mosquitto goes away mid-turn: the reply is queued, delivered after it is back, and the toy layer resubscribes", async () => {
  const sn = "aabbccddee11";
  const sim = new SimToy({ mqtt: mosq.url, sn });
  // something with a persistent session on the toy's command topic, to see what reaches the broker
  const seen: any[] = [];
  const watch = () => {
    const c = mqtt.connect(mosq.url, { clientId: "watcher", clean: false, reconnectPeriod: 0 });
    c.on("message", (_t, p) => seen.push(JSON.parse(p.toString())));
    return new Promise<mqtt.MqttClient>((resolve, reject) => {
      c.once("connect", () => resolve(c));
      c.once("error", reject);
    });
  };
  try {
    await sim.connect();
    await sim.login(1);
    let watcher = await watch();
    await watcher.subscribeAsync(topics.commandCall(sn), { qos: 1 });
    await watcher.endAsync();

    await mosq.kill();
    await waitFor(() => !h.toy.ready().ok, 5000, "the toy layer to see the broker gone");
    expect(h.toy.ready().reasons[0]).toContain("unreachable");
    // UDP does not need the broker: the turn runs while it is away
    const { recordingId } = await sim.stream(await SimToy.pcmOf(UTT(4)), { pace: 4 });
    await waitFor(() => h.turns(10).some((t) => t.sn === sn), 20_000, "the turn");
    expect(h.turns(10).find((t) => t.sn === sn)).toMatchObject({ reply: REPLY });

    await mosq.restart();
    await waitFor(() => h.toy.ready().ok, 15_000, "reconnect");
    watcher = await watch();
    const mine = () => seen.filter((m) => m.inputParams?.recordingId === recordingId);
    await waitFor(() => mine().some((m) => m.identifier === "audioplay_cmd"), 10_000, "the queued reply");
    expect(mine().map((m) => m.inputParams.order ?? `total ${m.inputParams.total}`)).toEqual([1, 2, 3, 4, 5, "total 5"]);
    await watcher.endAsync();

    // the server's subscriptions are back: a new login and turn work
    await waitFor(() => sim.client!.connected, 10_000, "the toy to reconnect");
    await sim.client!.subscribeAsync(topics.commandCall(sn), { qos: 1 });
    await sim.login(1);
    const turn = await sim.say(UTT(2), { pace: 4 });
    expect(turn.error).toBeUndefined();
    expect(turn.total).toBe(5);
  } finally {
    await sim.close();
  }
}, 90_000);
