// Shared by the xiaozhi tests: the real engines on the test profile (loaded once per run, shared
// with the FoloToy tests), a real pipeline, the real HTTP server (routes and WebSocket upgrades)
// on a free port, and the xiaozhi front end with silero's streaming VAD.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LoadedConfig } from "../../../src/config/load.ts";
import { XiaozhiFrontEnd } from "../../../src/devices/xiaozhi/index.ts";
import type { SessionSettings } from "../../../src/devices/xiaozhi/session.ts";
import type { Llm } from "../../../src/engines/types.ts";
import { SileroSpeechStreams } from "../../../src/engines/vad/silero-stream.ts";
import { PAUSE_SECONDS } from "../../../src/pipeline/listen.ts";
import { HttpServer } from "../../../src/http/server.ts";
import { setLogLevel } from "../../../src/log.ts";
import { renderMetrics } from "../../../src/metrics.ts";
import { startPipeline, type Pipeline } from "../../../src/pipeline/pipeline.ts";
import type { TurnRecord } from "../../../src/pipeline/types.ts";
import { testConfig } from "../../support/hearth.ts";
import { grammarFor, REPLY, testEngines } from "../folotoy/helpers.ts";

export { REPLY, testEngines };
export { UTT, waitFor } from "../folotoy/helpers.ts";

/** Role 1 tells the 5-sentence story (~2.7 s of audio: long enough to interrupt); role 2 says one short line. */
export const XIAOZHI_ROLES = {
  "1": { prompt: "You are a rabbit.", max_message_count: 4, grammar: grammarFor(REPLY) },
  "2": { prompt: "You are an owl.", max_message_count: 4, grammar: grammarFor("Role two here.") },
};

export interface TestXiaozhi {
  xiaozhi: XiaozhiFrontEnd;
  pipeline: Pipeline;
  config: LoadedConfig;
  /** http://127.0.0.1:<port> */
  base: string;
  /** The OTA URL a device's owner would type. */
  ota: string;
  /** The turn log, newest first. */
  turns(limit?: number): TurnRecord[];
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `env`: HEARTH_* overrides (default role "2"); `settings`: session settings (a short hello timeout);
 * `roles`: roles.json (XIAOZHI_ROLES by default); `llm`: another LLM than the real one (a scripted
 * fake, for what the tiny fixture model cannot be made to do).
 */
export async function startTestXiaozhi(opts: { env?: Record<string, string>; settings?: Partial<SessionSettings>; roles?: object; llm?: Llm } = {}): Promise<TestXiaozhi> {
  const stateDir = mkdtempSync(join(tmpdir(), "hearth-xiaozhi-"));
  const config = testConfig({ HEARTH_STATE_DIR: stateDir, HEARTH_XIAOZHI_ROLE: "2", ...opts.env });
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(config.toy.roles_file, JSON.stringify(opts.roles ?? XIAOZHI_ROLES, null, 2));
  setLogLevel(config.log.level);
  const real = await testEngines();
  const engines = opts.llm ? { ...real, llm: opts.llm } : real;
  const pipeline = startPipeline(config, engines);
  const server = new HttpServer({ host: "127.0.0.1", port: 0, apiKeys: [], maxBodyBytes: 10e6 }, {});
  const detectors = new SileroSpeechStreams(engines.profile.vad, { threshold: config.vad.threshold, minSilenceSeconds: config.xiaozhi.end_of_speech_seconds, maxSpeechSeconds: config.vad.max_segment_seconds });
  const pauses = new SileroSpeechStreams(engines.profile.vad, { threshold: config.vad.threshold, minSilenceSeconds: PAUSE_SECONDS, maxSpeechSeconds: config.vad.max_segment_seconds }).warm(2);
  const xiaozhi = new XiaozhiFrontEnd({ config, pipeline, httpPort: server.port, detectors, pauses, settings: opts.settings });
  await xiaozhi.start();
  const metrics = async () => (await renderMetrics()).body;
  server.setRoutes({ ...xiaozhi.routes, "/metrics": { GET: async () => new Response(await metrics()) } }, xiaozhi.sockets);
  const base = `http://127.0.0.1:${server.port}`;
  return {
    xiaozhi,
    pipeline,
    config,
    base,
    ota: `${base}/xiaozhi/ota/`,
    turns: (limit = 50) => pipeline.conversations.turns({ limit }) as unknown as TurnRecord[],
    metrics,
    async stop() {
      await xiaozhi.stop();
      await pipeline.stop();
      await server.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** The value of one Prometheus series (0 when absent). */
export function metricValue(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** A WebSocket handshake by hand, to see the HTTP status a refused device gets. */
export async function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url.replace(/^ws/, "http"), {
    headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64"), ...headers },
  });
  await res.body?.cancel();
  return res.status;
}
