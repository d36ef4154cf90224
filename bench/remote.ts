// Remote engines: what the remote path adds to each stage on loopback, against the same work done
// without it, and a front end's memory with every engine remote.
//  - STT: RemoteStt -> a second Hearth process (same profile and threads) vs this Hearth's own
//    engines.stt, on the same utterances (the upstream does the same work, so the difference is
//    WAV encoding, HTTP, multipart, the upstream's decoding and JSON).
//  - LLM: RemoteLlm -> llama-server (the profile's GGUF, same threads) vs the time llama-server itself
//    reports for the same request (prompt + first token): HTTP, SSE and Hearth's client.
//  - TTS: RemoteTts -> the second Hearth vs engines.tts, time to the first audio of a sentence.
//  - Toy turn: end of speech -> first audioplay through a front Hearth whose three engines are
//    remote, interleaved with the same turn on this (local) Hearth. The added stage latencies are
//    compared with the remote turn: target <= 5 %.
//  - Front end: a process (`bun src/main.ts`) with all three engines remote, idle and peak RSS and
//    CPU per toy turn: what a Pi Zero-class board must hold and do.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHearth, type Hearth } from "../src/app.ts";
import { loadConfig } from "../src/config/load.ts";
import { RemoteLlm } from "../src/engines/llm/remote.ts";
import { RemoteStt } from "../src/engines/stt/remote.ts";
import { RemoteTts } from "../src/engines/tts/remote.ts";
import { buildMessages } from "../src/pipeline/prompt.ts";
import type { ChatMessage } from "../src/engines/types.ts";
import { freePort } from "../test/modelDependent/folotoy/helpers.ts";
import { installLlamaServer, remoteEnv, startLlamaServer, startUpstreamHearth, type Proc } from "../test/modelDependent/remote/helpers.ts";
import { readRss } from "./memory.ts";
import { verdict, type Row, type Section } from "./report.ts";
import { BENCH_ROLE, REPLY_SENTENCES, ROOT, type BenchContext } from "./setup.ts";
import { interleave, now, pairedDiffs, pairedRatios, round, stat, type Stat } from "./stats.ts";

const TARGET_PCT = 5;

