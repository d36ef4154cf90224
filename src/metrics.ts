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

export const metrics = {
  countTurn: (source: TurnSource) => turns.inc({ source }),
  countError: (kind: string) => errors.inc({ kind }),
  countUdpDrop: (reason: string) => udpDropped.inc({ reason }),
  countRequest: (route: string, status: number) => requests.inc({ route, status: String(status) }),
  observeStage: (stage: Stage, seconds: number, source: TurnSource) => stageSeconds.observe({ stage, source }, seconds),
  setQueueDepth: (engine: "stt" | "llm" | "tts", depth: number) => queueDepth.set({ engine }, depth),
  setToysConnected: (n: number) => toysConnected.set(n),
  countSafety: (verdict: string, category: string) => safety.inc({ verdict, category }),
};

export async function renderMetrics(): Promise<{ body: string; contentType: string }> {
  return { body: await registry.metrics(), contentType: registry.contentType };
}
