// The toy protocol end to end with the real engines (test profile), a real embedded broker,
// real UDP and HTTP: the simulator plays the toy.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { readFileSync, writeFileSync } from "node:fs";
import mqtt from "mqtt";
import { setLogLevel } from "../../../src/log.ts";
import { registry } from "../../../src/metrics.ts";
import { topics } from "../../../src/devices/folotoy/mqtt.ts";
import { SimToy, simulateToy, type SimTurn } from "../../../scripts/lib/toy-simulator.ts";
import type { TurnRecord as ToyTurnRecord } from "../../../src/pipeline/types.ts";
import { encodeDatagram, FRAME_AUDIO, FRAME_ENCODED } from "../../../src/devices/folotoy/udp.ts";
import { AUDIO, transcripts, wordErrorRate } from "../../support/hearth.ts";
import { captureLogs, freePort, grammarFor, REPLY, REPLY_SENTENCES, startTestToy, TEST_ROLES, testEngines, UTT, waitFor, type TestToy } from "./helpers.ts";
import { ROOT } from "../../support/paths.ts";

const PACE = 4; // stream speech at 4x real time: same packets, shorter tests
let refs: Map<string, string>;

beforeAll(async () => {
  refs = await transcripts();
  await testEngines();
}, 120_000);

function expectGoodTurn(turn: SimTurn, sentences: number) {
  expect(turn.error).toBeUndefined();
  expect(turn.ok).toBe(true);
  expect(turn.audioplays.map((a) => a.order)).toEqual(Array.from({ length: sentences }, (_, i) => i + 1));
  expect(turn.total).toBe(sentences);
  expect(turn.mp3s.length).toBe(sentences);
  for (const m of turn.mp3s) {
    expect(m.error).toBeUndefined();
    expect(m.seconds).toBeGreaterThan(0.05);
    expect(m.sampleRate).toBeGreaterThanOrEqual(16000);
    expect(m.sampleRate).toBeLessThanOrEqual(24000);
  }
}

function lastTurn(h: TestToy, sn: string): ToyTurnRecord | undefined {
  return h.turns(50).find((t) => t.sn === sn) as ToyTurnRecord | undefined;
}

async function hub(h: TestToy) {
  // the embedded broker's generated integration password (no [mqtt] password is set)
  const password = readFileSync(`${h.config.state.dir}/mqtt-password`, "utf8").trim();
  const client = await mqtt.connectAsync(h.mqttUrl, { clientId: `hub${Math.random().toString(16).slice(2, 8)}`, username: "folotoy", password });
  const got: { topic: string; body: any }[] = [];
  client.on("message", (topic, payload) => got.push({ topic, body: JSON.parse(payload.toString()) }));
  return { client, got };
}

