// xiaozhi: a simulated xiaozhi-esp32 device (scripts/lib/xiaozhi-simulator.ts: version check,
// WebSocket, microphone Opus at real-time pace) talking to this Hearth, end of speech -> first
// audio frame, against the same turn's floor: STT(utterance) + LLM until its first sentence + TTS
// of that sentence + resampling and Opus-encoding its first frame, each measured directly. Also:
// auto mode (Hearth's VAD finds the end of speech), barge-in (abort -> tts stop), and the Opus
// encoder against the MP3 encoder on the same 60 s of speech.
import { resample } from "../src/audio/resample.ts";
import { Mp3Encoder } from "../src/audio/mp3.ts";
import { OpusEncoder } from "../src/audio/opus.ts";
import { downstreamEncoder, downstreamFrames } from "../src/devices/xiaozhi/opus.ts";
import { splitSentences } from "../src/pipeline/sentences.ts";
import { collectAudio } from "../src/pipeline/speak.ts";
import { Channel } from "../src/util/channel.ts";
import { verdict, type Row, type Section } from "./report.ts";
import { BENCH_ROLE, floorPrompt, type BenchContext, type Utterance } from "./setup.ts";
import { now, pairedRatios, round, stat } from "./stats.ts";

const MAC = "aa:bb:cc:be:00:01";

interface FloorRun {
  sttMs: number;
  llmFirstSentenceMs: number;
  ttsMs: number;
  opusMs: number;
  floorMs: number;
}

/** Each stage of the turn up to its first audio frame, directly, in sequence, on the same utterance. */
async function floorFirstFrame(ctx: BenchContext, u: Utterance): Promise<FloorRun> {
  const engines = ctx.hearth.engines;
  const { stt, messages } = await floorPrompt(ctx, u);
  const chunks = new Channel<string>();
  let first: string | undefined;
  let firstAt = NaN;
  const t0 = now();
  const consumer = (async () => {
    for await (const s of splitSentences(chunks, ctx.config.toy.sentence_separators)) {
      if (first === undefined) {
        first = s;
        firstAt = now() - t0;
      }
    }
  })();
  await ctx.floorLlm
    .generate(messages, { grammar: BENCH_ROLE.grammar, maxTokens: ctx.config.llm.max_tokens, temperature: BENCH_ROLE.temperature }, (c) => chunks.push(c))
    .then(
      () => chunks.close(),
      (e) => (chunks.close(e), Promise.reject(e)),
    );
  await consumer;
  const voice = ctx.hearth.pipeline.voices.resolve(null, BENCH_ROLE.language);
  let t = now();
  const audio = await collectAudio(engines.tts.synthesize(first!, { voice }));
  const ttsMs = now() - t;
  t = now();
  const encoder = downstreamEncoder();
  encoder.encode(downstreamFrames(audio!)[0]!);
  encoder.close();
  const opusMs = now() - t;
  return { sttMs: stt.ms, llmFirstSentenceMs: firstAt, ttsMs, opusMs, floorMs: stt.ms + firstAt + ttsMs + opusMs };
}

/** 60 s of the bench's speech at 24 kHz (the downstream rate), repeated as needed. */
function minuteOfSpeech(ctx: BenchContext): Float32Array {
  const parts = ctx.utterances.map((u) => resample(u.samples, 16000, 24000));
  const out = new Float32Array(24000 * 60);
  for (let at = 0, i = 0; at < out.length; i++) {
    const p = parts[i % parts.length]!;
    out.set(p.subarray(0, out.length - at), at);
    at += p.length;
  }
  return out;
}

function encodeOpus(samples: Float32Array, complexity?: number): number {
  const enc = new OpusEncoder({ sampleRate: 24000, frameMs: 60, complexity });
  let bytes = 0;
  for (let o = 0; o + enc.frameSize <= samples.length; o += enc.frameSize) bytes += enc.encode(samples.subarray(o, o + enc.frameSize)).length;
  enc.close();
  return bytes;
}

