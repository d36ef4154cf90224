// TTS: time to first byte and real-time factor of POST /v1/audio/speech (MP3, streamed) against
// engines.tts.synthesize called directly (first sentence; whole text).
import { decodeAudio } from "../src/audio/decode.ts";
import { Mp3Encoder } from "../src/audio/mp3.ts";
import { collectAudio } from "../src/pipeline/speak.ts";
import { verdict, type Row, type Section } from "./report.ts";
import type { BenchContext } from "./setup.ts";
import { interleave, now, pairedDiffs, pairedRatios, round, stat } from "./stats.ts";

export const SPEECH_SENTENCES = [
  "The little rabbit looked up at the stars and wondered how far away they were.",
  "His grandmother told him that every star is a sun, much bigger than our own.",
  "He decided that one day he would build a rocket and visit the nearest one.",
  "But first he needed a very long nap in his warm burrow under the hill.",
];
const TEXT = SPEECH_SENTENCES.join(" ");

interface SpeechRun {
  ttfbMs: number;
  totalMs: number;
  bytes: Uint8Array;
}

async function postSpeech(url: string, voice: string): Promise<SpeechRun> {
  const t0 = now();
  const res = await fetch(`${url}/v1/audio/speech`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: "tts-1", input: TEXT, voice, response_format: "mp3" }),
  });
  if (!res.ok || !res.body) throw new Error(`speech failed: HTTP ${res.status} ${await res.text()}`);
  let ttfb = NaN;
  const parts: Uint8Array[] = [];
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    if (Number.isNaN(ttfb) && chunk.length) ttfb = now() - t0;
    parts.push(chunk);
  }
  return { ttfbMs: ttfb, totalMs: now() - t0, bytes: Buffer.concat(parts) };
}

