// The FoloToy front end on fake engines (no models): the toy's own settings (issue 16.6: its
// `timeout` bounds the reply deadline; volume and record_type in its status) and the payloads an
// official server's integrations and toys expect (16.4: the mirror's `inputParams`,
// updatestartvoice's keyCode and etag). A real embedded broker, real UDP and HTTP; the simulator is the toy.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { SimToy } from "../../../scripts/lib/toy-simulator.ts";
import { etagOf } from "../../../src/devices/folotoy/audio-store.ts";
import { FolotoyFrontEnd } from "../../../src/devices/folotoy/index.ts";
import { topics } from "../../../src/devices/folotoy/mqtt.ts";
import { ToySession } from "../../../src/devices/folotoy/session.ts";
import { setLogLevel } from "../../../src/log.ts";
import { fakePipeline } from "../../support/fake-pipeline.ts";
import { testConfig } from "../../support/hearth.ts";

setLogLevel("error");

const ROLES = {
  "1": { prompt: "You are a rabbit.", start_text: "Hi, I am a rabbit.", language: "en" },
  "2": { prompt: "You are an owl.", start_text: "Hoot hoot, I am a wise old owl.", language: "en" },
};
/** One second of quiet noise as the toy's s16le PCM at 32 kHz (the fake recognizer "hears" it). */
const PCM = new Uint8Array(new Int16Array(32000).map(() => Math.round((Math.random() - 0.5) * 200)).buffer);

describe("ToySession settings", () => {
  const session = (report?: Record<string, unknown>) => {
    const s = new ToySession("aabbccddee01");
    if (report) s.applyData("data_config", report);
    return s;
  };

  test("the toy's timeout, less a margin for the download, bounds the configured deadline", () => {
    expect(session().replyTimeoutMs(30_000)).toBeUndefined();
    expect(session({ timeout: 10 }).replyTimeoutMs(30_000)).toBe(8500);
    expect(session({ timeout: "20" }).replyTimeoutMs(30_000)).toBe(18_500);
    expect(session({ timeout: 60 }).replyTimeoutMs(30_000)).toBe(30_000); // [toy] reply_timeout_seconds still bounds it
    expect(session({ timeout: 2 }).replyTimeoutMs(30_000)).toBe(3000); // never less than a turn needs
    expect(session({ timeout: "soon" }).replyTimeoutMs(30_000)).toBeUndefined();
    expect(session({ timeout: -5 }).replyTimeoutMs(30_000)).toBeUndefined();
  });

  test("volume, record_type and timeout are in the status; absent or nonsense values are not", () => {
    expect(session({ volume: 60, record_type: "2", timeout: 30, software_version: "v1.2" }).status()).toMatchObject({ volume: 60, recordType: 2, timeoutSeconds: 30, firmware: "v1.2" });
    const odd = session({ volume: 300, record_type: "x" }).status();
    expect(odd.volume).toBeUndefined();
    expect(odd.recordType).toBeUndefined();
    expect(odd.timeoutSeconds).toBeUndefined();
  });
});

