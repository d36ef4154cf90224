// Recognition while the speaker talks (src/pipeline/listen.ts) against recognizing the whole
// recording after it ends: the time from the end of the recording to its transcript, for
// recordings of 3 s and more fed at real-time pace, and the WER of both.
import { concatSamples } from "../src/audio/bytes.ts";
import { SileroSpeechStreams } from "../src/engines/vad/silero-stream.ts";
import { Listening, MIN_REGION_SECONDS, PAUSE_SECONDS } from "../src/pipeline/listen.ts";
import { wordErrorRate } from "../test/support/hearth.ts";
import { floorTranscribe } from "./floor.ts";
import { verdict, type Section } from "./report.ts";
import type { BenchContext, Utterance } from "./setup.ts";
import { now, pairedRatios, round, stat } from "./stats.ts";

/** A toy's recording goes on after the last word: xiaozhi's end_of_speech_seconds, test/support/quiet-audio.ts. */
const TOY_TAIL_SECONDS = 0.6;
const CHUNK_SECONDS = 0.02;

interface Recording {
  name: string;
  reference: string;
  samples: Float32Array;
}

interface Run {
  name: string;
  seconds: number;
  liveMs: number;
  batchMs: number;
  live: string;
  batch: string;
  floor: string;
  reference: string;
  beforeEndSeconds: number;
}

/** The files of 3 s and more alone, and every file followed by two others: 6-9 s recordings. */
function recordings(utterances: Utterance[]): Recording[] {
  const out: Recording[] = utterances.filter((u) => u.seconds >= 3).map((u) => ({ name: u.name, reference: u.reference, samples: u.samples }));
  utterances.forEach((u, i) => {
    const parts = [u, utterances[(i + 1) % utterances.length]!, utterances[(i + 3) % utterances.length]!];
    out.push({ name: parts.map((p) => p.name.replace(".wav", "")).join("+"), reference: parts.map((p) => p.reference).join(" "), samples: concatSamples(parts.map((p) => p.samples)) });
  });
  return out;
}

