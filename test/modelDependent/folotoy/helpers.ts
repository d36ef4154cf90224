// Shared by the toy integration tests: real engines on the test profile (loaded once per run),
// a real toy layer on free ports with its own state folder, an HTTP server for its routes, and
// a real Mosquitto on a free port for the external-broker mode.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LoadedConfig } from "../../../src/config/load.ts";
import { loadEngines, type Engines } from "../../../src/engines/load.ts";
import { setLogLevel } from "../../../src/log.ts";
import { ensureModels } from "../../../src/models/ensure.ts";
import { FolotoyFrontEnd } from "../../../src/devices/folotoy/index.ts";
import { startPipeline, type Pipeline } from "../../../src/pipeline/pipeline.ts";
import { PAUSE_SECONDS } from "../../../src/pipeline/listen.ts";
import { SileroSpeechStreams } from "../../../src/engines/vad/silero-stream.ts";
import type { TurnRecord } from "../../../src/pipeline/types.ts";
import type { Exchange } from "../../../src/pipeline/prompt.ts";
import { AUDIO, testConfig } from "../../support/hearth.ts";

export { AUDIO };
export const UTT = (n: number) => join(AUDIO, `utt0${n}.wav`);

/** What the tiny random LLM is forced to say (a GBNF grammar in the test role): 5 sentences. */
export const REPLY = "Once upon a time, a brave rabbit lived in the woods. He liked carrots. He was very brave. The end.";
export const REPLY_SENTENCES = ["Once upon a time,", "a brave rabbit lived in the woods.", "He liked carrots.", "He was very brave.", "The end."];
export const grammarFor = (text: string) => `root ::= ${JSON.stringify(text)}`;

/** roles.json for the tests: role 1 speaks REPLY; role 2 says "Role two here." */
export const TEST_ROLES = {
  "1": { start_text: "Hello friend.", prompt: "You are a rabbit.", max_message_count: 4, grammar: grammarFor(REPLY) },
  "2": { start_text: "I am role two.", prompt: "You are an owl.", max_message_count: 4, grammar: grammarFor("Role two here.") },
};

let engines: Promise<Engines> | undefined;

/** The real engines on the test profile, loaded once for the whole run. */
export function testEngines(): Promise<Engines> {
  engines ??= (async () => {
    const config = testConfig();
    rmSync(config.state.dir, { recursive: true, force: true });
    return loadEngines(config, await ensureModels(config));
  })();
  return engines;
}

export interface TestToy {
  toy: FolotoyFrontEnd;
  pipeline: Pipeline;
  /** The turn log, newest first. */
  turns(limit?: number): TurnRecord[];
  /** A toy's stored conversation with a role (default: its current role). */
  conversation(sn: string, role?: number): Exchange[];
  config: LoadedConfig;
  server: ReturnType<typeof Bun.serve>;
  mqttUrl: string;
  stop(opts?: { keepState?: boolean }): Promise<void>;
}

/**
 * Starts the toy layer on free ports. `env` are HEARTH_* overrides; `stateDir` reuses a state
 * folder (restart tests); `roles` is written as roles.json first (TEST_ROLES by default);
 * `engines` loads other engines than the test profile's.
 */
export async function startTestToy(opts: { env?: Record<string, string>; stateDir?: string; roles?: unknown; engines?: () => Promise<Engines> } = {}): Promise<TestToy> {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "hearth-toy-"));
  const config = testConfig({ HEARTH_STATE_DIR: stateDir, HEARTH_TOY_ADVERTISE_HOST: "", ...opts.env });
  mkdirSync(stateDir, { recursive: true });
  if (opts.roles !== null) writeFileSync(config.toy.roles_file, JSON.stringify(opts.roles ?? TEST_ROLES, null, 2));
  setLogLevel(config.log.level);
  // The HTTP server first: toys are told its port for reply downloads.
  const notFound = () => new Response("not found", { status: 404 });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: notFound });
  config.http.port = server.port!;
  const engines = await (opts.engines ?? testEngines)();
  const pipeline = startPipeline(config, engines);
  // As app.ts: recordings recognized while they arrive.
  const pauses = new SileroSpeechStreams(engines.profile.vad, { threshold: config.vad.threshold, minSilenceSeconds: PAUSE_SECONDS, maxSpeechSeconds: config.vad.max_segment_seconds }).warm(2);
  const toy = new FolotoyFrontEnd({ config, pipeline, httpPort: server.port!, pauses });
  await toy.start();
  server.reload({ routes: toy.routes as any, fetch: notFound });
  const mqttUrl = config.mqtt.url || `mqtt://127.0.0.1:${toy.mqttPort}`;
  return {
    toy,
    pipeline,
    turns: (limit = 50) => pipeline.conversations.turns({ limit }) as unknown as TurnRecord[],
    conversation: (sn, role) =>
      pipeline.conversations.history({ frontEnd: "folotoy", device: sn, role: String(role ?? toy.devices().find((t) => t.sn === sn)?.role ?? 1) }).map(({ user, assistant }) => ({ user, assistant })),
    config,
    server,
    mqttUrl,
    async stop({ keepState = false } = {}) {
      await toy.stop();
      await pipeline.stop();
      server.stop(true);
      if (!keepState) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** A free TCP port on 127.0.0.1 (for Mosquitto, which cannot be told "any port" and report it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Mosquitto {
  url: string;
  port: number;
  /** Stops the broker (SIGTERM); its clients see the connection drop. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real Mosquitto on a free loopback port with its own config (anonymous, unless `config` gives
 * other lines: it gets the broker's folder, for password and ACL files). With persistence,
 * sessions and their queued messages survive a stop (SIGTERM) and restart, as on a Pi.
 */
export async function startMosquitto(opts: { persistence?: boolean; config?: (dir: string) => string[] } = {}): Promise<Mosquitto> {
  const bin = Bun.which("mosquitto") ?? "/usr/sbin/mosquitto";
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "mosquitto-"));
  chmodSync(dir, 0o777); // started as root, mosquitto drops to its own user, which must write its database here
  const conf = join(dir, "mosquitto.conf");
  const lines = [`listener ${port} 127.0.0.1`, ...(opts.config ? opts.config(dir) : ["allow_anonymous true"]), "queue_qos0_messages true"];
  lines.push(...(opts.persistence ? ["persistence true", `persistence_location ${dir}/`] : ["persistence false"]));
  writeFileSync(conf, lines.join("\n") + "\n");
  let proc: ReturnType<typeof Bun.spawn> | undefined;
  const start = async () => {
    proc = Bun.spawn([bin, "-c", conf], { stdout: "ignore", stderr: "pipe" });
    const end = Date.now() + 5000;
    for (;;) {
      if (await canConnect(port)) return;
      if (proc.exitCode !== null || Date.now() > end) {
        const err = await new Response(proc.stderr as ReadableStream).text();
        throw new Error(`mosquitto did not start on port ${port}: ${err}`);
      }
      await Bun.sleep(50);
    }
  };
  const kill = async () => {
    proc?.kill("SIGTERM"); // a clean shutdown: with persistence, mosquitto saves its sessions
    await proc?.exited;
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    kill,
    restart: start,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export async function waitFor(cond: () => boolean, ms = 10_000, what = "condition") {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** Records what the loggers print (warn/error go to console.error, info/debug to console.log) until restored. */
export function captureLogs(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => {
    lines.push(args.join(" "));
    log(...args);
  };
  console.error = (...args: unknown[]) => {
    lines.push(args.join(" "));
    error(...args);
  };
  return {
    lines,
    restore() {
      console.log = log;
      console.error = error;
    },
  };
}