export async function benchRemote(ctx: BenchContext): Promise<Omit<Section, "seconds">> {
  await installLlamaServer();
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    const llama = await startLlamaServer({ model: ctx.hearth.engines.profile.llm.file, threads: ctx.config.llm.threads, slots: ctx.config.llm.sequences, context: ctx.config.llm.context_size });
    cleanup.push(() => llama.stop());
    const upstream = await startUpstreamHearth(upstreamEnv(ctx));
    cleanup.push(() => upstream.stop());
    ctx.log(`remote: llama-server at ${llama.url}, upstream Hearth at ${upstream.url}`);
    const timeoutMs = 120_000;
    const stt = await RemoteStt.load({ urls: [upstream.url], apiKey: "", model: "", language: ctx.config.stt.language, timeoutMs, maxQueue: 8 });
    const tts = await RemoteTts.load({ urls: [upstream.url], apiKey: "", model: "", timeoutMs, maxQueue: 8 });
    const llm = await RemoteLlm.load({ urls: [llama.url], apiKey: "", model: "", timeoutMs, contextSize: ctx.config.llm.context_size, sequences: ctx.config.llm.sequences, maxQueue: 8, maxTokens: ctx.config.llm.max_tokens, temperature: 0 });
    cleanup.push(async () => {
      stt.close();
      tts.close();
      await llm.close();
    });

    const rows: Row[] = [];
    const details: Record<string, unknown> = {};
    const local = ctx.hearth.engines;

    // STT: every utterance, remote vs local, rounds interleaved
    const sttRounds = await interleave(
      ctx.runs,
      ctx.warmup,
      () => transcribeAll(ctx, (s) => stt.transcribe(s, 16000)),
      () => transcribeAll(ctx, (s) => local.stt.transcribe(s, 16000)),
    );
    const perFile = (r: { ms: number }[]) => r.map((x) => x.ms / ctx.utterances.length);
    const sttAdded = stat(pairedDiffs(perFile(sttRounds.a), perFile(sttRounds.b)));
    const sameText = sttRounds.a.at(-1)!.texts.every((t, i) => t === sttRounds.b.at(-1)!.texts[i]);
    rows.push({ area: "Remote", metric: `STT per file, via another Hearth vs local (${ctx.utterances.length} files)`, unit: "ms", server: stat(perFile(sttRounds.a)), floor: stat(perFile(sttRounds.b)), ratio: stat(pairedRatios(perFile(sttRounds.a), perFile(sttRounds.b))), delta: sttAdded, verdict: sameText ? "INFO" : "FAIL", note: sameText ? "same transcripts" : "transcripts differ" });

    // LLM: time to first token through RemoteLlm vs what llama-server reports for the same request
    const voice = ctx.hearth.pipeline.voices.resolve(null, BENCH_ROLE.language);
    const { messages } = buildMessages({ role: BENCH_ROLE, systemPrompt: ctx.config.toy.system_prompt, history: [], transcript: ctx.utterances[0]!.reference, countTokens: (t) => llm.countTokens(t), budgetTokens: 1e9 });
    const llmRounds = await interleave(
      ctx.runs,
      ctx.warmup,
      () => remoteFirstToken(llm, messages),
      () => serverFirstToken(llama, messages),
    );
    const llmAdded = stat(pairedDiffs(llmRounds.a, llmRounds.b.map((r) => r.serverMs)));
    rows.push({ area: "Remote", metric: "LLM time to first token, via llama-server vs its own compute", unit: "ms", server: stat(llmRounds.a), floor: stat(llmRounds.b.map((r) => r.serverMs)), delta: llmAdded, verdict: "INFO", note: "floor = llama-server's timings (prompt + 1 token)" });
    rows.push({ area: "Remote", metric: "LLM time to first token: bare HTTP client vs server compute", unit: "ms", server: stat(llmRounds.b.map((r) => r.clientMs)), floor: stat(llmRounds.b.map((r) => r.serverMs)), delta: stat(pairedDiffs(llmRounds.b.map((r) => r.clientMs), llmRounds.b.map((r) => r.serverMs))), verdict: "INFO", note: "how much of the above is loopback HTTP itself" });

    // TTS: first audio of the first reply sentence
    const sentence = REPLY_SENTENCES[0]!;
    const ttsRounds = await interleave(
      ctx.runs,
      ctx.warmup,
      () => firstAudio(tts.synthesize(sentence, { voice })),
      () => firstAudio(local.tts.synthesize(sentence, { voice })),
    );
    const ttsAdded = stat(pairedDiffs(ttsRounds.a, ttsRounds.b));
    rows.push({ area: "Remote", metric: "TTS first audio of a sentence, via another Hearth vs local", unit: "ms", server: stat(ttsRounds.a), floor: stat(ttsRounds.b), delta: ttsAdded, verdict: "INFO" });

    // Toy turn: a front Hearth with every engine remote vs this Hearth, same utterance, interleaved
    const front = await startRemoteFront(ctx, llama, upstream);
    cleanup.push(() => front.stop());
    const turn = await toyTurns(ctx, front);
    const added = sttAdded.median + llmAdded.median + ttsAdded.median;
    const pct = (100 * added) / turn.remote.median;
    if (turn.remote.n) {
      rows.push({ area: "Remote", metric: "toy turn, end of speech -> 1st audioplay: remote engines vs local", unit: "ms", server: turn.remote, floor: turn.local, ratio: turn.ratio, delta: turn.delta, verdict: "INFO", note: turn.problems.length ? `problems: ${turn.problems.join("; ")}` : "floor = the same turn on local engines (other LLM runtime)" });
      rows.push({ area: "Remote", metric: "added latency of the remote path (STT + LLM + TTS) as % of the remote turn", unit: "%", server: { median: round(pct, 2), min: round(pct, 2), max: round(pct, 2), n: 1 }, target: `<= ${TARGET_PCT}%`, verdict: verdict(pct <= TARGET_PCT), note: `${round(added)} ms of ${round(turn.remote.median)} ms` });
    }

    // Memory of a front end process with all three engines remote
    const memory = await frontProcess(ctx, llama, upstream);
    const one = (x: number): Stat => ({ median: x, min: x, max: x, n: 1 });
    rows.push({ area: "Remote", metric: "front end with all engines remote: idle RSS", unit: "MB", server: memory.idle, verdict: "INFO", note: `ready in ${round(memory.startMs / 1000, 1)} s` });
    rows.push({ area: "Remote", metric: `front end with all engines remote: peak RSS (VmHWM) after ${memory.turns + 1} toy turns`, unit: "MB", server: one(memory.hwm), verdict: "INFO" });
    rows.push({ area: "Remote", metric: "front end with all engines remote: CPU per toy turn (its own work)", unit: "ms", server: one(round(memory.cpuMsPerTurn)), verdict: "INFO", note: `mean of ${memory.turns} turns; UDP in, STT upload, prompt, sentences, ${REPLY_SENTENCES.length} MP3s out` });

    Object.assign(details, { sttRoundsMs: sttRounds, llmRounds, ttsRoundsMs: ttsRounds, turn, addedMs: round(added, 2), addedPct: round(pct, 2), memory });
    return {
      name: "Remote engines",
      rows,
      details,
      notes: [
        `Upstreams on loopback: llama-server (Debian's llama.cpp ${ctx.hearth.engines.profile.llm.id}, ${ctx.config.llm.threads} thread(s), ${ctx.config.llm.sequences} slots) for the LLM, a second Hearth process (profile ${ctx.profile}) for STT and TTS; the engines' own work is the same on both sides of each STT and TTS row.`,
        `Added latency per stage (medians of paired rounds): STT ${round(sttAdded.median)} ms, LLM first token ${round(llmAdded.median)} ms (of which bare loopback HTTP ${round(stat(pairedDiffs(llmRounds.b.map((r) => r.clientMs), llmRounds.b.map((r) => r.serverMs))).median)} ms), TTS first audio ${round(ttsAdded.median)} ms: ${round(added)} ms in all, ${round(pct, 1)} % of the remote turn (${round(turn.remote.median)} ms).`,
        `A front end with all three engines remote loads no language model, recognizer or voice: idle RSS ${round(memory.idle.median)} MB, peak ${round(memory.hwm)} MB; it spends ${round(memory.cpuMsPerTurn)} ms of CPU per toy turn (mostly the reply's MP3s).`,
      ],
    };
  } finally {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  }
}