async function encodeMp3(samples: Float32Array): Promise<number> {
  const enc = await Mp3Encoder.create(24000, 32);
  return enc.encode(samples).length + enc.flush().length;
}

export async function benchXiaozhi(ctx: BenchContext): Promise<Omit<Section, "seconds">> {
  const front = ctx.hearth.xiaozhi;
  const encoderRows = await encoderSpeed(ctx);
  if (!front) {
    const why = "startHearth started no xiaozhi front end ([xiaozhi] enabled = false)";
    return { name: "xiaozhi", rows: [{ area: "xiaozhi", metric: "1st audio vs floor", target: "<= 1.15 x floor", verdict: "SKIP", note: why }, ...encoderRows.rows], notes: [why, ...encoderRows.notes], details: encoderRows.details };
  }
  const { SimXiaozhi } = await import("../scripts/lib/xiaozhi-simulator.ts");
  const u = ctx.utterances[0]!;
  const device = new SimXiaozhi({ ota: `${ctx.hearth.url}/xiaozhi/ota/`, mac: MAC });
  await device.boot();
  await device.connect();
  const first: number[] = [];
  const floors: FloorRun[] = [];
  const auto: number[] = [];
  const bargeIn: number[] = [];
  const problems: string[] = [];
  try {
    for (let r = -ctx.warmup; r < ctx.runs; r++) {
      // The reply is cut after its first audio (the abort is measured too): the rounds stay short.
      const turn = await device.say(u.file, { mode: "manual", pace: 1, abortAfterMs: 100, replyTimeoutMs: 120_000 });
      const f = await floorFirstFrame(ctx, u);
      if (r < 0) continue;
      if (turn.error) problems.push(turn.error);
      first.push(turn.timings.firstAudioMs ?? NaN);
      bargeIn.push(device.lastAbort?.ttsStopMs ?? NaN);
      floors.push(f);
      ctx.log(`xiaozhi round ${r + 1}/${ctx.runs}: first audio ${turn.timings.firstAudioMs} ms, floor ${round(f.floorMs)} ms, abort -> tts stop ${device.lastAbort?.ttsStopMs} ms`);
    }
    for (let r = 0; r < Math.min(3, ctx.runs); r++) {
      const turn = await device.say(u.file, { mode: "auto", pace: 1, abortAfterMs: 100, replyTimeoutMs: 120_000 });
      if (turn.error) problems.push(`auto: ${turn.error}`);
      auto.push(turn.timings.firstAudioMs ?? NaN);
    }
  } finally {
    device.close();
  }
  const floorMs = floors.map((f) => f.floorMs);
  const ratio = stat(pairedRatios(first, floorMs));
  const med = (xs: number[]) => round(stat(xs).median);
  const rows: Row[] = [
    {
      area: "xiaozhi",
      metric: "end of speech -> 1st audio frame vs floor (push to talk)",
      unit: "ms",
      server: stat(first),
      floor: stat(floorMs),
      ratio,
      delta: stat(first.map((x, i) => x - floorMs[i]!)),
      target: "<= 1.15 x floor",
      verdict: problems.length ? "FAIL" : verdict(ratio.median <= 1.15),
    },
    {
      area: "xiaozhi",
      metric: "end of speech -> 1st audio frame (auto: Hearth's VAD ends the speech)",
      unit: "ms",
      server: stat(auto),
      verdict: "INFO",
      note: `includes [xiaozhi] end_of_speech_seconds = ${ctx.config.xiaozhi.end_of_speech_seconds} s of silence`,
    },
    { area: "xiaozhi", metric: "barge-in: abort -> tts stop", unit: "ms", server: stat(bargeIn), target: "<= 200 ms", verdict: verdict(stat(bargeIn).median <= 200) },
    ...encoderRows.rows,
  ];
  const notes = [
    `A simulated xiaozhi-esp32 device (scripts/lib/xiaozhi-simulator.ts) checks in at /xiaozhi/ota/, opens the WebSocket (protocol v1) and per round says ${u.name} (${u.seconds.toFixed(2)} s) push-to-talk: listen start, Opus frames at real-time pace, listen stop; times are from listen stop to the first binary frame. It aborts each reply 100 ms after its first frame (measured as barge-in). Role 1 is pinned by a grammar (BENCH_ROLE), with no history.`,
    `Floor = STT(utterance) + LLM until its first sentence + TTS of that sentence + resampling it to 24 kHz and Opus-encoding its first 60 ms frame, each measured directly in sequence. Floor medians (ms): STT ${med(floors.map((f) => f.sttMs))}, LLM to 1st sentence ${med(floors.map((f) => f.llmFirstSentenceMs))}, TTS 1st sentence ${med(floors.map((f) => f.ttsMs))}, Opus 1st frame ${med(floors.map((f) => f.opusMs))}.`,
    `Auto mode: the same utterance with listen start (auto) and no stop; the device keeps streaming silence, and Hearth's streaming silero VAD ends the speech after end_of_speech_seconds of silence, so its first audio comes that much later by design.`,
    ...encoderRows.notes,
    problems.length ? `Problems: ${problems.join("; ")}.` : "Every round received audio after tts start only, each frame decoding to 1440 samples.",
  ];
  return { name: "xiaozhi", rows, notes, details: { firstAudioMs: first, floor: floors, autoFirstAudioMs: auto, bargeInMs: bargeIn, ...encoderRows.details, problems } };
}

