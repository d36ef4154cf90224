// Toy turn: end of speech -> first audioplay for a simulated FoloToy (MQTT + real-time UDP speech,
// src/toy/simulator.ts) talking to this Hearth, against
//  - the floor: STT(utterance) + LLM until its first sentence + TTS of that sentence + its MP3,
//    each stage measured directly (recognizer, node-llama-cpp, engines.tts, toyMp3), and
//  - a non-streaming pipeline: whole reply, then every sentence synthesized, then every MP3,
//    computed from the same direct measurements.
import { decodeAudio } from "../src/audio/decode.ts";
import { collectAudio } from "../src/pipeline/speak.ts";
import { splitSentences } from "../src/pipeline/sentences.ts";
import { Channel } from "../src/util/channel.ts";
import { verdict, type Row, type Section } from "./report.ts";
import { BENCH_ROLE, floorPrompt, REPLY, REPLY_SENTENCES, type BenchContext, type Utterance } from "./setup.ts";
import { now, pairedRatios, round, stat } from "./stats.ts";

export const BENCH_SN = "benchtoy0001";

/** Decoded duration (s) of each reply sentence's toy MP3, made directly: what the toy must receive, in order. */
export async function expectedReplyDurations(ctx: BenchContext): Promise<number[]> {
  const { toyMp3 } = await import("../src/devices/folotoy/audio-store.ts");
  const tts = ctx.hearth.engines.tts;
  const voice = ctx.hearth.pipeline.voices.resolve(null, BENCH_ROLE.language);
  const out: number[] = [];
  for (const s of REPLY_SENTENCES) {
    const audio = await collectAudio(tts.synthesize(s, { voice }));
    const mp3 = await decodeAudio(await toyMp3(audio!));
    out.push(+(mp3.samples.length / mp3.sampleRate).toFixed(3));
  }
  return out;
}

/** The fixture voice is deterministic (exact durations); real VITS voices vary their durations a little. */
export function durationTolerance(ctx: BenchContext): number {
  return ctx.profile === "test" ? 0.002 : 0.2;
}

