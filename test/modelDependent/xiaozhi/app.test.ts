// The whole appliance (startHearth) serves xiaozhi devices beside FoloToy toys: the OTA route and
// the WebSocket on the HTTP port, the device in the console's list, its turns in /metrics; and
// /v1/audio/speech speaks Ogg Opus with the same encoder.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimXiaozhi } from "../../../scripts/lib/xiaozhi-simulator.ts";
import { decodeAudio } from "../../../src/audio/decode.ts";
import { startTestHearth } from "../../support/hearth.ts";
import { metricValue, UTT, XIAOZHI_ROLES } from "./helpers.ts";

let hearth: Awaited<ReturnType<typeof startTestHearth>>;

beforeAll(async () => {
  const stateDir = mkdtempSync(join(tmpdir(), "hearth-xiaozhi-app-"));
  writeFileSync(join(stateDir, "roles.json"), JSON.stringify(XIAOZHI_ROLES));
  hearth = await startTestHearth({ HEARTH_STATE_DIR: stateDir, HEARTH_XIAOZHI_ROLE: "2" });
}, 120_000);
afterAll(() => hearth?.stop());

test("a xiaozhi device checks in, talks, and shows in the console's device list and /metrics", async () => {
  expect((await fetch(`${hearth.url}/health`)).status).toBe(200);
  const dev = new SimXiaozhi({ ota: `${hearth.url}/xiaozhi/ota/`, mac: "aa:bb:cc:00:00:31" });
  try {
    const ota = await dev.boot();
    expect(ota.websocket!.url).toBe(`${hearth.url.replace("http", "ws")}/xiaozhi/v1/`);
    await dev.connect();
    const turn = await dev.say(UTT(1), { mode: "manual", pace: 4 });
    expect(turn.error).toBeUndefined();
    expect(turn.sentences).toEqual(["Role two here."]);
    const toys = (await (await fetch(`${hearth.url}/api/toys`)).json()).data;
    expect(toys.find((t: any) => t.sn === "aabbcc000031")).toMatchObject({ frontEnd: "xiaozhi", connected: true, role: 2, firmware: "1.8.2" });
    const turns = (await (await fetch(`${hearth.url}/api/turns?frontEnd=xiaozhi`)).json()).data;
    expect(turns[0]).toMatchObject({ source: "xiaozhi", sn: "aabbcc000031", reply: "Role two here." });
    const metrics = await (await fetch(`${hearth.url}/metrics`)).text();
    expect(metricValue(metrics, 'hearth_turns_total{source="xiaozhi"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, "hearth_xiaozhi_devices_connected")).toBe(1);
    expect(metricValue(metrics, 'hearth_xiaozhi_ota_requests_total{answer="ok"}')).toBeGreaterThanOrEqual(1);
  } finally {
    dev.close();
  }
}, 60_000);

test('/v1/audio/speech with response_format "opus": streamed Ogg Opus a browser plays', async () => {
  const res = await fetch(`${hearth.url}/v1/audio/speech`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: "tts-1", voice: "alloy", input: "Hello there. How are you today?", response_format: "opus" }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("audio/ogg");
  const bytes = new Uint8Array(await res.arrayBuffer());
  expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe("OggS");
  const audio = await decodeAudio(bytes);
  expect(audio.sampleRate).toBe(48000);
  expect(audio.samples.length / audio.sampleRate).toBeGreaterThan(0.5);
  const bad = await fetch(`${hearth.url}/v1/audio/speech`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: "tts-1", voice: "alloy", input: "Hi.", response_format: "opus", sample_rate: 22050 }),
  });
  expect(bad.status).toBe(400);
  expect((await bad.json()).error.param).toBe("sample_rate");
}, 60_000);
