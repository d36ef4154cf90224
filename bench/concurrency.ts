// Concurrency: 1, 2 and 4 simulated toys talking at once (simulateToy, real-time UDP speech),
// per-turn latency and throughput, and a check that every reply arrived whole and in order.
import { verdict, type Row, type Section } from "./report.ts";
import type { BenchContext } from "./setup.ts";
import { checkTurn, durationTolerance, expectedReplyDurations } from "./toy.ts";
import { now, round, stat } from "./stats.ts";

const LEVELS = [1, 2, 4];

export async function benchConcurrency(ctx: BenchContext, opts: { turns?: number } = {}): Promise<Omit<Section, "seconds">> {
  if (!ctx.toy) {
    const why = ctx.toyProblem ?? "no toy layer";
    return {
      name: "Concurrency",
      rows: [{ area: "Toys", metric: "4 toys: nothing lost or reordered", target: "0 problems", verdict: "SKIP", note: why }],
      notes: [`Not measured: ${why}.`],
      details: {},
    };
  }
  const { simulateToy } = await import("../scripts/lib/toy-simulator.ts");
  const expected = await expectedReplyDurations(ctx);
  const turnsPerToy = opts.turns ?? 3;
  const files = ctx.utterances.slice(1).concat(ctx.utterances.slice(0, 1)); // shorter ones first
  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  const notes: string[] = [];
  let fourToyProblems: string[] | undefined;
  const firstAudioMedian: Record<number, number> = {};
  for (const n of LEVELS) {
    const t0 = now();
    const results = await Promise.all(
      Array.from({ length: n }, (_, k) =>
        simulateToy({
          mqtt: ctx.toy!.mqttUrl,
          sn: `benchconc${n}x${k}`,
          role: 1,
          // each toy says different utterances, back to back, in real time
          files: Array.from({ length: turnsPerToy }, (_, i) => files[(k * turnsPerToy + i) % files.length]!.file),
          pace: 1,
          replyTimeoutMs: 120_000,
        }).catch((e) => ({ sn: `benchconc${n}x${k}`, turns: [], ok: false, error: (e as Error).message }) as any),
      ),
    );
    const wallS = (now() - t0) / 1000;
    const turns = results.flatMap((r: any) => r.turns as any[]);
    const problems: string[] = [];
    for (const r of results as any[]) {
      if (r.error) problems.push(`${r.sn}: ${r.error}`);
      if (r.turns.length !== turnsPerToy) problems.push(`${r.sn}: ${r.turns.length}/${turnsPerToy} turns`);
      for (const t of r.turns) for (const p of checkTurn(t, expected, durationTolerance(ctx))) problems.push(`${r.sn} recording ${t.recordingId}: ${p}`);
    }
    // the toy layer's own records of these turns: where each turn's time went (ms after its end of speech)
    const records = ctx.toy.recentTurns(500).filter((rec) => String(rec.sn).startsWith(`benchconc${n}x`));
    const med = (f: (rec: any) => number | undefined) => round(stat(records.map(f).filter((x): x is number => typeof x === "number")).median);
    const stages = { turns: records.length, sttMs: med((rec) => rec.timings?.sttMs), firstTokenMs: med((rec) => rec.timings?.firstTokenMs), firstAudioMs: med((rec) => rec.timings?.firstAudioMs), totalMs: med((rec) => rec.timings?.totalMs), errors: records.filter((rec) => rec.error).map((rec) => rec.error) };
    const first = stat(turns.map((t) => t.timings.firstAudioplayMs ?? NaN));
    firstAudioMedian[n] = first.median;
    const last = stat(turns.map((t) => t.timings.lastAudioplayMs ?? NaN));
    const speechS = turns.reduce((s, t) => s + t.timings.speechMs / 1000, 0);
    const replyS = turns.reduce((s, t) => s + t.mp3s.reduce((x: number, m: any) => x + (m.seconds || 0), 0), 0);
    const perMin = (turns.length / wallS) * 60;
    rows.push({
      area: "Toys",
      metric: `${n} toy${n > 1 ? "s" : ""} x ${turnsPerToy} turns: speech end -> 1st / last audioplay`,
      unit: "ms",
      server: first,
      floor: last,
      note: "floor column = last audioplay",
      target: n === 4 ? "none lost/reordered" : undefined,
      verdict: n === 4 ? verdict(problems.length === 0) : problems.length ? "FAIL" : "INFO",
    });
    rows.push({
      area: "Toys",
      metric: `${n} toy${n > 1 ? "s" : ""}: throughput`,
      unit: "turns/min",
      server: { median: perMin, min: perMin, max: perMin, n: 1 },
      note: `${turns.length} turns in ${wallS.toFixed(1)} s`,
      verdict: "INFO",
    });
    if (n === 4) fourToyProblems = problems;
    details[`toys${n}`] = {
      wallSeconds: round(wallS, 2),
      turns: turns.length,
      turnsPerMinute: round(perMin, 1),
      speechSeconds: round(speechS, 2),
      replyAudioSeconds: round(replyS, 2),
      firstAudioplayMs: turns.map((t) => t.timings.firstAudioplayMs),
      lastAudioplayMs: turns.map((t) => t.timings.lastAudioplayMs),
      problems,
      serverStages: stages,
    };
    notes.push(
      `${n} toy${n > 1 ? "s" : ""}: ${turns.length} turns in ${wallS.toFixed(1)} s wall (${round(perMin, 1)} turns/min, ${round(replyS, 1)} s of reply audio delivered); first audioplay ${round(first.median)} ms median (max ${round(first.max)}), last ${round(last.median)} ms; server-side medians after the end of speech: STT done ${stages.sttMs} ms, first token ${stages.firstTokenMs} ms, first audioplay ${stages.firstAudioMs} ms, turn done ${stages.totalMs} ms${stages.errors.length ? `, turn errors: ${stages.errors.join("; ")}` : ""}; ${problems.length ? `PROBLEMS: ${problems.join("; ")}` : "every turn complete: 3 audioplays, orders 1..3, each MP3 the expected sentence by duration, audioplay_cmd total 3"}.`,
    );
    ctx.log(`concurrency ${n}: first audioplay ${round(first.median)} ms, ${problems.length} problems`);
  }
  // Overloaded: more toys at once than the LLM has places for devices' turns (sequences +
  // max_queue). A child who hears nothing thinks the toy is broken: every turn must be heard, as a
  // reply or as a short friendly line.
  const crowd = ctx.config.llm.sequences + ctx.config.llm.max_queue + 2;
  const t0 = now();
  const crowded = await Promise.all(
    Array.from({ length: crowd }, (_, k) =>
      simulateToy({ mqtt: ctx.toy!.mqttUrl, sn: `benchcrowd${String(k).padStart(3, "0")}`, role: 1, files: [files[k % files.length]!.file], pace: 1, replyTimeoutMs: 120_000 }).catch(
        (e) => ({ sn: `benchcrowd${k}`, turns: [], ok: false, error: (e as Error).message }) as any,
      ),
    ),
  );
  const crowdTurns = crowded.flatMap((r: any) => r.turns as any[]);
  const silent = crowded.length - crowdTurns.filter((t) => t.audioplays.length > 0).length;
  const crowdRecords = ctx.toy.recentTurns(500).filter((rec) => String(rec.sn).startsWith("benchcrowd"));
  const outcomes: Record<string, number> = {};
  for (const rec of crowdRecords) outcomes[rec.outcome ?? "?"] = (outcomes[rec.outcome ?? "?"] ?? 0) + 1;
  rows.push({
    area: "Toys",
    metric: `${crowd} toys at once (more than the LLM's ${crowd - 2} places for toys): turns the child heard nothing in`,
    unit: "turns",
    server: { median: silent, min: silent, max: silent, n: 1 },
    target: "0",
    verdict: verdict(silent === 0),
    note: Object.entries(outcomes).map(([k, v]) => `${v} ${k}`).join(", "),
  });
  details.overload = { toys: crowd, wallSeconds: round((now() - t0) / 1000, 2), silent, outcomes, firstAudioplayMs: crowdTurns.map((t) => t.timings.firstAudioplayMs), errors: crowded.filter((r: any) => r.error).map((r: any) => r.error) };
  ctx.log(`concurrency overload ${crowd}: ${silent} silent turns`);

  // No thread cliff: n toys at once may each wait for the others, but no worse than n times one toy.
  const growth = firstAudioMedian[4]! / firstAudioMedian[1]!;
  rows.push({
    area: "Toys",
    metric: "4 toys vs 1: median speech end -> 1st audioplay",
    unit: "x",
    server: { median: round(growth, 2), min: round(growth, 2), max: round(growth, 2), n: 1 },
    target: "<= 4 (no faster than the load)",
    verdict: verdict(Number.isFinite(growth) && growth <= 4),
  });
  notes.unshift(
    `Each toy (simulateToy from src/toy/simulator.ts, its own SN) logs in over MQTT, then speaks ${turnsPerToy} different utterances one after the other in real time over UDP, waiting for each whole reply (3 sentences pinned by the role's grammar) and downloading every MP3. All toys start together; throughput = turns completed / wall time (it includes the speaking time, as with real children). Engines: STT and TTS one job at a time, LLM ${ctx.config.llm.sequences} sequences.`,
  );
  return { name: "Concurrency", rows, notes, details: { ...details, fourToysOk: fourToyProblems?.length === 0 } };
}