/** Opus (as sent to devices, and at libopus' default complexity) against MP3 (as sent to FoloToy toys) on the same 60 s. */
async function encoderSpeed(ctx: BenchContext): Promise<{ rows: Row[]; notes: string[]; details: Record<string, unknown> }> {
  const speech = minuteOfSpeech(ctx);
  const opus5: number[] = [];
  const opus10: number[] = [];
  const mp3: number[] = [];
  const bytes = { opus5: 0, opus10: 0, mp3: 0 };
  await encodeMp3(speech.subarray(0, 24000)); // warm-up (WASM compile)
  encodeOpus(speech.subarray(0, 24000));
  for (let r = 0; r < ctx.runs; r++) {
    let t = now();
    bytes.opus5 = encodeOpus(speech);
    opus5.push(now() - t);
    t = now();
    bytes.mp3 = await encodeMp3(speech);
    mp3.push(now() - t);
    t = now();
    bytes.opus10 = encodeOpus(speech, 10);
    opus10.push(now() - t);
  }
  const rt = (ms: number[]) => round(60_000 / stat(ms).median, 0);
  const kbps = (b: number) => round((b * 8) / 60 / 1000);
  const rows: Row[] = [
    {
      area: "xiaozhi",
      metric: "Opus encode, 60 s of speech at 24 kHz (complexity 5, as sent)",
      unit: "ms",
      server: stat(opus5),
      floor: stat(mp3),
      ratio: stat(pairedRatios(opus5, mp3)),
      verdict: "INFO",
      note: `floor column = MP3 32 kbps (wasm-media-encoders); ${rt(opus5)}x vs ${rt(mp3)}x real time`,
    },
    { area: "xiaozhi", metric: "Opus encode at libopus' default complexity 10", unit: "ms", server: stat(opus10), verdict: "INFO", note: `${rt(opus10)}x real time` },
  ];
  const notes = [
    `Encoders on the same 60 s of speech (the bench utterances at 24 kHz), ${ctx.runs} runs: Opus via opusscript (libopus 1.4 in WASM), 60 ms frames, VOIP, complexity 5 ${round(stat(opus5).median)} ms (${kbps(bytes.opus5)} kbps), complexity 10 ${round(stat(opus10).median)} ms (${kbps(bytes.opus10)} kbps); MP3 32 kbps via wasm-media-encoders ${round(stat(mp3).median)} ms. A reply sentence is encoded one frame at a time as it is sent, so this cost is spread over its playback.`,
  ];
  return { rows, notes, details: { opusComplexity5Ms: opus5, opusComplexity10Ms: opus10, mp3Ms: mp3, bytes } };
}
