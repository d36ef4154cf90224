// Real remote engines for the remote-backend tests: llama.cpp's llama-server (Debian's package,
// unpacked by scripts/llama-server.sh) serving the real tiny stories260K model, and a second Hearth
// process on the test profile as the remote STT and TTS. Every process here is started on a free
// loopback port, with one thread per engine, and killed by the test that started it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHearth, type Hearth } from "../../../src/app.ts";
import { MODELS_FROM, SHARED, TEST_MODELS_DIR, testConfig } from "../../support/hearth.ts";
import { ROOT } from "../../support/paths.ts";
import { freePort, TEST_ROLES } from "../folotoy/helpers.ts";

export const STORIES_GGUF = join(SHARED, "models/llm/stories260k/stories260K.gguf");
const LLAMA_SERVER = join(ROOT, "scripts/llama-server.sh");

export interface Proc {
  /** Base URL of its OpenAI API (ending in /v1). */
  url: string;
  port: number;
  /** SIGKILL: the server disappears at once, mid-request (what a crash or a pulled plug looks like). */
  kill(): Promise<void>;
  /** Starts it again on the same port and waits until it answers. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections are accepted but nothing is answered (a hung server). */
  pause(): void;
  resume(): void;
  pid(): number | undefined;
  stop(): Promise<void>;
}

/** Runs a server command on `port` until `ready` answers 200; restartable on the same port. */
async function serve(name: string, port: number, command: () => string[], env: Record<string, string>, healthUrl: string, startMs: number): Promise<Omit<Proc, "url">> {
  let proc: ReturnType<typeof Bun.spawn> | undefined;
  const start = async () => {
    proc = Bun.spawn(command(), { env: { ...process.env, ...env }, stdout: "ignore", stderr: "pipe" });
    const end = Date.now() + startMs;
    for (;;) {
      const ok = await fetch(healthUrl, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
      if (ok) return;
      if (proc.exitCode !== null || Date.now() > end) {
        proc.kill("SIGKILL");
        const err = await new Response(proc.stderr as ReadableStream).text();
        throw new Error(`${name} did not start on port ${port}: ${err.slice(-2000)}`);
      }
      await Bun.sleep(100);
    }
  };
  const kill = async () => {
    if (!proc || proc.exitCode !== null) return;
    proc.kill("SIGCONT");
    proc.kill("SIGKILL");
    await proc.exited;
  };
  await start();
  return {
    port,
    kill,
    restart: start,
    pause: () => proc?.kill("SIGSTOP"),
    resume: () => proc?.kill("SIGCONT"),
    pid: () => proc?.pid,
    stop: kill,
  };
}

/** llama-server on stories260K (or `model`): `slots` parallel slots sharing `context` tokens, `threads` threads (1). */
export async function startLlamaServer(opts: { slots?: number; context?: number; model?: string; threads?: number } = {}): Promise<Proc> {
  const port = await freePort();
  const slots = opts.slots ?? 2;
  const threads = String(opts.threads ?? 1);
  const args = ["bash", LLAMA_SERVER, "-m", opts.model ?? STORIES_GGUF, "--host", "127.0.0.1", "--port", String(port), "-t", threads, "-tb", threads, "-np", String(slots), "-c", String(opts.context ?? 1024 * slots), "--no-webui"];
  const p = await serve("llama-server", port, () => args, {}, `http://127.0.0.1:${port}/health`, 60_000);
  return { ...p, url: `http://127.0.0.1:${port}/v1` };
}

/** Installs llama-server if needed (a download the first time; cached in ~/.cache/hearth). */
export async function installLlamaServer(): Promise<void> {
  const p = Bun.spawn(["bash", LLAMA_SERVER, "--install"], { stdout: "ignore", stderr: "pipe" });
  if ((await p.exited) !== 0) throw new Error(`scripts/llama-server.sh --install failed: ${await new Response(p.stderr as ReadableStream).text()}`);
}

/**
 * A second Hearth (bun src/main.ts, test profile, one thread per engine) as the remote STT and TTS;
 * `env` overrides its HEARTH_* settings (the bench gives it its own profile and threads).
 */
export async function startUpstreamHearth(env: Record<string, string> = {}): Promise<Proc & { stateDir: string }> {
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), "hearth-upstream-"));
  const settings = {
    HEARTH_MODELS_PROFILE: "test",
    HEARTH_MODELS_FROM: MODELS_FROM,
    HEARTH_MODELS_DIR: TEST_MODELS_DIR,
    HEARTH_MQTT_PORT: "0",
    HEARTH_TOY_UDP_PORT: "0",
    HEARTH_STT_THREADS: "1",
    HEARTH_LLM_THREADS: "1",
    HEARTH_TTS_THREADS: "1",
    HEARTH_LLM_SEQUENCES: "1",
    HEARTH_LLM_CONTEXT_SIZE: "512",
    HEARTH_LOG_LEVEL: "warn",
    ...env,
    HEARTH_STATE_DIR: stateDir,
    HEARTH_HTTP_HOST: "127.0.0.1",
    HEARTH_HTTP_PORT: String(port),
  };
  const p = await serve("upstream Hearth", port, () => [process.execPath, join(ROOT, "src/main.ts")], settings, `http://127.0.0.1:${port}/health`, 900_000);
  return {
    ...p,
    url: `http://127.0.0.1:${port}/v1`,
    stateDir,
    async stop() {
      await p.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** HEARTH_* settings for a Hearth whose three engines are remote. */
export function remoteEnv(llmUrls: string[], speechUrl: string, timeoutSeconds = 3): Record<string, string> {
  return {
    HEARTH_LLM_BACKEND: "remote",
    HEARTH_LLM_URLS: llmUrls.join(","),
    HEARTH_LLM_TIMEOUT_SECONDS: String(timeoutSeconds),
    HEARTH_STT_BACKEND: "remote",
    HEARTH_STT_URLS: speechUrl,
    HEARTH_STT_TIMEOUT_SECONDS: String(timeoutSeconds),
    HEARTH_TTS_BACKEND: "remote",
    HEARTH_TTS_URLS: speechUrl,
    HEARTH_TTS_TIMEOUT_SECONDS: String(timeoutSeconds),
  };
}

/** An in-process Hearth (the front end: toys, API) with the given overrides and TEST_ROLES in its roles.json. */
export async function startFrontHearth(env: Record<string, string>, roles: unknown = TEST_ROLES): Promise<Hearth> {
  const config = testConfig({ HEARTH_TOY_ADVERTISE_HOST: "127.0.0.1", HEARTH_TOY_INTEGRATION_MIRROR: "true", ...env });
  mkdirSync(config.state.dir, { recursive: true });
  writeFileSync(config.toy.roles_file, JSON.stringify(roles, null, 2));
  const hearth = await startHearth(config);
  return {
    ...hearth,
    async stop() {
      await hearth.stop();
      rmSync(config.state.dir, { recursive: true, force: true });
    },
  };
}
