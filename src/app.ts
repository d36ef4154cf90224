// Wires config -> models -> engines -> pipeline -> front ends (OpenAI API, console, devices).
// The HTTP server starts first so /health and the console can say "loading" while models load
// (minutes on a Pi).
import { prepareMp3Encoder } from "./audio/mp3.ts";
import { apiRoutes } from "./api/routes.ts";
import type { LoadedConfig } from "./config/load.ts";
import { FolotoyFrontEnd } from "./devices/folotoy/index.ts";
import { XiaozhiFrontEnd } from "./devices/xiaozhi/index.ts";
import type { DeviceFrontEnd } from "./devices/types.ts";
import { closeEngines, loadEngines, remoteHealth } from "./engines/load.ts";
import type { Engines } from "./engines/types.ts";
import { SileroSpeechStreams } from "./engines/vad/silero-stream.ts";
import { PAUSE_SECONDS } from "./pipeline/listen.ts";
import { NotReady } from "./errors.ts";
import type { Routes } from "./http/routes.ts";
import { HttpServer } from "./http/server.ts";
import { checkMetricsAccess, failingTurns, StateProbe } from "./health.ts";
import { ConsoleAuth } from "./http/session.ts";
import { logger, setLogLevel } from "./log.ts";
import { lanHost, urlHost } from "./util/network.ts";
import { renderMetrics } from "./metrics.ts";
import { ensureModelsPatiently, type PatientOptions } from "./models/ensure.ts";
import { ModelFetchTracker, type ModelFetchSnapshot } from "./models/fetch-status.ts";
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
  /** The xiaozhi-esp32 front end, when [xiaozhi] enabled. */
  xiaozhi?: XiaozhiFrontEnd;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** How missing models are fetched (tests: a manifest of local URLs, short waits). */
  models?: PatientOptions;
}

/**
 * Starts everything and resolves once every model is loaded and every listener is up. While
 * models are fetched the console and /health already answer; a fetch that fails for want of the
 * internet or the USB stick is tried again (the Status page says what is wrong and what to do).
 */