export async function benchListen(ctx: BenchContext): Promise<Omit<Section, "seconds">> {
  const { hearth, recognizer, config } = ctx;
  const stt = hearth.engines.stt;
  const pauses = new SileroSpeechStreams(hearth.engines.profile.vad, { threshold: config.vad.threshold, minSilenceSeconds: PAUSE_SECONDS, maxSpeechSeconds: config.vad.max_segment_seconds });
  const base = recordings(ctx.utterances);

  /** Feeds one recording at real-time pace, then measures the end -> transcript of both ways, back to back. */
  const measure = async (r: Recording, tailSeconds: number): Promise<Run> => {
    const samples = tailSeconds ? concatSamples([r.samples, new Float32Array(Math.round(tailSeconds * 16000))]) : r.samples;
    const listening = new Listening({ stt, detectors: pauses, sampleRate: 16000 });
    const step = Math.round(CHUNK_SECONDS * 16000);
    const start = now();
    for (let i = 0; i < samples.length; i += step) {
      const wait = start + (i / 16000) * 1000 - now();
      if (wait > 0) await Bun.sleep(wait);
      listening.push(samples.subarray(i, i + step));
    }
    // The last chunk arrived at its real time: that is the end of the recording.
    const endWait = start + (samples.length / 16000) * 1000 - now();
    if (endWait > 0) await Bun.sleep(endWait);
    let t0 = now();
    const heard = await listening.finish();
    const liveMs = now() - t0;
    t0 = now();
    const batch = await stt.transcribe(samples, 16000);
    const batchMs = now() - t0;
    const floor = await floorTranscribe(recognizer, samples);
    return { name: r.name, seconds: samples.length / 16000, liveMs, batchMs, live: heard.text, batch: batch.text, floor: floor.text, reference: r.reference, beforeEndSeconds: heard.decodedBeforeEndSeconds };
  };

  // Warm-up: the first decode pays for allocations.
  await measure(base[0]!, TOY_TAIL_SECONDS);
  const toyLike: Run[] = [];
  const asIs: Run[] = [];
  for (const r of base) {
    toyLike.push(await measure(r, TOY_TAIL_SECONDS));
    ctx.log(`listen ${r.name} (+${TOY_TAIL_SECONDS} s): live ${round(toyLike.at(-1)!.liveMs)} ms, whole ${round(toyLike.at(-1)!.batchMs)} ms`);
  }
  for (const r of base) {
    asIs.push(await measure(r, 0));
    ctx.log(`listen ${r.name} (as is): live ${round(asIs.at(-1)!.liveMs)} ms, whole ${round(asIs.at(-1)!.batchMs)} ms`);
  }

  const wer = (runs: Run[], pick: (r: Run) => string) => runs.reduce((n, r) => n + wordErrorRate(r.reference, pick(r)), 0) / runs.length;
  const timing = (runs: Run[]) => ({ live: stat(runs.map((r) => r.liveMs)), batch: stat(runs.map((r) => r.batchMs)), ratio: stat(pairedRatios(runs.map((r) => r.liveMs), runs.map((r) => r.batchMs))) });
  const toy = timing(toyLike);
  const plain = timing(asIs);
  const all = [...toyLike, ...asIs];
  const werLive = wer(all, (r) => r.live);
  const werBatch = wer(all, (r) => r.batch);
  const werFloor = wer(all, (r) => r.floor);
  const seconds = stat(base.map((r) => r.samples.length / 16000));
  const share = (runs: Run[]) => stat(runs.map((r) => r.beforeEndSeconds / r.seconds));

  const rows: Section["rows"] = [
    {
      area: "Listen",
      metric: `end of recording -> transcript, ${base.length} recordings of ${round(seconds.min, 1)}-${round(seconds.max, 1)} s + ${TOY_TAIL_SECONDS} s of silence (as a toy's), live vs whole`,
      server: toy.live,
      floor: toy.batch,
      ratio: toy.ratio,
      target: "ratio <= 0.30",
      verdict: verdict(toy.ratio.median <= 0.3),
    },
    {
      area: "Listen",
      metric: `the same recordings as the files end (~0.15 s after the last word), live vs whole`,
      server: plain.live,
      floor: plain.batch,
      ratio: plain.ratio,
      verdict: "INFO",
    },
    {
      area: "Listen",
      metric: `WER, ${all.length} recognitions: live ${werLive.toFixed(3)}, whole (transcribe) ${werBatch.toFixed(3)}, floor ${werFloor.toFixed(3)}`,
      ratio: stat([werLive - werFloor]),
      target: "live - floor <= 0.02",
      verdict: verdict(werLive - werFloor <= 0.02),
    },
  ];
  const notes = [
    `Recordings: ${base.map((r) => r.name).join(", ")} (the shared files of 3 s and more, and each file followed by two others, concatenated as they are: the fixture's utterances are 1.7-3.6 s). Fed to a Listening in ${CHUNK_SECONDS * 1000} ms chunks at real-time pace (pause detector: silero, ${PAUSE_SECONDS} s of silence; stretches of ${MIN_REGION_SECONDS} s and more kept). Timed from the moment the last chunk is due to the joined transcript; "whole" is the engine's transcribe() on the same samples started after that, alone (the batch path a turn took before); the floor is the bare sherpa decode of the same samples. The WER row's ratio column is live minus floor.`,
    `Share of the audio recognized (or being recognized) when the recording ended: ${fmtShare(share(toyLike))} with the toy-like ending, ${fmtShare(share(asIs))} as the files end. With only ~0.15 s of silence after the last word the pause detector (${PAUSE_SECONDS} s of silence, a few 32 ms windows of silero's own delay) has not seen the end yet: the whole recording is the tail and the gain is small. A recording that goes on ${TOY_TAIL_SECONDS} s after the speech (a toy's, or xiaozhi's end_of_speech_seconds) leaves only silence for after the end.`,
  ];
  return { name: "Listen", rows, notes, details: { toyLike, asIs, wer: { live: werLive, batch: werBatch, floor: werFloor } } };
}

function fmtShare(s: { median: number; min: number; max: number }) {
  return `${Math.round(s.median * 100)}% (${Math.round(s.min * 100)}-${Math.round(s.max * 100)}%)`;
}