export async function benchTts(ctx: BenchContext): Promise<Omit<Section, "seconds">> {
  const tts = ctx.hearth.engines.tts;
  const voice = ctx.hearth.pipeline.voices.resolve();
  // Audio length of the text (the engine is deterministic for the fixture; for real voices close enough).
  const whole = await collectAudio(tts.synthesize(TEXT, { voice }));
  const audioSeconds = whole!.samples.length / whole!.sampleRate;

  const floor = async () => {
    const t0 = now();
    await collectAudio(tts.synthesize(SPEECH_SENTENCES[0]!, { voice }));
    const firstMs = now() - t0;
    const t1 = now();
    const all = await collectAudio(tts.synthesize(TEXT, { voice }));
    const totalMs = now() - t1;
    return { firstMs, totalMs, seconds: all!.samples.length / all!.sampleRate };
  };
  const { a: server, b: direct } = await interleave(ctx.runs, ctx.warmup, () => postSpeech(ctx.hearth.url, voice), floor);

  const mp3 = await decodeAudio(server[0]!.bytes);
  const mp3Seconds = mp3.samples.length / mp3.sampleRate;
  const sTtfb = server.map((x) => x.ttfbMs);
  const fFirst = direct.map((x) => x.firstMs);
  const sRtf = server.map((x) => x.totalMs / 1000 / audioSeconds);
  const fRtf = direct.map((x) => x.totalMs / 1000 / x.seconds);
  const rTtfb = stat(pairedRatios(sTtfb, fFirst));
  const rRtf = stat(pairedRatios(sRtf, fRtf));

  // What a request costs besides synthesis: an HTTP round trip and a fresh MP3 encoder (WASM instance).
  const firstAudio = (await collectAudio(tts.synthesize(SPEECH_SENTENCES[0]!, { voice })))!;
  const fixed = { http: [] as number[], encoderCreate: [] as number[], encodeFirst: [] as number[], encodeFirstPiece: [] as number[] };
  for (let i = 0; i < Math.max(5, ctx.runs); i++) {
    let t = now();
    await (await fetch(`${ctx.hearth.url}/health`)).arrayBuffer();
    fixed.http.push(now() - t);
    t = now();
    const encoder = await Mp3Encoder.create(whole!.sampleRate, 64);
    fixed.encoderCreate.push(now() - t);
    t = now();
    encoder.encode(firstAudio.samples);
    fixed.encodeFirst.push(now() - t);
    const other = await Mp3Encoder.create(whole!.sampleRate, 64);
    t = now();
    other.encode(firstAudio.samples.subarray(0, 8192));
    fixed.encodeFirstPiece.push(now() - t);
  }
  const http = stat(fixed.http).median;
  const enc = stat(fixed.encoderCreate).median;
  const encFirst = stat(fixed.encodeFirst).median;
  const encPiece = stat(fixed.encodeFirstPiece).median;
  const firstSeconds = firstAudio.samples.length / firstAudio.sampleRate;
  const deltaTtfb = stat(pairedDiffs(sTtfb, fFirst));

  const rows: Row[] = [
    {
      area: "TTS",
      metric: "time to first byte vs 1st sentence direct",
      unit: "ms",
      server: stat(sTtfb),
      floor: stat(fFirst),
      ratio: rTtfb,
      delta: deltaTtfb,
      target: "ratio <= 1.10",
      verdict: verdict(rTtfb.median <= 1.1),
    },
    {
      area: "TTS",
      metric: `RTF, ${SPEECH_SENTENCES.length} sentences, ${audioSeconds.toFixed(1)} s audio`,
      server: stat(sRtf),
      floor: stat(fRtf),
      ratio: rRtf,
      delta: stat(pairedDiffs(server.map((x) => x.totalMs), direct.map((x) => x.totalMs))),
      target: "ratio <= 1.10",
      verdict: verdict(rRtf.median <= 1.1),
    },
  ];
  const notes = [
    `Server: POST /v1/audio/speech {response_format: "mp3"} with ${SPEECH_SENTENCES.length} sentences (${TEXT.length} characters), body read as a stream; TTFB = request sent -> first body byte; RTF = whole response time / audio seconds. Floor: engines.tts.synthesize on the first sentence alone (TTFB floor) and on the whole text (RTF floor), same voice (${voice}), chunks collected. The MP3 decodes to ${mp3Seconds.toFixed(2)} s (${audioSeconds.toFixed(2)} s synthesized; LAME adds its delay and padding).`,
    `Where the first-byte difference goes: through Hearth the first byte comes ${round(deltaTtfb.median)} ms after the direct synthesis of the first sentence would have finished. Measured alone: HTTP round trip of an empty request ${round(http)} ms; creating the MP3 encoder (WASM instance + configure) ${round(enc)} ms, done in src/api/speech.ts before synthesis starts; encoding the whole first sentence (${firstSeconds.toFixed(2)} s of audio) ${round(encFirst)} ms before its first byte is sent, where the first 8192 samples alone take ${round(encPiece)} ms.`,
    `Fix (src/api/speech.ts, not owned by the bench): validate the format with checkSpeechFormat() first, then start the synthesis (call iterator.next() on tts.synthesize(), which only starts when iterated) before awaiting createSpeechEncoder(), so the encoder is created while the first sentence is synthesized, and enqueue the first sentence's MP3 piece by piece (≤ 8192 samples per encode() + enqueue) instead of encoding the whole sentence before the first write. Then the first byte costs about one piece's encoding after synthesis. With a real voice the synthesis of a sentence takes hundreds of ms, so the fixed part (HTTP + encoder) is a few % of it; the whole-sentence encode before the first write is the part that grows with sentence length.`,
  ];
  return { name: "TTS", rows, notes, details: { audioSeconds, mp3Seconds, serverTtfbMs: sTtfb.map((x) => round(x)), floorFirstMs: fFirst.map((x) => round(x)), serverRtf: sRtf, floorRtf: fRtf, fixedMs: { http, encoderCreate: enc, encodeFirstSentence: encFirst, encodeFirstPiece: encPiece, firstSentenceSeconds: firstSeconds } } };
}