/** The bench's HEARTH_* settings for the upstream Hearth (its own state and port come from the helper). */
function upstreamEnv(ctx: BenchContext): Record<string, string> {
  const env = { ...ctx.env };
  for (const k of ["HEARTH_STATE_DIR", "HEARTH_HTTP_PORT", "HEARTH_TOY_INTEGRATION_MIRROR", "HEARTH_TOY_ADVERTISE_HOST"]) delete env[k];
  return { ...env, HEARTH_STT_THREADS: String(ctx.config.stt.threads), HEARTH_TTS_THREADS: String(ctx.config.tts.threads), HEARTH_LLM_THREADS: "1", HEARTH_LLM_SEQUENCES: "1", HEARTH_LLM_CONTEXT_SIZE: "512" };
}

async function transcribeAll(ctx: BenchContext, transcribe: (samples: Float32Array) => Promise<{ text: string }>): Promise<{ ms: number; texts: string[] }> {
  const texts: string[] = [];
  const t0 = now();
  for (const u of ctx.utterances) texts.push((await transcribe(u.samples)).text);
  return { ms: now() - t0, texts };
}

async function firstAudio(chunks: AsyncIterable<unknown>): Promise<number> {
  const t0 = now();
  let first = NaN;
  for await (const _ of chunks) if (Number.isNaN(first)) first = now() - t0;
  return first;
}

async function remoteFirstToken(llm: RemoteLlm, messages: ChatMessage[]): Promise<number> {
  const t0 = now();
  let first = NaN;
  await llm.chat(messages, { grammar: BENCH_ROLE.grammar, temperature: 0, maxTokens: 256, onPromptDone: () => (first = now() - t0) }, () => {});
  return first;
}

