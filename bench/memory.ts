// Memory: a real Hearth process (`bun src/main.ts`, configured by HEARTH_* variables only),
// idle and peak resident memory sampled from /proc/<pid>/status while a few requests run.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verdict, type Row, type Section } from "./report.ts";
import { ROOT, type BenchContext } from "./setup.ts";
import { round, stat } from "./stats.ts";
import { sseChat } from "./llm.ts";
import { freePort } from "../test/modelDependent/folotoy/helpers.ts";


/** VmRSS and VmHWM in MB, or undefined once the process is gone. */
export function readRss(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}

export async function benchMemory(ctx: BenchContext): Promise<Omit<Section, "seconds">> {
  const stateDir = mkdtempSync(join(tmpdir(), "hearth-bench-mem-"));
  const port = await freePort();
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...ctx.env, HEARTH_STATE_DIR: stateDir, HEARTH_HTTP_PORT: String(port), HEARTH_LOG_LEVEL: "warn" };
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = Bun.spawn([process.execPath, "src/main.ts"], { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
  const samples: { t: number; rss: number; phase: string }[] = [];
  let phase = "loading";
  const sampler = setInterval(() => {
    const m = readRss(child.pid);
    if (m) samples.push({ t: performance.now() - t0, rss: m.rss, phase });
  }, 20);
  let startMs = NaN;
  try {
    const limit = ctx.profile === "test" ? 120_000 : 900_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`hearth exited with ${child.exitCode}: ${(await new Response(child.stderr).text()).slice(-500)}`);
      if (performance.now() - t0 > limit) throw new Error(`hearth not ready after ${limit / 1000} s`);
      const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
      if (ok) break;
      await Bun.sleep(50);
    }
    startMs = performance.now() - t0;
    phase = "idle";
    await Bun.sleep(3000);
    const idle = stat(samples.filter((s) => s.phase === "idle" && s.t > startMs + 1000).map((s) => s.rss));
    const hwmAtIdle = readRss(child.pid)!.hwm;

    phase = "busy";
    const u = ctx.utterances[0]!;
    const voice = ctx.hearth.pipeline.voices.resolve();
    for (let i = 0; i < 3; i++) {
      const form = new FormData();
      form.append("file", new Blob([u.wav as Uint8Array<ArrayBuffer>], { type: "audio/wav" }), u.name);
      form.append("model", "whisper-1");
      const stt = await fetch(`${url}/v1/audio/transcriptions`, { method: "POST", body: form });
      if (!stt.ok) throw new Error(`transcription: HTTP ${stt.status}`);
      await stt.arrayBuffer();
      await sseChat(url, { messages: [{ role: "user", content: "Tell me a story about a rabbit." }], max_tokens: 48, temperature: 0 });
      const speech = await fetch(`${url}/v1/audio/speech`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ model: "tts-1", voice, input: "The little rabbit looked up at the stars. He wondered how far away they were. Then he went to sleep." }),
      });
      if (!speech.ok) throw new Error(`speech: HTTP ${speech.status}`);
      await speech.arrayBuffer();
    }
    phase = "after";
    await Bun.sleep(1500);
    const end = readRss(child.pid)!;
    const busy = stat(samples.filter((s) => s.phase === "busy").map((s) => s.rss));
    const after = stat(samples.filter((s) => s.phase === "after").map((s) => s.rss));
    const rows: Row[] = [
      { area: "Memory", metric: `idle RSS after start (profile ${ctx.profile})`, unit: "MB", server: idle, verdict: "INFO", note: `ready in ${(startMs / 1000).toFixed(1)} s` },
      { area: "Memory", metric: "peak RSS (VmHWM) after 3x STT+chat+speech", unit: "MB", server: { median: end.hwm, min: end.hwm, max: end.hwm, n: 1 }, verdict: "INFO", note: `VmHWM at idle ${round(hwmAtIdle)} MB` },
      { area: "Memory", metric: "RSS while serving / after", unit: "MB", server: busy, floor: after, note: "floor column = after", verdict: "INFO" },
    ];
    return {
      name: "Memory",
      rows,
      notes: [
        `A separate Hearth process (\`bun src/main.ts\` with HEARTH_MODELS_PROFILE=${ctx.profile} and the same HEARTH_* settings as the in-process one, fresh state folder, free port), sampled every 20 ms from /proc/<pid>/status. Ready (GET /health = 200) after ${(startMs / 1000).toFixed(1)} s. Idle RSS ${round(idle.median)} MB; while serving 3 rounds of transcription + streamed chat (48 tokens) + speech: up to ${round(busy.max)} MB; VmHWM (the kernel's high-water mark, loading included) ${round(end.hwm)} MB; ${round(after.median)} MB after. Other profiles: run \`bun run bench --profile pi --only memory\` on a machine with those models installed.`,
      ],
      details: { startMs: round(startMs), idleMb: idle, busyMb: busy, afterMb: after, vmHwmMb: end.hwm, vmHwmAtIdleMb: hwmAtIdle, timeline: samples.filter((_, i) => i % 10 === 0).map((s) => ({ t: round(s.t, 0), rss: round(s.rss, 1), phase: s.phase })) },
    };
  } finally {
    clearInterval(sampler);
    child.kill("SIGTERM");
    await Promise.race([child.exited, Bun.sleep(10_000)]);
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(stateDir, { recursive: true, force: true });
  }
}