describe("embedded broker", () => {
  let h: TestToy;
  beforeAll(async () => {
    h = await startTestToy();
  });
  afterAll(() => h.stop());

  test("login -> updatetoken, updateconfig (the address the toy came in on), greeting; a turn streams sentence by sentence", async () => {
    const result = await simulateToy({ mqtt: h.mqttUrl, sn: "e465b82b9ec8", role: 1, files: [UTT(1)], pace: PACE });
    expect(result.token).toMatch(/^[0-9a-f]{32}$/);
    expect(result.udp).toEqual({ host: "127.0.0.1", port: h.toy.udpPort });
    expect(result.greetingUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${h.server.port}/audio/start-[0-9a-f]+\\.mp3$`));
    expect((await fetch(result.greetingUrl!)).headers.get("content-type")).toBe("audio/mpeg");
    const turn = result.turns[0]!;
    expectGoodTurn(turn, REPLY_SENTENCES.length);

    const record = lastTurn(h, "e465b82b9ec8")!;
    expect(wordErrorRate(refs.get("utt01.wav")!, record.transcript)).toBeLessThan(0.25);
    expect(record.reply).toBe(REPLY);
    expect(record.sentences.map((s) => s.text)).toEqual(REPLY_SENTENCES);
    expect(record.sentences.map((s) => s.url)).toEqual(turn.audioplays.map((a) => a.url));
    expect(record.error).toBeUndefined();
    for (const k of ["sttMs", "firstTokenMs", "firstAudioMs", "totalMs"] as const) expect(record.timings[k]).toBeGreaterThan(0);
    // streamed: the first sentence was announced before the last one was even synthesized
    expect(record.sentences[0]!.sentMs!).toBeLessThan(record.sentences.at(-1)!.readyMs!);
    expect(turn.timings.firstAudioplayMs!).toBeLessThan(turn.timings.lastAudioplayMs!);
    await waitFor(() => h.toy.devices().find((t) => t.sn === "e465b82b9ec8")?.connected === false, 5000, "the disconnect");
    expect(h.toy.devices().find((t) => t.sn === "e465b82b9ec8")).toMatchObject({ role: 1, address: "127.0.0.1" });
  }, 60_000);

  test("the conversation carries over; changed:0 clears it; changed:1 switches role and plays its greeting", async () => {
    const sn = "aabbccddee01";
    const sim = new SimToy({ mqtt: h.mqttUrl, sn });
    try {
      await sim.connect();
      await sim.login(1);
      sim.data("data_config", { hardware_ver: "v3", software_version: "v25.51.5.60", role: 1, volume: 80 });
      sim.data("real_time_data", { battery: 76 });
      expectGoodTurn(await sim.say(UTT(4), { pace: PACE }), REPLY_SENTENCES.length);
      expect(h.conversation(sn).length).toBe(1);
      expect(h.toy.devices().find((t) => t.sn === sn)).toMatchObject({ connected: true, battery: 76, firmware: "v25.51.5.60", address: "127.0.0.1" });

      sim.event("press_small_btn", { keyCode: 1, changed: 0 });
      await waitFor(() => h.conversation(sn).length === 0, 5000, "history cleared");

      await waitFor(() => greetings(sim) === 1, 10_000, "the login greeting");
      sim.event("press_small_btn", { keyCode: 2, changed: 1 });
      await waitFor(() => greetings(sim) === 2, 10_000, "role 2's greeting");
      const res = await fetch(sim.greetingUrl!);
      expect(res.status).toBe(200);
      expect(Number(res.headers.get("content-length"))).toBeGreaterThan(500);
      expect(h.toy.devices().find((t) => t.sn === sn)!.role).toBe(2);
      expectGoodTurn(await sim.say(UTT(8), { pace: PACE }), 1);
      expect(lastTurn(h, sn)).toMatchObject({ role: "2", reply: "Role two here." });
    } finally {
      await sim.close();
    }
  }, 60_000);

  test("silence is not answered as speech: the toy says it didn't catch that, and the turn is recorded as heard-nothing", async () => {
    const sn = "aabbccddee02";
    const sim = new SimToy({ mqtt: h.mqttUrl, sn });
    try {
      await sim.connect();
      await sim.login(1);
      const before = h.turns(200).length;
      const turn = await sim.say(`${AUDIO}/silence-2s.wav`, { pace: PACE });
      expectGoodTurn(turn, 1);
      await waitFor(() => h.turns(200).length > before, 10_000, "the turn record");
      const record = lastTurn(h, sn)!;
      expect(record).toMatchObject({ transcript: "", outcome: "heard_nothing", sentences: [{ order: 1, text: "Sorry, I didn't catch that. Can you say it again?", fixed: true }] });
      expect(h.conversation(sn)).toEqual([]);
    } finally {
      await sim.close();
    }
  }, 30_000);

  test("with heard_nothing_reply off, silence gets nothing at all", async () => {
    const quiet = await startTestToy({ env: { HEARTH_TOY_HEARD_NOTHING_REPLY: "false" } });
    const sn = "aabbccddee12";
    const sim = new SimToy({ mqtt: quiet.mqttUrl, sn });
    try {
      await sim.connect();
      await sim.login(1);
      const from = sim.commands.length;
      const { recordingId } = await sim.stream(await SimToy.pcmOf(`${AUDIO}/silence-2s.wav`), { pace: PACE });
      await waitFor(() => quiet.turns(10).some((t) => t.sn === sn), 10_000, "the turn record");
      expect(lastTurn(quiet, sn)).toMatchObject({ transcript: "", reply: "", sentences: [], outcome: "heard_nothing" });
      await Bun.sleep(200);
      expect(sim.commands.slice(from).filter((c) => c.inputParams.recordingId === recordingId)).toEqual([]);
    } finally {
      await sim.close();
      await quiet.stop();
    }
  }, 30_000);

  test("malformed datagrams are counted and dropped; the encoded-audio hint; the server stays healthy", async () => {
    const sn = "aabbccddee03";
    const sim = new SimToy({ mqtt: h.mqttUrl, sn });
    try {
      await sim.connect();
      await sim.login(1);
      const before = await drops();
      const token = sim.token!;
      const garbage = crypto.getRandomValues(new Uint8Array(700));
      const bad: [Uint8Array, string][] = [
        [new Uint8Array(10), "short"],
        [encodeDatagram(token, 1, FRAME_AUDIO, new Uint8Array(1500)), "oversized"],
        [encodeDatagram("ffffffffffffffffffffffffffffffff", 1, FRAME_AUDIO, new Uint8Array(64)), "unknown_token"],
        [garbage, "unknown_token"],
        [encodeDatagram(token, 1, FRAME_ENCODED, new Uint8Array(64)), "encoded"],
        [encodeDatagram(token, 1, FRAME_ENCODED, new Uint8Array(64)), "encoded"],
        [encodeDatagram(token, 1, 0x07, new Uint8Array(64)), "bad_type"],
        [encodeDatagram(token, 1, FRAME_AUDIO, new Uint8Array(63)), "garbled"],
      ];
      const logs = captureLogs();
      setLogLevel("warn"); // whatever HEARTH_LOG_LEVEL says, the hint is a warning
      try {
        for (const [d] of bad) await sim.sendDatagram(d);
        await waitFor(() => logs.lines.some((l) => l.includes("use_record_enc")), 5000, "the hint");
        await Bun.sleep(100);
      } finally {
        logs.restore();
        setLogLevel(h.config.log.level);
      }
      // once per toy, naming the serial command that fixes it
      expect(logs.lines.filter((l) => l.includes("at+config=common,use_record_enc,false"))).toEqual([expect.stringContaining(`sn=${sn}`)]);
      const expected: Record<string, number> = {};
      for (const [, r] of bad) expected[r] = (expected[r] ?? 0) + 1;
      const short = (now: Record<string, number>) => Object.entries(expected).some(([r, n]) => (now[r] ?? 0) - (before[r] ?? 0) < n);
      let after = await drops();
      for (const end = Date.now() + 5000; short(after) && Date.now() < end; after = await drops()) await Bun.sleep(50);
      for (const [r, n] of Object.entries(expected)) expect({ r, n: (after[r] ?? 0) - (before[r] ?? 0) }).toEqual({ r, n });
      expect(h.toy.ready()).toEqual({ ok: true, reasons: [] });
      expectGoodTurn(await sim.say(UTT(3), { pace: PACE }), REPLY_SENTENCES.length);
    } finally {
      await sim.close();
    }
  }, 60_000);

  test("two toys talking at once each get their own reply, in order, without mixing", async () => {
    const a = new SimToy({ mqtt: h.mqttUrl, sn: "aabbccddee04" });
    const b = new SimToy({ mqtt: h.mqttUrl, sn: "aabbccddee05" });
    try {
      await Promise.all([a.connect(), b.connect()]);
      await Promise.all([a.login(1), b.login(2)]);
      const [ta, tb] = await Promise.all([a.say(UTT(2), { pace: PACE }), b.say(UTT(6), { pace: PACE })]);
      expectGoodTurn(ta, REPLY_SENTENCES.length);
      expectGoodTurn(tb, 1);
      for (const [sim, turn] of [[a, ta], [b, tb]] as const) {
        const mine = sim.commands.filter((c) => c.identifier.startsWith("audioplay"));
        expect(mine.every((c) => c.inputParams.recordingId === turn.recordingId)).toBe(true);
      }
      const ra = lastTurn(h, "aabbccddee04")!;
      const rb = lastTurn(h, "aabbccddee05")!;
      expect(ra.reply).toBe(REPLY);
      expect(rb.reply).toBe("Role two here.");
      expect(wordErrorRate(refs.get("utt02.wav")!, ra.transcript)).toBeLessThan(0.25);
      expect(wordErrorRate(refs.get("utt06.wav")!, rb.transcript)).toBeLessThan(0.25);
      expect(h.conversation("aabbccddee04")).toEqual([{ user: ra.transcript, assistant: REPLY }]);
      expect(h.conversation("aabbccddee05")).toEqual([{ user: rb.transcript, assistant: "Role two here." }]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 90_000);

  test("roles.json: a broken edit keeps the last good roles; load_roles_config answers 0, then 1 once fixed", async () => {
    const sn = "aabbccddee06";
    const sim = new SimToy({ mqtt: h.mqttUrl, sn });
    const { client, got } = await hub(h);
    try {
      await client.subscribeAsync(topics.sysConfigAck);
      await sim.connect();
      await sim.login(1);
      writeFileSync(h.config.toy.roles_file, '{"1": {"start_text": "no prompt here"}}');
      await Bun.sleep(600); // the watcher's debounce
      await client.publishAsync(topics.sysConfig, JSON.stringify({ msgId: 3, identifier: "load_roles_config" }));
      await waitFor(() => got.length === 1, 5000, "configAck");
      expect(got[0]!.body).toMatchObject({ msgId: 3, identifier: "load_roles_config", result: 0 });
      expectGoodTurn(await sim.say(UTT(7), { pace: PACE }), REPLY_SENTENCES.length);
      expect(lastTurn(h, sn)!.reply).toBe(REPLY);

      writeFileSync(h.config.toy.roles_file, JSON.stringify({ ...TEST_ROLES, "1": { ...TEST_ROLES["1"], grammar: grammarFor("Fixed now.") } }));
      await client.publishAsync(topics.sysConfig, JSON.stringify({ msgId: 4, identifier: "load_roles_config" }));
      await waitFor(() => got.length === 2, 5000, "configAck");
      expect(got[1]!.body).toMatchObject({ msgId: 4, result: 1 });
      expectGoodTurn(await sim.say(UTT(5), { pace: PACE }), 1);
      expect(lastTurn(h, sn)!.reply).toBe("Fixed now.");
    } finally {
      writeFileSync(h.config.toy.roles_file, JSON.stringify(TEST_ROLES));
      await client.endAsync();
      await sim.close();
    }
  }, 60_000);

  test("integrations: iwantplay (text and url) and updatecommonconfig are relayed, acks mirrored back", async () => {
    const sn = "aabbccddee07";
    const sim = new SimToy({ mqtt: h.mqttUrl, sn });
    const { client, got } = await hub(h);
    try {
      await client.subscribeAsync(topics.sysCommandCallAck(sn));
      await sim.connect();
      await sim.login(1);
      const from = sim.commands.length;
      await client.publishAsync(topics.sysCommandCall(sn), JSON.stringify({ msgId: 77, identifier: "iwantplay", inputParams: { role: 2, text: "Time for dinner." } }));
      const play = await sim.waitFor((c) => c.identifier === "iwantplay", 10_000, from);
      expect(Object.keys(play.inputParams)).toEqual(["url"]);
      const res = await fetch(play.inputParams.url);
      expect(res.headers.get("content-type")).toBe("audio/mpeg");
      await waitFor(() => got.length === 1, 5000, "the mirrored ack");
      expect(got[0]).toEqual({ topic: topics.sysCommandCallAck(sn), body: { msgId: 77, identifier: "iwantplay", result: 1 } });

      await client.publishAsync(topics.sysCommandCall(sn), JSON.stringify({ msgId: 78, identifier: "iwantplay", inputParams: { url: "http://192.0.2.1/x.mp3", text: "ignored" } }));
      await client.publishAsync(topics.sysCommandCall(sn), JSON.stringify({ msgId: 79, identifier: "updatecommonconfig", inputParams: { volume: 55, record_type: 1 } }));
      await client.publishAsync(topics.sysCommandCall(sn), JSON.stringify({ msgId: 80, identifier: "reboot", inputParams: {} }));
      await sim.waitFor((c) => c.identifier === "updatecommonconfig", 5000, from);
      const relayed = sim.commands.slice(from).filter((c) => c.identifier !== "updatestartvoice"); // the login greeting may come late
      expect(relayed.map((c) => [c.identifier, c.inputParams])).toEqual([
        ["iwantplay", { url: play.inputParams.url }],
        ["iwantplay", { url: "http://192.0.2.1/x.mp3" }],
        ["updatecommonconfig", { volume: 55, record_type: 1 }],
      ]);
      await waitFor(() => got.length === 4, 5000, "acks");
      expect(got.map((g) => [g.body.msgId, g.body.result]).sort()).toEqual([[77, 1], [78, 1], [79, 1], [80, 0]]);
    } finally {
      await client.endAsync();
      await sim.close();
    }
  }, 30_000);

  test("a new recording cancels the running turn: the old one sends nothing more", async () => {
    const sn = "aabbccddee08";
    const sim = new SimToy({ mqtt: h.mqttUrl, sn });
    try {
      await sim.connect();
      await sim.login(1);
      const from = sim.commands.length;
      const first = await sim.stream(await SimToy.pcmOf(UTT(1)), { pace: PACE });
      const pcm = await SimToy.pcmOf(UTT(2));
      const second = await sim.stream(pcm, { pace: PACE });
      const turn = await sim.collect({ file: UTT(2), recordingId: second.recordingId, endAt: second.endAt, from });
      expectGoodTurn(turn, REPLY_SENTENCES.length);
      expect(sim.commands.filter((c) => c.inputParams.recordingId === first.recordingId)).toEqual([]);
      const old = h.turns(50).find((t) => t.id.startsWith(`${sn}-${first.recordingId}-`))!;
      expect(old.error).toContain("cancelled");
      expect(h.conversation(sn).length).toBe(1);
    } finally {
      await sim.close();
    }
  }, 60_000);
});

describe("restart", () => {
  test("tokens and roles persist: after a restart the old token's UDP audio still gets a reply, without a new login", async () => {
    const env = { HEARTH_MQTT_PORT: String(await freePort()), HEARTH_TOY_UDP_PORT: String(await freeUdpPort()) };
    const h1 = await startTestToy({ env });
    const stateDir = h1.config.state.dir;
    const sn = "aabbccddee09";
    const sim = new SimToy({ mqtt: h1.mqttUrl, sn });
    let h2: TestToy | undefined;
    try {
      await sim.connect();
      await sim.login(1);
      await waitFor(() => greetings(sim) === 1, 10_000, "the login greeting");
      sim.event("press_small_btn", { keyCode: 2, changed: 1 });
      await waitFor(() => greetings(sim) === 2, 10_000, "role 2's greeting");
      await h1.stop({ keepState: true });

      h2 = await startTestToy({ env, stateDir, roles: null });
      await waitFor(() => sim.client!.connected, 10_000, "the toy to reconnect");
      await sim.client!.subscribeAsync(topics.commandCall(sn), { qos: 1 });
      const logins = sim.commands.filter((c) => c.identifier === "updatetoken").length;
      const turn = await sim.say(UTT(3), { pace: PACE });
      expectGoodTurn(turn, 1);
      expect(sim.commands.filter((c) => c.identifier === "updatetoken").length).toBe(logins);
      expect(lastTurn(h2, sn)).toMatchObject({ role: "2", reply: "Role two here." });
    } finally {
      await sim.close();
      await h1.stop().catch(() => {});
      await h2?.stop();
    }
  }, 60_000);
});

describe("reply timeout", () => {
  test("a turn that cannot start playing within reply_timeout_seconds ends with the friendly fallback line, never silence", async () => {
    const h = await startTestToy({ env: { HEARTH_TOY_REPLY_TIMEOUT_SECONDS: "1" } });
    const sn = "aabbccddee10";
    const sim = new SimToy({ mqtt: h.mqttUrl, sn });
    try {
      await sim.connect();
      await sim.login(1);
      const from = sim.commands.length;
      // the end marker is lost: the recording ends 1.5 s after its last packet, already past the 1 s limit
      const { recordingId } = await sim.stream(await SimToy.pcmOf(UTT(8)), { pace: PACE, dropEndMarker: true });
      await waitFor(() => !!lastTurn(h, sn), 10_000, "the turn record");
      const record = lastTurn(h, sn)!;
      expect(record.error).toContain("reply_timeout_seconds");
      expect(record.outcome).toBe("timeout");
      expect(record.sentences).toMatchObject([{ order: 1, fallback: true, text: "Hmm, give me a second... can you ask me again?" }]);
      await Bun.sleep(500);
      const sent = sim.commands.slice(from).filter((c) => c.inputParams.recordingId === recordingId);
      expect(sent.map((c) => [c.identifier, c.inputParams.order ?? c.inputParams.total])).toEqual([["audioplay", 1], ["audioplay_cmd", 1]]);
      expect(sent[0]!.inputParams.url).toBe(record.sentences[0]!.url);
    } finally {
      await sim.close();
      await h.stop();
    }
  }, 30_000);
});

function greetings(sim: SimToy): number {
  return sim.commands.filter((c) => c.identifier === "updatestartvoice").length;
}

async function drops(): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric("hearth_udp_dropped_total")!;
  const out: Record<string, number> = {};
  for (const v of (await metric.get()).values) out[String(v.labels.reason)] = v.value;
  return out;
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe("scripts/toy-sim.ts", () => {
  test("the CLI logs in, speaks a WAV and prints a machine-readable result", async () => {
    const h = await startTestToy();
    try {
      const proc = Bun.spawn(["bun", "scripts/toy-sim.ts", "--mqtt", h.mqttUrl, "--sn", "aabbccddee12", "--pace", "4", "--json", UTT(5)], {
        cwd: ROOT,
        env: { ...process.env, PATH: `${ROOT}/node_modules/.bin:${process.env.PATH}` },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      expect(code).toBe(0);
      const result = JSON.parse(out);
      expect(result).toMatchObject({ sn: "aabbccddee12", ok: true, udp: { host: "127.0.0.1", port: h.toy.udpPort } });
      expect(result.turns[0].total).toBe(5);
      expect(result.turns[0].timings.firstAudioplayMs).toBeGreaterThan(0);
      expect(result.turns[0].timings.firstMp3ByteMs).toBeGreaterThanOrEqual(result.turns[0].timings.firstAudioplayMs);
    } finally {
      await h.stop();
    }
  }, 60_000);
});
