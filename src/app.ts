// Wires config -> models -> engines -> front ends. The HTTP server starts first so /health
// can say "loading" while models load (minutes on a Pi).
import { prepareMp3Encoder } from "./audio/mp3.ts";
import { apiRoutes, type Routes } from "./api/routes.ts";
import type { LoadedConfig } from "./config/load.ts";
import { NotReady } from "./errors.ts";
import { closeEngines, loadEngines, type Engines } from "./engines/index.ts";
import { logger, setLogLevel } from "./log.ts";
import { renderMetrics } from "./metrics.ts";
import { ensureModels } from "./models/ensure.ts";
import { HttpServer } from "./server.ts";

const log = logger("hearth");

export interface Hearth {
  config: LoadedConfig;
  url: string;
  engines: Engines;
  stop(): Promise<void>;
}

/** Starts everything and resolves once every model is loaded and every listener is up. */
export async function startHearth(config: LoadedConfig): Promise<Hearth> {
  setLogLevel(config.log.level);
  let engines: Engines | undefined;
  const reasons = new Set(["loading models"]);
  const deps = {
    config,
    engines: () => {
      if (!engines) throw new NotReady(`Hearth is starting: ${[...reasons].join(", ")}. Try again shortly.`);
      return engines;
    },
  };
  const baseRoutes: Routes = {
    "/health": {
      GET: () =>
        reasons.size === 0
          ? Response.json({ status: "ok", profile: config.models.profile })
          : Response.json({ status: "starting", reasons: [...reasons] }, { status: 503 }),
    },
    "/metrics": {
      GET: async () => {
        const { body, contentType } = await renderMetrics();
        return new Response(body, { headers: { "Content-Type": contentType } });
      },
    },
    ...apiRoutes(deps),
  };
  const server = new HttpServer(
    { host: config.http.host, port: config.http.port, apiKeys: config.http.api_keys, maxBodyBytes: config.http.max_upload_mb * 1e6 + 1e6 },
    baseRoutes,
  );
  log.info("http listening", { url: server.url.href });
  try {
    const profile = await ensureModels(config);
    engines = await loadEngines(config, profile);
    await prepareMp3Encoder();
  } catch (e) {
    await server.stop();
    throw e;
  }
  reasons.delete("loading models");
  log.info("ready", { profile: config.models.profile, stt: engines.profile.stt.id, llm: engines.profile.llm.id, tts: engines.profile.tts.map((v) => v.id).join(",") });
  const loaded = engines;
  return {
    config,
    url: server.url.href.replace(/\/$/, ""),
    engines: loaded,
    async stop() {
      await server.stop();
      await closeEngines(loaded);
    },
  };
}