export async function startHearth(config: LoadedConfig, options: StartOptions = {}): Promise<Hearth> {
  setLogLevel(config.log.level);
  const startedAt = Date.now();
  const modelFetch = new ModelFetchTracker();
  let engines: Engines | undefined;
  let pipeline: Pipeline | undefined;
  const devices: DeviceFrontEnd[] = [];
  let devicesStarted = false;

  const notReadyReasons = (): string[] => {
    if (!engines || !pipeline) return [fetchReason(modelFetch.snapshot())];
    if (!devicesStarted) return ["starting the device listeners (MQTT, UDP)"];
    return devices.flatMap((d) => d.ready().reasons);
  };
  const running = (): Pipeline => {
    if (!pipeline) throw new NotReady(`Hearth is starting: ${notReadyReasons().join(", ")}. Try again shortly.`);
    return pipeline;
  };
  const apiDeps = { config, pipeline: running, engines: () => running().engines };
  const consoleAuth = new ConsoleAuth({ password: config.console.password, apiKeys: config.http.api_keys });
  const consoleRoutes = webRoutes({
    auth: consoleAuth,
    status: () => ({ ...status(config, engines, notReadyReasons(), startedAt), modelFetch: engines ? undefined : modelFetch.snapshot() }),
    listening: () => Object.assign({}, ...devices.map((d) => d.listening())),
    models: { dir: config.models.dir, profile: () => engines?.profile },
    turns: (query) => pipeline?.conversations.turns(query) ?? [],
    toys: () =>
      devices.flatMap((d) =>
        d.devices().map((t) => {
          const chosenRole = pipeline?.controls.role(d.name, t.sn);
          return { ...t, frontEnd: d.name, nickname: pipeline?.controls.get(d.name, t.sn).nickname, role: chosenRole ? Number(chosenRole) : t.role, ownRole: t.role, chosenRole };
        }),
      ),
    roles: { read: () => running().roles.read(), write: (text) => running().roles.write(text) },
    controls: {
      get: (frontEnd, device) => controlsView(running(), frontEnd, device),
      set: (frontEnd, device, controls) => {
        running().controls.set(frontEnd, device, controls);
        return controlsView(running(), frontEnd, device);
      },
      switchRole: (frontEnd, device, role) => {
        running().switchRole(frontEnd, device, role ?? undefined);
        return controlsView(running(), frontEnd, device);
      },
    },
    history: {
      deleteTurn: (id) => running().conversations.deleteTurn(id),
      eraseDevice: (frontEnd, device) => running().conversations.eraseDevice(frontEnd, device),
      eraseAll: () => running().conversations.eraseAll(),
    },
  });
  const stateProbe = new StateProbe(config.state.dir);
  const routes = (): Routes => ({
    "/health": {
      GET: () => {
        const reasons = notReadyReasons();
        // Remote engines: each upstream's state, and 503 while an engine has no server up.
        const remote = engines && remoteHealth(engines);
        const upstreams = remote ? { upstreams: remote.upstreams } : {};
        if (reasons.length) return Response.json({ status: "starting", reasons, ...upstreams }, { status: 503 });
        // Ready also means: state can be written, and turns are not all failing.
        const problems = [...(remote?.problems ?? []), stateProbe.problem(), failingTurns(pipeline?.conversations.turns({ limit: 5 }) ?? [])].filter((p) => p !== undefined);
        if (problems.length) return Response.json({ status: "degraded", reasons: problems, ...upstreams }, { status: 503 });
        return Response.json({ status: "ok", profile: config.models.profile, ...upstreams });
      },
    },
    "/metrics": {
      GET: async (req) => {
        checkMetricsAccess(req, config.http.api_keys, config.http.metrics_token);
        const { body, contentType } = await renderMetrics();
        return new Response(body, { headers: { "Content-Type": contentType } });
      },
    },
    ...apiRoutes(apiDeps),
    ...consoleRoutes,
    ...Object.assign({}, ...devices.map((d) => d.routes)),
  });

  const server = new HttpServer(
    { host: config.http.host, port: config.http.port, apiKeys: config.http.api_keys, maxBodyBytes: config.http.max_upload_mb * 1e6 + 1e6, corsOrigins: config.http.cors_origins, maxRequests: config.http.max_requests, bodyTimeoutMs: config.http.body_timeout_seconds * 1000, access: consoleAuth },
    routes(),
  );
  log.info("http listening", { url: server.url.href });
  let folotoy: FolotoyFrontEnd | undefined;
  let xiaozhi: XiaozhiFrontEnd | undefined;
  const stopAll = async () => {
    for (const d of devices) await d.stop(); // devices first: their turns end before the engines go
    await pipeline?.stop();
    await server.stop();
    if (engines) await closeEngines(engines);
  };
  try {
    const profile = await ensureModelsPatiently(config, modelFetch, options.models);
    engines = await loadEngines(config, profile);
    await prepareMp3Encoder();
    pipeline = startPipeline(config, engines);
    // Recordings are recognized while they arrive: each stretch of speech as the speaker pauses (pipeline/listen.ts).
    const pauses = new SileroSpeechStreams(engines.profile.vad, { threshold: config.vad.threshold, minSilenceSeconds: PAUSE_SECONDS, maxSpeechSeconds: config.vad.max_segment_seconds }).warm(4);
    folotoy = new FolotoyFrontEnd({ config, pipeline, httpPort: server.port, pauses });
    devices.push(folotoy);
    if (config.xiaozhi.enabled) {
      const detectors = new SileroSpeechStreams(engines.profile.vad, {
        threshold: config.vad.threshold,
        minSilenceSeconds: config.xiaozhi.end_of_speech_seconds,
        maxSpeechSeconds: config.vad.max_segment_seconds,
      });
      xiaozhi = new XiaozhiFrontEnd({ config, pipeline, httpPort: server.port, detectors, pauses });
      devices.push(xiaozhi);
    }
    for (const d of devices) await d.start();
    devicesStarted = true;
    void pipeline.warmer.warmRecent(devices.map((d) => d.name), config.llm.sequences); // after a restart
    server.setRoutes(routes(), Object.assign({}, ...devices.map((d) => d.sockets ?? {})));
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
    xiaozhi,
    stop: stopAll,
  };
}

function controlsView(pipeline: Pipeline, frontEnd: string, device: string) {
  const { controls } = pipeline;
  return {
    controls: controls.get(frontEnd, device),
    effective: controls.effective(frontEnd, device),
    usedTodayMinutes: Math.round(controls.usedToday(frontEnd, device) * 10) / 10,
    role: controls.role(frontEnd, device),
    paused: controls.pause(frontEnd, device),
  };
}

/** Why Hearth is not ready while it has no engines: what the model fetch is doing. */
function fetchReason(fetch: ModelFetchSnapshot | undefined): string {
  if (fetch?.state === "fetching") return `fetching the models of profile ${fetch.profile}`;
  if (fetch?.state === "failed") return `the models of profile ${fetch.profile} could not be fetched${fetch.retryAt ? " (trying again)" : ""}`;
  return "loading models";
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
    upstreams: engines ? remoteHealth(engines)?.upstreams : undefined,
  };
}
