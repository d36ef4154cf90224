// Entry point: bun src/main.ts [--config FILE]
import { parseArgs } from "node:util";
import { startHearth } from "./app.ts";
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig } from "./config/load.ts";
import { HearthError } from "./errors.ts";
import { logger } from "./log.ts";

const log = logger("main");

const { values } = parseArgs({ options: { config: { type: "string", default: DEFAULT_CONFIG_FILE } } });

try {
  const config = loadConfig(values.config!);
  const hearth = await startHearth(config);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("stopping", { signal });
    const force = setTimeout(() => process.exit(1), 15000);
    await hearth.stop().catch((e) => log.error("stop failed", { error: String(e) }));
    clearTimeout(force);
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
} catch (e) {
  if (e instanceof ConfigError || e instanceof HearthError) log.error(e.message);
  else log.error("failed to start", { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exit(1);
}
