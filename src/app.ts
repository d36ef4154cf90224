// Wires config -> models -> engines -> front ends (OpenAI API, toys, console). The HTTP server
// starts first so /health and the console can say "loading" while models load (minutes on a Pi).
import { prepareMp3Encoder } from "./audio/mp3.ts";
import { apiRoutes } from "./api/routes.ts";
import type { Routes } from "./http/routes.ts";
import type { LoadedConfig } from "./config/load.ts";
import { NotReady } from "./errors.ts";
import { closeEngines, loadEngines, type Engines } from "./engines/index.ts";
import { logger, setLogLevel } from "./log.ts";
import { renderMetrics } from "./metrics.ts";
import { ensureModels } from "./models/ensure.ts";
import { HttpServer } from "./http/server.ts";
import { startToy, type ToyService } from "./toy/index.ts";
import { webRoutes, type StatusSnapshot } from "./web/routes.ts";

const log = logger("hearth");

export interface Hearth {
  config: LoadedConfig;
  url: string;
  engines: Engines;
  toy: ToyService;
  stop(): Promise<void>;
}

/** Starts everything and resolves once every model is loaded and every listener is up. */
export async function startHearth(config: LoadedConfig): Promise<Hearth> {
  setLogLevel(config.log.level);
  const startedAt = Date.now();
  let engines: Engines | undefined;
  let toy: ToyService | undefined;

  const notReadyReasons = (): string[] => {
    if (!engines) return ["loading models"];
    if (!toy) return ["starting the toy listeners (MQTT, UDP)"];
    return toy.ready().reasons;
  };
  const apiDeps = {
    config,
    engines: () => {
      if (!engines) throw new NotReady(`Hearth is starting: ${notReadyReasons().join(", ")}. Try again shortly.`);
      return engines;
    },
  };
  const startedToy = () => {
    if (!toy) throw new NotReady(`Hearth is starting: ${notReadyReasons().join(", ")}. Try again shortly.`);
    return toy;
  };
  const consoleRoutes = webRoutes({
    status: () => status(config, engines, notReadyReasons(), startedAt),
    turns: (limit) => toy?.recentTurns(limit) ?? [],
    toys: () => toy?.toys() ?? [],
    roles: { read: () => startedToy().readRoles(), write: (text) => startedToy().writeRoles(text) },
  });
  const routes = (): Routes => ({
    "/health": {
      GET: () => {
        const reasons = notReadyReasons();
        return reasons.length === 0
          ? Response.json({ status: "ok", profile: config.models.profile })
          : Response.json({ status: "starting", reasons }, { status: 503 });
      },
    },
    "/metrics": {
      GET: async () => {
        const { body, contentType } = await renderMetrics();
        return new Response(body, { headers: { "Content-Type": contentType } });
      },
    },
    ...apiRoutes(apiDeps),
    ...consoleRoutes,
    ...(toy?.routes ?? {}),
  });

  const server = new HttpServer(
    { host: config.http.host, port: config.http.port, apiKeys: config.http.api_keys, maxBodyBytes: config.http.max_upload_mb * 1e6 + 1e6 },
    routes(),
  );
  log.info("http listening", { url: server.url.href });
  try {
    const profile = await ensureModels(config);
    engines = await loadEngines(config, profile);
    await prepareMp3Encoder();
    toy = await startToy({ config: withHttpPort(config, server.port), engines });
    server.setRoutes(routes());
  } catch (e) {
    await toy?.stop();
    await server.stop();
    if (engines) await closeEngines(engines);
    throw e;
  }
  log.info("ready", { profile: config.models.profile, http: server.port, mqtt: toy.mqttPort, udp: toy.udpPort });
  const [loadedEngines, loadedToy] = [engines, toy];
  return {
    config,
    url: server.url.href.replace(/\/$/, ""),
    engines: loadedEngines,
    toy: loadedToy,
    async stop() {
      await loadedToy.stop(); // toys first: in-flight turns end before the engines go
      await server.stop();
      await closeEngines(loadedEngines);
    },
  };
}

/** Toys download reply MP3s from the HTTP port actually bound (the config may say 0 = any). */
function withHttpPort(config: LoadedConfig, port: number): LoadedConfig {
  return { ...config, http: { ...config.http, port } };
}

function status(config: LoadedConfig, engines: Engines | undefined, reasons: string[], startedAt: number): StatusSnapshot {
  const p = engines?.profile;
  return {
    models: {
      profile: config.models.profile,
      loaded: !!engines,
      stt: p?.stt.id ?? "",
      llm: p?.llm.id ?? "",
      tts: p?.tts.map((v) => v.id) ?? [],
      vad: p?.vad.id ?? "",
    },
    memory: { rss: process.memoryUsage.rss() },
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    ready: reasons.length === 0,
    reasons,
  };
}