describe("a toy on the front end", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "hearth-toy-settings-"));
  const fake = fakePipeline({ stateDir, roles: ROLES, replyTimeoutMs: 30_000 });
  const config = testConfig({ HEARTH_STATE_DIR: stateDir, HEARTH_TOY_ADVERTISE_HOST: "", HEARTH_TOY_INTEGRATION_MIRROR: "true", HEARTH_TOY_REPLY_TIMEOUT_SECONDS: "30" });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("not found", { status: 404 }) });
  config.http.port = server.port!;
  const toy = new FolotoyFrontEnd({ config, pipeline: fake.pipeline, httpPort: server.port! });
  let mqttUrl = "";
  const sims: SimToy[] = [];

  beforeAll(async () => {
    await toy.start();
    server.reload({ routes: toy.routes as any, fetch: () => new Response("not found", { status: 404 }) });
    mqttUrl = `mqtt://127.0.0.1:${toy.mqttPort}`;
  });
  afterAll(async () => {
    for (const s of sims) await s.close();
    await toy.stop();
    server.stop(true);
    await fake.cleanup();
  });

  async function loggedIn(sn: string, role = 1) {
    const sim = new SimToy({ mqtt: mqttUrl, sn });
    sims.push(sim);
    await sim.connect();
    await sim.login(role);
    return sim;
  }

  test("updatestartvoice carries keyCode and an etag: the greeting's content hash, the same for the same greeting", async () => {
    const sim = await loggedIn("aabbccddee01");
    const first = await sim.waitFor((c) => c.identifier === "updatestartvoice");
    expect(Object.keys(first.inputParams).sort()).toEqual(["etag", "keyCode", "url"]);
    expect(first.inputParams.keyCode).toBe(1);
    expect(first.inputParams.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(first.inputParams.etag).toBe(etagOf(first.inputParams.url));
    const mp3 = new Uint8Array(await (await fetch(first.inputParams.url)).arrayBuffer());
    expect(new Bun.CryptoHasher("sha256").update(mp3).digest("hex").startsWith(first.inputParams.etag)).toBe(true);

    let from = sim.commands.length;
    sim.event("press_small_btn", { keyCode: 2, changed: 1 });
    const owl = await sim.waitFor((c) => c.identifier === "updatestartvoice", 5000, from);
    expect(owl.inputParams.keyCode).toBe(2);
    expect(owl.inputParams.etag).not.toBe(first.inputParams.etag);
    from = sim.commands.length;
    sim.event("press_small_btn", { keyCode: 1, changed: 1 });
    const again = await sim.waitFor((c) => c.identifier === "updatestartvoice", 5000, from);
    expect(again.inputParams).toEqual(first.inputParams);
  });

  test("the integration mirror publishes recording_transcribed and voice_generated with inputParams, as the official server", async () => {
    // integrations log in to the embedded broker with [mqtt] username and its password (generated when empty)
    const password = config.mqtt.password || (existsSync(join(stateDir, "mqtt-password")) ? readFileSync(join(stateDir, "mqtt-password"), "utf8").trim() : "");
    const hub = await mqtt.connectAsync(mqttUrl, { clientId: "hubsettings", username: config.mqtt.username, password });
    const got: any[] = [];
    hub.on("message", (_t, p) => got.push(JSON.parse(p.toString())));
    await hub.subscribeAsync(topics.sysEventPost("aabbccddee02"), { qos: 1 });
    try {
      const sim = await loggedIn("aabbccddee02");
      const from = sim.commands.length;
      const { recordingId, endAt } = await sim.stream(PCM, { pace: 0 });
      const turn = await sim.collect({ file: "noise", recordingId, endAt, from }, { replyTimeoutMs: 10_000 });
      expect(turn.ok).toBe(true);
      const mine = () => got.filter((m) => m.inputParams?.recordingId === recordingId);
      const deadline = Date.now() + 5000;
      while (mine().filter((m) => m.identifier === "voice_generated").length < turn.audioplays.length && Date.now() < deadline) await Bun.sleep(20);
      const events = mine();
      expect(events[0]).toMatchObject({ identifier: "recording_transcribed", inputParams: { recordingId, recordingText: "hello there" } });
      expect(events[0].inputParams.recordingUrl).toMatch(/\/audio\/recording-[0-9a-f]+\.wav$/);
      const voiced = events.filter((m) => m.identifier === "voice_generated");
      expect(voiced.map((m) => m.inputParams.order)).toEqual(turn.audioplays.map((a) => a.order));
      expect(voiced[0].inputParams).toEqual({ recordingId, order: 1, voiceText: "Once upon a time.", voiceUrl: turn.audioplays[0]!.url, role: 1, resultCode: 1 });
      for (const m of events) {
        expect(typeof m.msgId).toBe("number");
        expect(m.outParams).toBeUndefined();
      }
    } finally {
      await hub.endAsync();
    }
  });

  test("the toy's reported volume, record_type and timeout show in its status", async () => {
    const sim = await loggedIn("aabbccddee03");
    sim.data("data_config", { hardware_ver: "v3", software_version: "v25.1", volume: 55, record_type: 2, timeout: 25, role: 1 });
    const status = () => toy.devices().find((d) => d.sn === "aabbccddee03");
    const deadline = Date.now() + 5000;
    while (status()?.timeoutSeconds === undefined && Date.now() < deadline) await Bun.sleep(20);
    expect(status()).toMatchObject({ volume: 55, recordType: 2, timeoutSeconds: 25, firmware: "v25.1" });
  });

  test("a toy that waits 4 s gets the friendly line before it gives up, though [toy] reply_timeout_seconds is 30", async () => {
    const sim = await loggedIn("aabbccddee04");
    sim.data("data_config", { timeout: 4, volume: 50, record_type: 1 });
    const deadline = Date.now() + 5000;
    while (toy.devices().find((d) => d.sn === "aabbccddee04")?.timeoutSeconds !== 4 && Date.now() < deadline) await Bun.sleep(20);
    fake.llm.promptDelayMs = 10_000; // the model is far too slow
    try {
      const from = sim.commands.length;
      const { recordingId, endAt } = await sim.stream(PCM, { pace: 0 });
      const turn = await sim.collect({ file: "noise", recordingId, endAt, from }, { replyTimeoutMs: 8000 });
      expect(turn.ok).toBe(true);
      expect(turn.audioplays).toHaveLength(1); // the fallback line
      expect(turn.timings.firstAudioplayMs!).toBeLessThan(4000);
      expect(turn.timings.firstAudioplayMs!).toBeGreaterThan(2000);
      const record = fake.pipeline.conversations.turns({ limit: 10 }).find((t: any) => t.sn === "aabbccddee04") as any;
      expect(record.outcome).toBe("timeout");
      expect(record.sentences[0]).toMatchObject({ fallback: true, text: "Hmm, give me a second... can you ask me again?" });
    } finally {
      fake.llm.promptDelayMs = 0;
    }
  }, 15_000);
});