/** Problems with one received turn: missing, extra or misordered sentences, or audio that is not the sentence announced. */
export function checkTurn(turn: { ok: boolean; error?: string; audioplays: { order: number }[]; total?: number; mp3s: { order: number; seconds: number; error?: string }[] }, expected: number[], tolerance: number): string[] {
  const problems: string[] = [];
  if (!turn.ok) problems.push(turn.error ?? "turn failed");
  if (turn.audioplays.length !== expected.length) problems.push(`${turn.audioplays.length} audioplay, expected ${expected.length}`);
  turn.audioplays.forEach((a, i) => a.order !== i + 1 && problems.push(`audioplay #${i + 1} has order ${a.order}`));
  if (turn.total !== expected.length) problems.push(`audioplay_cmd total ${turn.total}`);
  for (const m of turn.mp3s) {
    if (m.error) problems.push(`MP3 ${m.order}: ${m.error}`);
    else if (Math.abs(m.seconds - expected[m.order - 1]!) > tolerance) {
      // which sentence this audio is, by duration
      const best = expected.map((d, i) => [Math.abs(d - m.seconds), i + 1] as const).sort((a, b) => a[0] - b[0])[0]!;
      problems.push(`MP3 ${m.order} lasts ${m.seconds} s, expected ${expected[m.order - 1]} s${best[1] !== m.order ? ` (it is sentence ${best[1]}'s audio)` : ""}`);
    }
  }
  return problems;
}

interface FloorRun {
  transcript: string;
  sttMs: number;
  llmFirstSentenceMs: number;
  llmAllMs: number;
  sentences: string[];
  ttsMs: number[];
  mp3Ms: number[];
  floorMs: number;
  nonStreamingMs: number;
}

/** Each stage of a turn alone, directly, in sequence, on the same utterance. */
async function floorTurn(ctx: BenchContext, u: Utterance): Promise<FloorRun> {
  const { toyMp3 } = await import("../src/devices/folotoy/audio-store.ts");
  const engines = ctx.hearth.engines;
  const { stt, messages } = await floorPrompt(ctx, u);
  // LLM: stream into the same sentence splitter the pipeline uses; note when the first sentence is complete
  const chunks = new Channel<string>();
  const sentences: string[] = [];
  const sentenceAt: number[] = [];
  const t0 = now();
  const consumer = (async () => {
    for await (const s of splitSentences(chunks, ctx.config.toy.sentence_separators)) {
      sentences.push(s);
      sentenceAt.push(now() - t0);
    }
  })();
  const gen = ctx.floorLlm
    .generate(messages, { grammar: BENCH_ROLE.grammar, maxTokens: ctx.config.llm.max_tokens, temperature: BENCH_ROLE.temperature }, (c) => chunks.push(c))
    .then(
      (r) => (chunks.close(), r),
      (e) => (chunks.close(e), Promise.reject(e)),
    );
  await gen;
  await consumer;
  const llmAllMs = now() - t0;
  const voice = ctx.hearth.pipeline.voices.resolve(null, BENCH_ROLE.language);
  const ttsMs: number[] = [];
  const mp3Ms: number[] = [];
  for (const s of sentences) {
    let t = now();
    const audio = await collectAudio(engines.tts.synthesize(s, { voice }));
    ttsMs.push(now() - t);
    t = now();
    await toyMp3(audio!);
    mp3Ms.push(now() - t);
  }
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  return {
    transcript: stt.text,
    sttMs: stt.ms,
    llmFirstSentenceMs: sentenceAt[0] ?? llmAllMs,
    llmAllMs,
    sentences,
    ttsMs,
    mp3Ms,
    floorMs: stt.ms + (sentenceAt[0] ?? llmAllMs) + ttsMs[0]! + mp3Ms[0]!,
    nonStreamingMs: stt.ms + llmAllMs + sum(ttsMs) + sum(mp3Ms),
  };
}

export async function benchToy(ctx: BenchContext): Promise<Omit<Section, "seconds">> {
  if (!ctx.toy) {
    const why = ctx.toyProblem ?? "no toy layer";
    return {
      name: "Toy turn",
      rows: [
        { area: "Toy", metric: "first audioplay vs floor", target: "<= 1.15 x floor", verdict: "SKIP", note: why },
        { area: "Toy", metric: "first audioplay vs non-streaming", target: "<= 0.5 x", verdict: "SKIP", note: why },
      ],
      notes: [`Toy turn not measured: ${why}.`],
      details: {},
    };
  }
  const { SimToy } = await import("../scripts/lib/toy-simulator.ts");
  const u = ctx.utterances[0]!;
  const expected = await expectedReplyDurations(ctx);
  const toy = new SimToy({ mqtt: ctx.toy.mqttUrl, sn: BENCH_SN });
  await toy.connect();
  await toy.login(1);
  type ServerRun = { firstAudioplayMs: number; firstMp3ByteMs: number; lastAudioplayMs: number; record?: any; problems: string[] };
  /** Rounds of: the toy says the utterance (through Hearth), then the floor turn on the same utterance. */
  const rounds = async (n: number, warmup: number, label: string) => {
    const server: ServerRun[] = [];
    const floor: FloorRun[] = [];
    for (let r = -warmup; r < n; r++) {
      const turn = await toy.say(u.file, { pace: 1, replyTimeoutMs: 120_000 });
      const problems = checkTurn(turn, expected, durationTolerance(ctx));
      const record = ctx.toy!.recentTurns(10).find((t) => t.sn === BENCH_SN && String(t.id).startsWith(`${BENCH_SN}-${turn.recordingId}-`));
      const f = await floorTurn(ctx, u);
      if (r < 0) continue;
      server.push({ firstAudioplayMs: turn.timings.firstAudioplayMs ?? NaN, firstMp3ByteMs: turn.timings.firstMp3ByteMs ?? NaN, lastAudioplayMs: turn.timings.lastAudioplayMs ?? NaN, record, problems });
      floor.push(f);
      ctx.log(`toy ${label} round ${r + 1}/${n}: first audioplay ${turn.timings.firstAudioplayMs} ms, floor ${round(f.floorMs)} ms, non-streaming ${round(f.nonStreamingMs)} ms${problems.length ? `; PROBLEMS: ${problems.join("; ")}` : ""}`);
    }
    return { server, floor };
  };
  let main: Awaited<ReturnType<typeof rounds>>;
  try {
    main = await rounds(ctx.runs, ctx.warmup, "main");
  } finally {
    await toy.close();
  }
  const { server, floor } = main;
  const first = server.map((s) => s.firstAudioplayMs);
  const floors = floor.map((f) => f.floorMs);
  const nonStreaming = floor.map((f) => f.nonStreamingMs);
  const vsFloor = stat(pairedRatios(first, floors));
  const vsNonStreaming = stat(pairedRatios(first, nonStreaming));
  const bestPossible = stat(pairedRatios(floors, nonStreaming));
  const problems = server.flatMap((s) => s.problems);
  const med = (xs: number[]) => round(stat(xs).median);
  // Where the server's time goes, from the toy layer's own turn records (ms after the end of speech)
  const recs = server.map((s) => s.record).filter((r) => r?.timings);
  const stage = (f: (r: any) => number | undefined) => med(recs.map(f).filter((x): x is number => typeof x === "number"));
  const serverStages = recs.length
    ? {
        sttMs: stage((r) => r.timings.sttMs),
        firstTokenMs: stage((r) => r.timings.firstTokenMs),
        firstSentenceReadyMs: stage((r) => r.sentences?.[0]?.readyMs),
        firstAudioplaySentMs: stage((r) => r.sentences?.[0]?.sentMs ?? r.timings.firstAudioMs),
        totalMs: stage((r) => r.timings.totalMs),
      }
    : undefined;
  const floorStages = {
    sttMs: med(floor.map((f) => f.sttMs)),
    llmFirstSentenceMs: med(floor.map((f) => f.llmFirstSentenceMs)),
    llmAllMs: med(floor.map((f) => f.llmAllMs)),
    tts1Ms: med(floor.map((f) => f.ttsMs[0]!)),
    mp3_1Ms: med(floor.map((f) => f.mp3Ms[0]!)),
    ttsAllMs: med(floor.map((f) => f.ttsMs.reduce((a, b) => a + b, 0))),
    mp3AllMs: med(floor.map((f) => f.mp3Ms.reduce((a, b) => a + b, 0))),
  };
  const rows: Row[] = [
    {
      area: "Toy",
      metric: `end of speech -> 1st audioplay vs floor`,
      unit: "ms",
      server: stat(first),
      floor: stat(floors),
      ratio: vsFloor,
      delta: stat(first.map((x, i) => x - floors[i]!)),
      target: "<= 1.15 x floor",
      verdict: verdict(vsFloor.median <= 1.15),
    },
    {
      area: "Toy",
      metric: `1st audioplay vs non-streaming (3 sentences)`,
      unit: "ms",
      server: stat(first),
      floor: stat(nonStreaming),
      ratio: vsNonStreaming,
      target: "<= 0.5 x",
      verdict: verdict(vsNonStreaming.median <= 0.5),
    },
    {
      area: "Toy",
      metric: "best possible: floor vs non-streaming",
      unit: "ms",
      server: stat(floors),
      floor: stat(nonStreaming),
      ratio: bestPossible,
      verdict: "INFO",
      note: "a streaming server cannot beat its floor",
    },
    {
      area: "Toy",
      metric: "end of speech -> 1st MP3 byte / last audioplay",
      unit: "ms",
      server: stat(server.map((s) => s.firstMp3ByteMs)),
      floor: stat(server.map((s) => s.lastAudioplayMs)),
      note: "floor column = last audioplay",
      verdict: problems.length ? "FAIL" : "INFO",
    },
  ];
  const notes = [
    `The toy layer is the one startHearth starts (embedded MQTT broker, UDP speech, reply MP3s on the HTTP port). A SimToy (src/toy/simulator.ts) logs in once over MQTT, then per round streams ${u.name} (${u.seconds.toFixed(2)} s) over UDP in real time and collects the reply; times are from the end marker. Role 1 is pinned by a GBNF grammar to three sentences (${REPLY_SENTENCES.map((s) => s.split(" ").length).join("/")} words) and keeps no history.`,
    `Floor = STT(utterance) + LLM until its first sentence is complete + TTS of that sentence + its toy MP3, each measured directly in sequence (recognizer; node-llama-cpp on its own context with the same messages built by buildMessages() and the same grammar; engines.tts.synthesize; toyMp3). Non-streaming = STT + the whole reply + every sentence synthesized + every MP3 (announcing is negligible). Floor medians (ms): STT ${floorStages.sttMs}, LLM to 1st sentence ${floorStages.llmFirstSentenceMs} (whole reply ${floorStages.llmAllMs}), TTS 1st sentence ${floorStages.tts1Ms} (all ${floorStages.ttsAllMs}), MP3 1st ${floorStages.mp3_1Ms} (all ${floorStages.mp3AllMs}).`,
    serverStages
      ? `The toy layer's own turn records (ms after the end of speech, medians): STT done ${serverStages.sttMs}, first token ${serverStages.firstTokenMs}, first sentence synthesized ${serverStages.firstSentenceReadyMs}, first audioplay sent ${serverStages.firstAudioplaySentMs}, turn done ${serverStages.totalMs}.`
      : "The toy layer's turn records were not reachable.",
    `Against non-streaming: the floor itself is ${bestPossible.median.toFixed(2)} x the non-streaming time (median). Streaming saves on the LLM and TTS of sentences 2..3 only; STT (${floorStages.sttMs} ms here) is paid in full by both, so the ratio depends on how large STT is against LLM + TTS${ctx.profile === "test" ? " — with the fixture models (a random LLM that the grammar makes spell the reply out, a tone generator for a voice) that balance is arbitrary" : ""}. The first sentence is ${REPLY_SENTENCES[0]!.split(" ").length} of ${REPLY.split(" ").length} words.${bestPossible.median > 0.5 ? " No server can meet 0.5 x non-streaming with these models; the row then only measures how close Hearth gets to its floor." : ""}`,
    problems.length ? `Problems with received turns: ${problems.join("; ")}.` : `Every turn delivered 3 audioplays in order 1..3 with audio of the expected sentence (MP3 durations ${expected.join("/")} s, ±${durationTolerance(ctx) * 1000} ms).`,
  ];
  return { name: "Toy turn", rows, notes, details: { firstAudioplayMs: first, floorMs: floors, nonStreamingMs: nonStreaming, floorStages, serverStages, expectedDurations: expected, floorRuns: floor.map((f) => ({ ...f, sttMs: round(f.sttMs), floorMs: round(f.floorMs), nonStreamingMs: round(f.nonStreamingMs) })), problems } };
}