/** The same request with a bare fetch: time to the first content, and llama-server's own prompt + first-token time. */
async function serverFirstToken(llama: Proc, messages: ChatMessage[]): Promise<{ clientMs: number; serverMs: number }> {
  const t0 = now();
  const res = await fetch(`${llama.url}/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ messages, stream: true, grammar: BENCH_ROLE.grammar, temperature: 0, max_tokens: 256, cache_prompt: true }),
  });
  let clientMs = NaN;
  let timings: { prompt_ms?: number; predicted_per_token_ms?: number } | undefined;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const line = buffer.slice(0, end).replace(/^data: /, "");
      buffer = buffer.slice(end + 2);
      if (line === "[DONE]") continue;
      const event = JSON.parse(line);
      if (Number.isNaN(clientMs) && event.choices?.[0]?.delta?.content) clientMs = now() - t0;
      timings = event.timings ?? timings;
    }
  }
  return { clientMs, serverMs: (timings?.prompt_ms ?? NaN) + (timings?.predicted_per_token_ms ?? NaN) };
}

async function startRemoteFront(ctx: BenchContext, llama: Proc, upstream: Proc): Promise<Hearth> {
  const stateDir = mkdtempSync(join(tmpdir(), "hearth-bench-remote-"));
  const config = loadConfig(undefined, { ...ctx.env, HEARTH_STATE_DIR: stateDir, ...remoteEnv([llama.url], upstream.url, 120) });
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(config.toy.roles_file, JSON.stringify({ "1": BENCH_ROLE }, null, 2));
  const hearth = await startHearth(config);
  return {
    ...hearth,
    async stop() {
      await hearth.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

async function toyTurns(ctx: BenchContext, front: Hearth): Promise<{ remote: Stat; local: Stat; ratio: Stat; delta: Stat; problems: string[] }> {
  const { SimToy } = await import("../scripts/lib/toy-simulator.ts");
  const u = ctx.utterances[0]!;
  const remoteToy = new SimToy({ mqtt: `mqtt://127.0.0.1:${front.folotoy.mqttPort}`, sn: "benchremote01" });
  const localToy = ctx.toy ? new SimToy({ mqtt: ctx.toy.mqttUrl, sn: "benchlocal001" }) : undefined;
  const problems: string[] = [];
  const turn = async (toy: InstanceType<typeof SimToy>) => {
    const t = await toy.say(u.file, { pace: 1, replyTimeoutMs: 120_000 });
    if (!t.ok || t.audioplays.length !== REPLY_SENTENCES.length) problems.push(t.error ?? `${t.audioplays.length} sentences`);
    return t.timings.firstAudioplayMs ?? NaN;
  };
  try {
    for (const toy of [remoteToy, localToy]) {
      if (!toy) continue;
      await toy.connect();
      await toy.login(1);
    }
    const rounds = await interleave(ctx.runs, ctx.warmup, () => turn(remoteToy), () => (localToy ? turn(localToy) : Promise.resolve(NaN)));
    return { remote: stat(rounds.a), local: stat(rounds.b), ratio: stat(pairedRatios(rounds.a, rounds.b)), delta: stat(pairedDiffs(rounds.a, rounds.b)), problems: [...new Set(problems)] };
  } finally {
    await remoteToy.close();
    await localToy?.close();
  }
}


/** utime + stime of a process, in ms (from /proc/<pid>/stat; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * A front end process (`bun src/main.ts`) with all three engines remote: RSS idle and peak, and the
 * CPU it spends per toy turn (UDP speech in, upload to STT, prompt, sentences, MP3s for the toy).
 */
async function frontProcess(ctx: BenchContext, llama: Proc, upstream: Proc): Promise<{ idle: Stat; hwm: number; startMs: number; cpuMsPerTurn: number; turns: number }> {
  const stateDir = mkdtempSync(join(tmpdir(), "hearth-bench-front-"));
  writeFileSync(join(stateDir, "roles.json"), JSON.stringify({ "1": BENCH_ROLE }, null, 2));
  const [port, mqttPort, udpPort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...(process.env as Record<string, string>),
    ...ctx.env,
    ...remoteEnv([llama.url], upstream.url, 120),
    HEARTH_STATE_DIR: stateDir,
    HEARTH_HTTP_PORT: String(port),
    HEARTH_MQTT_PORT: String(mqttPort),
    HEARTH_TOY_UDP_PORT: String(udpPort),
    HEARTH_LOG_LEVEL: "warn",
  };
  const url = `http://127.0.0.1:${port}`;
  const t0 = now();
  const child = Bun.spawn([process.execPath, "src/main.ts"], { cwd: ROOT, env, stdout: "ignore", stderr: "pipe" });
  const idle: number[] = [];
  const { SimToy } = await import("../scripts/lib/toy-simulator.ts");
  const toy = new SimToy({ mqtt: `mqtt://127.0.0.1:${mqttPort}`, sn: "benchfront001" });
  try {
    while (!(await fetch(`${url}/health`).then((r) => r.ok, () => false))) {
      if (child.exitCode !== null) throw new Error(`front end exited with ${child.exitCode}: ${(await new Response(child.stderr).text()).slice(-500)}`);
      if (now() - t0 > 60_000) throw new Error("front end not ready after 60 s");
      await Bun.sleep(50);
    }
    const startMs = now() - t0;
    for (let i = 0; i < 20; i++) {
      await Bun.sleep(100);
      idle.push(readRss(child.pid)?.rss ?? NaN);
    }
    await toy.connect();
    await toy.login(1);
    const u = ctx.utterances[0]!;
    const say = async () => {
      const turn = await toy.say(u.file, { pace: 4, replyTimeoutMs: 120_000 });
      if (!turn.ok || turn.audioplays.length !== REPLY_SENTENCES.length) throw new Error(`front end toy turn: ${turn.error ?? `${turn.audioplays.length} sentences`}`);
    };
    await say(); // warm-up
    const turns = Math.max(3, ctx.runs);
    const cpu0 = cpuMs(child.pid);
    for (let i = 0; i < turns; i++) await say();
    const cpuMsPerTurn = (cpuMs(child.pid) - cpu0) / turns;
    return { idle: stat(idle), hwm: readRss(child.pid)?.hwm ?? NaN, startMs, cpuMsPerTurn, turns };
  } finally {
    await toy.close();
    child.kill();
    await child.exited;
    rmSync(stateDir, { recursive: true, force: true });
  }
}
