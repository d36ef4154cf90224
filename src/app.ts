// Wires config -> models -> engines -> pipeline -> front ends (OpenAI API, console, devices).
// The HTTP server starts first so /health and the console can say "loading" while models load
// (minutes on a Pi).
import { prepareMp3Encoder } from "./audio/mp3.ts";
import { apiRoutes } from "./api/routes.ts";
import type { LoadedConfig } from "./config/load.ts";
import { FolotoyFrontEnd } from "./devices/folotoy/index.ts";
import type { DeviceFrontEnd } from "./devices/types.ts";
import { closeEngines, loadEngines } from "./engines/load.ts";
import type { Engines } from "./engines/types.ts";
import { NotReady } from "./errors.ts";
import type { Routes } from "./http/routes.ts";
import { HttpServer } from "./http/server.ts";
import { logger, setLogLevel } from "./log.ts";
import { lanHost, urlHost } from "./util/network.ts";
import { renderMetrics } from "./metrics.ts";
import { ensureModels } from "./models/ensure.ts";
import { startPipeline, type Pipeline } from "./pipeline/pipeline.ts";
import { webRoutes, type StatusSnapshot } from "./web/routes.ts";

const log = logger("hearth");

export interface Hearth {
  config: LoadedConfig;
  url: string;
  engines: Engines;
  pipeline: Pipeline;
  /** The device front ends, started (FoloToy first). */
  devices: DeviceFrontEnd[];
  /** The FoloToy front end (tests and the bench drive it). */
  folotoy: FolotoyFrontEnd;
  stop(): Promise<void>;
}

/** Starts everything and resolves once every model is loaded and every listener is up. */
export async function startHearth(config: LoadedConfig): Promise<Hearth> {
  setLogLevel(config.log.level);
  const startedAt = Date.now();
  let engines: Engines | undefined;
  let pipeline: Pipeline | undefined;
  const devices: DeviceFrontEnd[] = [];
  let devicesStarted = false;

  const notReadyReasons = (): string[] => {
    if (!engines || !pipeline) return ["loading models"];
    if (!devicesStarted) return ["starting the device listeners (MQTT, UDP)"];
    return devices.flatMap((d) => d.ready().reasons);
  };
  const running = (): Pipeline => {
    if (!pipeline) throw new NotReady(`Hearth is starting: ${notReadyReasons().join(", ")}. Try again shortly.`);
    return pipeline;
  };
  const apiDeps = { config, pipeline: running, engines: () => running().engines };
  const consoleRoutes = webRoutes({
    status: () => status(config, engines, notReadyReasons(), startedAt),
    listening: () => Object.assign({}, ...devices.map((d) => d.listening())),
    models: { dir: config.models.dir, profile: () => engines?.profile },
    turns: (query) => pipeline?.conversations.turns(query) ?? [],
    toys: () => devices.flatMap((d) => d.devices().map((t) => ({ ...t, frontEnd: d.name, nickname: pipeline?.controls.get(d.name, t.sn).nickname }))),
    roles: { read: () => running().roles.read(), write: (text) => running().roles.write(text) },
    controls: {
      get: (frontEnd, device) => controlsView(running(), frontEnd, device),
      set: (frontEnd, device, controls) => {
        running().controls.set(frontEnd, device, controls);
        return controlsView(running(), frontEnd, device);
      },
    },
    history: {
      deleteTurn: (id) => running().conversations.deleteTurn(id),
      eraseDevice: (frontEnd, device) => running().conversations.eraseDevice(frontEnd, device),
      eraseAll: () => running().conversations.eraseAll(),
    },
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
    ...Object.assign({}, ...devices.map((d) => d.routes)),
  });

  const server = new HttpServer(
    { host: config.http.host, port: config.http.port, apiKeys: config.http.api_keys, maxBodyBytes: config.http.max_upload_mb * 1e6 + 1e6, corsOrigins: config.http.cors_origins },
    routes(),
  );
  log.info("http listening", { url: server.url.href });
  let folotoy: FolotoyFrontEnd | undefined;
  const stopAll = async () => {
    for (const d of devices) await d.stop(); // devices first: their turns end before the engines go
    await pipeline?.stop();
    await server.stop();
    if (engines) await closeEngines(engines);
  };
  try {
    const profile = await ensureModels(config);
    engines = await loadEngines(config, profile);
    await prepareMp3Encoder();
    pipeline = startPipeline(config, engines);
    folotoy = new FolotoyFrontEnd({ config, pipeline, httpPort: server.port });
    devices.push(folotoy);
    for (const d of devices) await d.start();
    devicesStarted = true;
    server.setRoutes(routes());
  } catch (e) {
    await stopAll();
    throw e;
  }
  log.info("ready", { profile: config.models.profile, http: server.port, ...Object.assign({}, ...devices.map((d) => d.listening())) });
  // Where to go, on the address people and toys on the LAN use (never 0.0.0.0).
  const host = lanHost(config.http.host);
  const base = config.http.public_url.replace(/\/+$/, "") || `http://${urlHost(host)}:${server.port}`;
  log.info(`console: ${base}/`);
  log.info(`OpenAI API base URL: ${base}/v1`);
  for (const d of devices) if (d.howToConnect) log.info(d.howToConnect(host, server.port));
  return {
    config,
    url: server.url.href.replace(/\/$/, ""),
    engines,
    pipeline,
    devices,
    folotoy,
    stop: stopAll,
  };
}

function controlsView(pipeline: Pipeline, frontEnd: string, device: string) {
  const { controls } = pipeline;
  return {
    controls: controls.get(frontEnd, device),
    effective: controls.effective(frontEnd, device),
    usedTodayMinutes: Math.round(controls.usedToday(frontEnd, device) * 10) / 10,
    paused: controls.pause(frontEnd, device),
  };
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
