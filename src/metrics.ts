// Prometheus metrics for /metrics. Front ends record; nobody else reads these.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: "hearth_" }); // includes process RSS

/** The front end a turn came from: "folotoy", "xiaozhi", "api", "web". */
export type TurnSource = string;
export type Stage = "stt" | "llm_first_token" | "first_audio" | "total";

const turns = new Counter({ name: "hearth_turns_total", help: "Conversation turns completed", labelNames: ["source"], registers: [registry] });
const errors = new Counter({ name: "hearth_errors_total", help: "Errors by kind", labelNames: ["kind"], registers: [registry] });
const udpDropped = new Counter({ name: "hearth_udp_dropped_total", help: "Dropped toy UDP datagrams by reason", labelNames: ["reason"], registers: [registry] });
const requests = new Counter({ name: "hearth_http_requests_total", help: "HTTP API requests by route and status", labelNames: ["route", "status"], registers: [registry] });
const stageSeconds = new Histogram({
  name: "hearth_stage_seconds",
  help: "Latency of each stage of a turn, in seconds",
  labelNames: ["stage", "source"],
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
  registers: [registry],
});
const queueDepth = new Gauge({ name: "hearth_queue_depth", help: "Requests waiting for an engine", labelNames: ["engine"], registers: [registry] });
// Every engine has a series from the start, so an idle appliance shows 0 rather than nothing.
for (const engine of ["stt", "llm", "tts"]) queueDepth.set({ engine }, 0);
const safety = new Counter({ name: "hearth_safety_total", help: "Safety verdicts other than allowed, by verdict and category", labelNames: ["verdict", "category"], registers: [registry] });
const toysConnected = new Gauge({ name: "hearth_toys_connected", help: "Toys connected over MQTT", registers: [registry] });
// Remote engines (src/engines/remote): one series per engine and upstream base URL.
const upstreamRequests = new Counter({
  name: "hearth_upstream_requests_total",
  help: "Requests to remote engine servers by engine, server and outcome (ok, busy = 429/503, down = unreachable/timeout/5xx, rejected = 4xx, cancelled)",
  labelNames: ["engine", "upstream", "outcome"],
  registers: [registry],
});
const upstreamLatency = new Histogram({
  name: "hearth_upstream_latency_seconds",
  help: "Time from a request to a remote engine server to its first useful data (first token, first audio, the transcript), in seconds",
  labelNames: ["engine", "upstream"],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30],
  registers: [registry],
});
const upstreamUp = new Gauge({ name: "hearth_upstream_up", help: "1 when a remote engine server is up (answers its health check and requests)", labelNames: ["engine", "upstream"], registers: [registry] });
const upstreamInFlight = new Gauge({ name: "hearth_upstream_in_flight", help: "Requests a remote engine server is working on", labelNames: ["engine", "upstream"], registers: [registry] });

export const metrics = {
  countTurn: (source: TurnSource) => turns.inc({ source }),
  countError: (kind: string) => errors.inc({ kind }),
  countUdpDrop: (reason: string) => udpDropped.inc({ reason }),
  countRequest: (route: string, status: number) => requests.inc({ route, status: String(status) }),
  observeStage: (stage: Stage, seconds: number, source: TurnSource) => stageSeconds.observe({ stage, source }, seconds),
  setQueueDepth: (engine: "stt" | "llm" | "tts", depth: number) => queueDepth.set({ engine }, depth),
  setToysConnected: (n: number) => toysConnected.set(n),
  countSafety: (verdict: string, category: string) => safety.inc({ verdict, category }),
  countUpstream: (engine: string, upstream: string, outcome: "ok" | "busy" | "down" | "rejected" | "cancelled") => upstreamRequests.inc({ engine, upstream, outcome }),
  observeUpstream: (engine: string, upstream: string, seconds: number) => upstreamLatency.observe({ engine, upstream }, seconds),
  setUpstreamUp: (engine: string, upstream: string, up: 0 | 1) => upstreamUp.set({ engine, upstream }, up),
  setUpstreamInFlight: (engine: string, upstream: string, n: number) => upstreamInFlight.set({ engine, upstream }, n),
};

export async function renderMetrics(): Promise<{ body: string; contentType: string }> {
  return { body: await registry.metrics(), contentType: registry.contentType };
}
