// Entry point: bun src/main.ts [--config FILE]
import { parseArgs } from "node:util";
import { startHearth } from "./app.ts";
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig } from "./config/load.ts";
import { HearthError } from "./errors.ts";
import { logger } from "./log.ts";
import { extendStartTimeout, notifyReady, notifyStatus, notifyStopping, startWatchdog } from "./systemd-notify.ts";

const log = logger("main");
/** EX_CONFIG: the unit does not restart on it, since only a config edit helps. */
const EXIT_CONFIG = 78;

const { values } = parseArgs({ options: { config: { type: "string", default: DEFAULT_CONFIG_FILE } } });

try {
  const config = loadConfig(values.config!);
  startWatchdog();
  void notifyStatus("Loading models");
  // A first start may download the models for a long while (with retries when offline).
  const stopExtending = extendStartTimeout(() => "Starting: fetching or loading the models (the console shows progress)");
  const hearth = await startHearth(config);
  stopExtending();
  await notifyReady(`Serving ${hearth.url}`);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("stopping", { signal });
    await notifyStopping();
    const force = setTimeout(() => process.exit(1), 15000);
    await hearth.stop().catch((e) => log.error("stop failed", { error: String(e) }));
    clearTimeout(force);
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
} catch (e) {
  if (e instanceof ConfigError) {
    log.error(e.message);
    process.exit(EXIT_CONFIG);
  }
  if (e instanceof HearthError) log.error(e.message);
  else log.error("failed to start", { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exit(1);
}
