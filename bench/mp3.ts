// MP3: the three encoders on 60 s of speech (scripts/bench-mp3.ts, reused as is), and the cost
// of encoding each reply sentence as a share of synthesizing it, for the same audio.
import { join } from "node:path";
import { existsSync } from "node:fs";
import { benchMp3, type Mp3BenchResult } from "../scripts/bench-mp3.ts";
import { Mp3Encoder } from "../src/audio/mp3.ts";
import { toyMp3 } from "../src/devices/folotoy/audio-store.ts";
import { collectAudio } from "../src/pipeline/speak.ts";
import type { AudioChunk } from "../src/engines/types.ts";
import { verdict, type Row, type Section } from "./report.ts";
import { REPLY_SENTENCES, type BenchContext } from "./setup.ts";
import { SPEECH_SENTENCES } from "./tts.ts";
import { now, round, stat } from "./stats.ts";

/** The /v1/audio/speech path: one streaming encoder at 64 kbps for the response. */
async function speechEncode(chunks: AudioChunk[]): Promise<number> {
  const enc = await Mp3Encoder.create(chunks[0]!.sampleRate, 64);
  let n = 0;
  for (const c of chunks) n += enc.encode(c.samples).length;
  return n + enc.flush().length;
}

export async function benchMp3Section(ctx: BenchContext): Promise<Omit<Section, "seconds">> {
  const tts = ctx.hearth.engines.tts;
  const voice = ctx.hearth.pipeline.voices.resolve();
  const sentences = [...REPLY_SENTENCES, ...SPEECH_SENTENCES];

  // Same audio both ways: synthesize each sentence (timed), then encode exactly that audio (timed).
  const synthMs: number[] = [];
  const toyEncMs: number[] = [];
  const apiEncMs: number[] = [];
  let audioSeconds = 0;
  for (let r = -ctx.warmup; r < ctx.runs; r++) {
    let s = 0;
    let toy = 0;
    let api = 0;
    let seconds = 0;
    for (const text of sentences) {
      let t = now();
      const audio = await collectAudio(tts.synthesize(text, { voice }));
      s += now() - t;
      if (!audio) continue;
      seconds += audio.samples.length / audio.sampleRate;
      t = now();
      await toyMp3(audio); // what a toy turn does per sentence (32 kbps, encoder per sentence)
      toy += now() - t;
      t = now();
      await speechEncode([audio]); // what /v1/audio/speech does (64 kbps)
      api += now() - t;
    }
    if (r < 0) continue;
    synthMs.push(s);
    toyEncMs.push(toy);
    apiEncMs.push(api);
    audioSeconds = seconds;
  }
  const toyShare = stat(toyEncMs.map((e, i) => (100 * e) / synthMs[i]!));
  const apiShare = stat(apiEncMs.map((e, i) => (100 * e) / synthMs[i]!));
  const synthRtf = stat(synthMs.map((x) => x / 1000 / audioSeconds));
  const encRealtime = stat(toyEncMs.map((x) => audioSeconds / (x / 1000)));

  // The encoder comparison of scripts/bench-mp3.ts (60 s of speech, lamejs vs WASM vs native lame).
  let encoders: Mp3BenchResult[] = [];
  let encoderNote = "";
  const source = join(import.meta.dir, "../../shared/audio/utt01.wav");
  const sourcePath = existsSync(source) ? source : ctx.utterances[0]?.file;
  if (sourcePath) {
    encoders = await benchMp3({ runs: Math.min(ctx.runs, 5), sourcePath });
  } else encoderNote = "no speech file to encode: encoder comparison skipped";

  const wasm32 = encoders.find((e) => e.encoder === "wasm-media-encoders" && e.kbps === 32);
  const rows: Row[] = [
    {
      area: "MP3",
      metric: `toy encode (32 kbps) as % of synthesis`,
      unit: "%",
      server: toyShare,
      target: "<= 5%",
      verdict: verdict(toyShare.median <= 5),
    },
    {
      area: "MP3",
      metric: `/v1/audio/speech encode (64 kbps) as % of synthesis`,
      unit: "%",
      server: apiShare,
      target: "<= 5%",
      verdict: verdict(apiShare.median <= 5),
    },
    {
      area: "MP3",
      metric: `synthesis RTF of the same ${sentences.length} sentences (${audioSeconds.toFixed(1)} s)`,
      server: synthRtf,
      verdict: "INFO",
    },
    ...encoders.map(
      (e): Row => ({
        area: "MP3",
        metric: `${e.encoder} ${e.kbps} kbps, 60 s speech`,
        unit: "ms",
        server: { median: e.medianMs, min: e.minMs, max: e.maxMs, n: Math.min(ctx.runs, 5) },
        note: `${e.xRealtime}x realtime`,
        verdict: "INFO",
      }),
    ),
  ];
  const needed = (rtf: number) => Math.round(20 / rtf);
  const notes = [
    `Per sentence, ${sentences.length} sentences: synthesis with engines.tts.synthesize (timed), then the same audio encoded as a toy turn does (toyMp3: 32 kbps, ≤24 kHz, a new encoder per sentence) and as /v1/audio/speech does (64 kbps streaming encoder). Share = Σ encode / Σ synthesis per round. The toy encoder runs at ${Math.round(encRealtime.median)}x real time here (median).`,
    `Encode cost / synthesis cost = (1 / encoder speed in x-realtime) / TTS RTF, so ≤ 5% needs an encoder at least 20 / RTF times faster than real time: ${needed(synthRtf.median)}x for this profile's measured synthesis RTF ${synthRtf.median.toFixed(4)}.`,
    ...(ctx.profile === "test"
      ? [
          `The fixture voice is a tone generator (synthesis RTF ≈ ${synthRtf.median.toFixed(4)}, ~${Math.round(1 / synthRtf.median)}x real time), so any real encoder is a large share of it: the % rows cannot pass on the test profile and say nothing about a real voice. For real voices see bench/README.md: sherpa-onnx publishes RTF 0.77 (1 thread) to 0.36 (4 threads) for a medium Piper voice on a Pi 4, so the encoder needs 26–56x real time there.`,
        ]
      : []),
    ...(wasm32 ? [`Encoder comparison (scripts/bench-mp3.ts benchMp3(), 60 s of speech at 22050 Hz, ${Math.min(ctx.runs, 5)} runs after a warm-up): wasm-media-encoders 32 kbps ${wasm32.medianMs} ms = ${wasm32.xRealtime}x real time; ${encoders.filter((e) => e !== wasm32).map((e) => `${e.encoder} ${e.kbps} kbps ${e.xRealtime}x`).join(", ")}.`] : []),
    ...(encoderNote ? [encoderNote] : []),
  ];
  return { name: "MP3", rows, notes, details: { synthMs: synthMs.map((x) => round(x, 2)), toyEncodeMs: toyEncMs.map((x) => round(x, 2)), apiEncodeMs: apiEncMs.map((x) => round(x, 2)), audioSeconds, encoderXRealtime: encRealtime, encoders } };
}
