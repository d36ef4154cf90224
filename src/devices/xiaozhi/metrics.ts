// The xiaozhi front end's own series in /metrics (its turns and their latencies are counted by the
// pipeline under source="xiaozhi", like every front end's).
import { Counter, Gauge } from "prom-client";
import { registry } from "../../metrics.ts";

const connected = new Gauge({ name: "hearth_xiaozhi_devices_connected", help: "xiaozhi devices with an open WebSocket", registers: [registry] });
connected.set(0);
const dropped = new Counter({ name: "hearth_xiaozhi_dropped_total", help: "Messages from xiaozhi devices dropped, by reason", labelNames: ["reason"], registers: [registry] });
const interruptions = new Counter({ name: "hearth_xiaozhi_interruptions_total", help: "Replies to xiaozhi devices stopped early (barge-in), by what interrupted them", labelNames: ["by"], registers: [registry] });
const versionChecks = new Counter({ name: "hearth_xiaozhi_ota_requests_total", help: "Version checks (OTA requests) from xiaozhi devices, by answer", labelNames: ["answer"], registers: [registry] });

export const xiaozhiMetrics = {
  setConnected: (n: number) => connected.set(n),
  countDropped: (reason: string) => dropped.inc({ reason }),
  countInterruption: (by: string) => interruptions.inc({ by }),
  countVersionCheck: (answer: "ok" | "activation" | "refused") => versionChecks.inc({ answer }),
};
