// A FoloToy toy in software, pointed at Hearth (or any FoloToy-compatible server):
//
//   bun scripts/toy-sim.ts --mqtt mqtt://127.0.0.1:1883 --sn e465b82b9ec8 [--key k] [--role 1]
//       [--pace 1] [--timeout 60] [--no-download] [--json] [--verbose] file.wav [file2.wav ...]
//
// Logs in over MQTT like the firmware, sends each WAV as the toy's UDP speech (32 kHz s16le,
// 1024-byte frames at real-time pace), collects audioplay/audioplay_cmd, downloads and decodes
// each MP3, and prints the transcript (when Hearth's integration mirror is on), the URLs and the
// timings from the end of speech. --json prints the SimResult for the bench. Exit code 1 if a turn failed.
import { parseArgs } from "node:util";
import { simulateToy, type SimTurn } from "./lib/toy-simulator.ts";

const { values, positionals } = parseArgs({
  args: Bun.argv.slice(2),
  allowPositionals: true,
  options: {
    mqtt: { type: "string", default: "mqtt://127.0.0.1:1883" },
    sn: { type: "string", default: "e465b82b9ec8" },
    key: { type: "string", default: "" },
    role: { type: "string", default: "1" },
    pace: { type: "string", default: "1" },
    timeout: { type: "string", default: "60" },
    "no-download": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    verbose: { type: "boolean", short: "v", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help || positionals.length === 0) {
  console.error("usage: npm run toy-sim -- --mqtt mqtt://host:1883 --sn <sn> [--key k] [--role 1] [--pace 1] [--timeout 60] [--no-download] [--json] [-v] file.wav [...]");
  process.exit(values.help ? 0 : 2);
}

const result = await simulateToy({
  mqtt: values.mqtt!,
  sn: values.sn!,
  key: values.key,
  role: Number(values.role),
  files: positionals,
  pace: Number(values.pace),
  replyTimeoutMs: Number(values.timeout) * 1000,
  noDownload: values["no-download"],
  log: values.verbose ? (line) => console.error(`sim: ${line}`) : undefined,
}).catch((e) => {
  console.error(`toy-sim: ${(e as Error).message}`);
  process.exit(1);
});

if (values.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  console.log(`toy ${result.sn}: token ${result.token}, UDP ${result.udp.host}:${result.udp.port}`);
  if (result.greetingUrl) console.log(`greeting: ${result.greetingUrl}`);
  for (const t of result.turns) printTurn(t);
}
process.exit(result.ok ? 0 : 1);

function printTurn(t: SimTurn) {
  console.log(`\n${t.file} (recording ${t.recordingId}, ${(t.timings.speechMs / 1000).toFixed(1)} s of speech): ${t.ok ? "ok" : `FAILED: ${t.error}`}`);
  console.log(`  heard: ${t.transcript ?? "(set [toy] integration_mirror = true to see transcripts here; Hearth's log has them)"}`);
  if (t.replyTexts.length) console.log(`  reply: ${t.replyTexts.join(" ")}`);
  for (const a of t.audioplays) {
    const mp3 = t.mp3s.find((m) => m.order === a.order);
    const info = mp3 ? (mp3.error ? `ERROR ${mp3.error}` : `${mp3.bytes} bytes, ${mp3.seconds.toFixed(2)} s at ${mp3.sampleRate} Hz`) : "";
    console.log(`  ${a.order}. ${a.url} ${info}`);
  }
  const ms = (v?: number) => (v === undefined ? "-" : `${v} ms`);
  console.log(
    `  end of speech -> first audioplay ${ms(t.timings.firstAudioplayMs)} -> first MP3 byte ${ms(t.timings.firstMp3ByteMs)} -> last audioplay ${ms(t.timings.lastAudioplayMs)} -> audioplay_cmd ${ms(t.timings.audioplayCmdMs)} (total ${t.total ?? "-"})`,
  );
}
