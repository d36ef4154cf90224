// A xiaozhi-esp32 device in software, pointed at Hearth (or any xiaozhi server):
//
//   bun scripts/xiaozhi-sim.ts --ota http://127.0.0.1:8080/xiaozhi/ota/ [--mac aa:bb:cc:00:00:01]
//       [--protocol 1|2|3] [--mode auto|manual|realtime] [--pace 1] [--barge-in SECONDS]
//       [--timeout 60] [--json] [--verbose] file.wav [file2.wav ...]
//
// Boots like the firmware (version check, activation code and polling if the server asks for it),
// opens the WebSocket with its token, and says each WAV as one turn: listen start, Opus frames at
// real-time pace, listen stop in manual mode. It prints what it heard back (stt, emotion, each
// sentence), how much audio played, and the timings from the end of speech. --barge-in S aborts
// each reply S seconds after its first audio. Exit code 1 if a turn failed.
import { parseArgs } from "node:util";
import { SimXiaozhi, type SimMode, type SimTurn } from "./lib/xiaozhi-simulator.ts";

const { values, positionals } = parseArgs({
  args: Bun.argv.slice(2),
  allowPositionals: true,
  options: {
    ota: { type: "string", default: "http://127.0.0.1:8080/xiaozhi/ota/" },
    mac: { type: "string", default: "aa:bb:cc:00:00:01" },
    protocol: { type: "string" },
    mode: { type: "string", default: "auto" },
    pace: { type: "string", default: "1" },
    "barge-in": { type: "string" },
    timeout: { type: "string", default: "60" },
    json: { type: "boolean", default: false },
    verbose: { type: "boolean", short: "v", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help || positionals.length === 0) {
  console.error("usage: bun scripts/xiaozhi-sim.ts --ota http://host:port/xiaozhi/ota/ [--mac aa:bb:cc:00:00:01] [--protocol 1|2|3] [--mode auto|manual|realtime] [--pace 1] [--barge-in S] [--timeout 60] [--json] [-v] file.wav [...]");
  process.exit(values.help ? 0 : 2);
}
const mode = values.mode as SimMode;
if (!["auto", "manual", "realtime"].includes(mode)) {
  console.error("--mode is auto, manual or realtime");
  process.exit(2);
}
const protocol = values.protocol ? (Number(values.protocol) as 1 | 2 | 3) : undefined;

const device = new SimXiaozhi({ ota: values.ota!, mac: values.mac!, protocol, aec: mode === "realtime", log: values.verbose ? (line) => console.error(`sim: ${line}`) : undefined });
const turns: SimTurn[] = [];
let ok = true;
try {
  const ota = await device.boot();
  if (!values.json) console.log(`checked in: WebSocket ${ota.websocket?.url} (token ${ota.websocket?.token?.slice(0, 8)}…), server time ${new Date(ota.body?.server_time?.timestamp ?? 0).toISOString()}, firmware ${JSON.stringify(ota.body?.firmware ?? null)}`);
  await device.connect();
  if (!values.json) console.log(`session ${device.sessionId}, protocol v${device.protocol}, downstream ${device.serverAudio.sampleRate} Hz ${device.serverAudio.frameDuration} ms`);
  for (const file of positionals) {
    const bargeIn = values["barge-in"] === undefined ? undefined : Number(values["barge-in"]) * 1000;
    const turn = await device.say(file, { mode, pace: Number(values.pace), replyTimeoutMs: Number(values.timeout) * 1000, abortAfterMs: bargeIn });
    turns.push(turn);
    ok &&= turn.ok;
    if (!values.json) printTurn(turn, device);
  }
  if (!values.json && device.mcpRequests.length) console.log(`\nMCP requests answered: ${device.mcpRequests.join(", ")}`);
} catch (e) {
  console.error(`xiaozhi-sim: ${(e as Error).message}`);
  ok = false;
} finally {
  device.close();
}
if (values.json) console.log(JSON.stringify({ mac: device.mac, sessionId: device.sessionId, protocol: device.protocol, turns, mcpRequests: device.mcpRequests, lastAbort: device.lastAbort }, null, 2));
process.exit(ok ? 0 : 1);

function printTurn(t: SimTurn, d: SimXiaozhi) {
  console.log(`\n${t.file} (${(t.timings.speechMs / 1000).toFixed(1)} s, ${t.mode}): ${t.ok ? "ok" : `FAILED: ${t.error}`}`);
  console.log(`  heard:   ${t.heard ?? "-"}`);
  console.log(`  emotion: ${t.emotion ?? "-"}`);
  t.sentences.forEach((s, i) => console.log(`  ${i + 1}. ${s}`));
  console.log(`  audio:   ${t.frames} frames, ${t.audioSeconds.toFixed(2)} s played${t.badFrames ? `, ${t.badFrames} BAD` : ""}${t.droppedFrames ? `, ${t.droppedFrames} dropped (not speaking)` : ""}`);
  const ms = (v?: number) => (v === undefined ? "-" : `${v} ms`);
  console.log(`  end of speech -> stt ${ms(t.timings.sttMs)} -> tts start ${ms(t.timings.ttsStartMs)} -> first audio ${ms(t.timings.firstAudioMs)} -> tts stop ${ms(t.timings.ttsStopMs)}`);
  if (d.lastAbort) console.log(`  barge-in: ${d.lastAbort.frames} frames after the abort (last ${ms(d.lastAbort.lastFrameMs)}), tts stop ${ms(d.lastAbort.ttsStopMs)} after it`);
}
