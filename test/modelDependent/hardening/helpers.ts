// A real Hearth in a process of its own (bun src/main.ts on the test models), for the hardening
// tests: they attack it over the network, then check that the process is alive, /health is
// ready, its memory stayed bounded, and a normal toy turn and a chat request still work.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { simulateToy } from "../../../scripts/lib/toy-simulator.ts";
import { topics } from "../../../src/devices/folotoy/mqtt.ts";
import { testEnv } from "../../support/hearth.ts";
import { ROOT } from "../../support/paths.ts";
import { memoryOf } from "../../standalone/hardening/fixtures.ts";
import { REPLY_SENTENCES, TEST_ROLES, UTT } from "../folotoy/helpers.ts";

export { memoryOf, UTT };

export interface ChildHearth {
  pid: number;
  url: string;
  mqttUrl: string;
  udpPort: number;
  stateDir: string;
  /** Everything it logged so far. */
  log(): string;
  alive(): boolean;
  memory(): { rssMb: number; peakMb: number };
  health(): Promise<{ status: number; body: any }>;
  /** The integration password the embedded broker generated. */
  integrationPassword(): string;
  stop(opts?: { keepState?: boolean }): Promise<void>;
}

/** Starts `bun src/main.ts` with HEARTH_* settings; resolves once it logged "ready". */
export async function startChildHearth(env: Record<string, string> = {}, opts: { stateDir?: string; roles?: unknown } = {}): Promise<ChildHearth> {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "hearth-child-"));
  if (opts.roles !== null) writeFileSync(join(stateDir, "roles.json"), JSON.stringify(opts.roles ?? TEST_ROLES, null, 2));
  const proc = Bun.spawn(["bun", "src/main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PATH: `${ROOT}/node_modules/.bin:${process.env.PATH}`,
      ...testEnv(stateDir),
      HEARTH_LOG_LEVEL: "info",
      ...env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
  };
  void drain(proc.stdout);
  void drain(proc.stderr);
  const end = Date.now() + 90_000;
  let ready: RegExpExecArray | null = null;
  while (!(ready = /info hearth: ready .*?http=(\d+).*?mqtt=(\d+).*?udp=(\d+)/.exec(text))) {
    if (proc.exitCode !== null || Date.now() > end) {
      proc.kill("SIGKILL");
      throw new Error(`Hearth did not start (exit ${proc.exitCode}):\n${text.slice(-4000)}`);
    }
    await Bun.sleep(50);
  }
  const [, http, mqtt, udp] = ready;
  const url = `http://127.0.0.1:${http}`;
  return {
    pid: proc.pid,
    url,
    mqttUrl: `mqtt://127.0.0.1:${mqtt}`,
    udpPort: Number(udp),
    stateDir,
    log: () => text,
    alive: () => proc.exitCode === null && !proc.killed,
    memory: () => memoryOf(proc.pid),
    async health() {
      const res = await fetch(`${url}/health`);
      return { status: res.status, body: await res.json() };
    },
    integrationPassword: () => readFileSync(join(stateDir, "mqtt-password"), "utf8").trim(),
    async stop({ keepState = false } = {}) {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(20_000).then(() => false)]);
        if (!exited) proc.kill("SIGKILL");
      }
      if (!keepState) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * What every hardening test ends with: the process is alive, /health says ready, RSS is under
 * `maxRssMb`, and a normal toy turn (login, speech over UDP, five sentences) and a chat request
 * still work. Returns the memory numbers, for the test to report.
 */
export async function expectStillServing(h: ChildHearth, maxRssMb: number, opts: { sn?: string; anyReply?: boolean } = {}) {
  const { expect } = await import("bun:test");
  const sn = opts.sn ?? `ffee${Math.random().toString(16).slice(2, 10).padEnd(8, "0")}`;
  expect(h.alive()).toBe(true);
  const health = await h.health();
  expect(health).toMatchObject({ status: 200, body: { status: "ok" } });
  const memory = h.memory();
  expect(memory.rssMb).toBeLessThan(maxRssMb);
  const result = await simulateToy({ mqtt: h.mqttUrl, sn, key: `key-${sn}`, role: 1, files: [UTT(1)], pace: 4, replyTimeoutMs: 30_000 });
  expect(result.turns[0]!.error).toBeUndefined();
  if (opts.anyReply) expect(result.turns[0]!.total).toBeGreaterThan(0);
  else expect(result.turns[0]!.audioplays.map((a) => a.order)).toEqual(REPLY_SENTENCES.map((_, i) => i + 1));
  const chat = await fetch(`${h.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "x", max_tokens: 4, messages: [{ role: "user", content: "hi" }] }),
  });
  expect(chat.status).toBe(200);
  return memory;
}

/** Logs a toy in over MQTT just long enough to get its UDP token; undefined when it is refused. */
export async function loginForToken(mqttUrl: string, sn: string, key: string): Promise<string | undefined> {
  const client = mqtt.connect(mqttUrl, { clientId: sn, username: sn, password: key, reconnectPeriod: 0, connectTimeout: 5000 });
  try {
    const ok = await new Promise<boolean>((resolve) => {
      client.once("connect", () => resolve(true));
      client.once("error", () => resolve(false));
      client.once("close", () => resolve(false));
    });
    if (!ok) return undefined;
    const token = new Promise<string | undefined>((resolve) => {
      client.on("message", (_t, p) => {
        const body = JSON.parse(p.toString());
        if (body.identifier === "updatetoken") resolve(body.inputParams.token);
      });
      setTimeout(() => resolve(undefined), 5000);
    });
    await client.subscribeAsync(topics.commandCall(sn), { qos: 1 });
    await client.publishAsync(topics.eventPost(sn), JSON.stringify({ msgId: 1, identifier: "login", outParams: { role: 1 } }));
    return await token;
  } finally {
    await client.endAsync(true).catch(() => {});
  }
}
