// The web console in a real headless Chromium, served by Hearth's real HTTP server (auth and
// error mapping included) with WebDeps answering fixed data (toys, turns of every outcome, a roles
// file, model files of known sizes) and small stand-ins for the OpenAI routes the pages call
// (/v1/models, /v1/audio/voices, /v1/audio/speech, a scripted streaming /v1/chat/completions).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { encodeWav } from "../../../src/audio/wav.ts";
import type { ResolvedProfile } from "../../../src/models/types.ts";
import { inQuietHours, type DeviceControls } from "../../../src/pipeline/controls.ts";
import type { ToyStatus, TurnRecord } from "../../../src/pipeline/types.ts";
import { HttpServer } from "../../../src/http/server.ts";
import { ConsoleAuth } from "../../../src/http/session.ts";
import { webRoutes, type DeviceControlsView, type StatusSnapshot, type WebDeps } from "../../../src/web/routes.ts";
import { DESKTOP, launchChromium, PHONE, SCREENSHOTS } from "./browser.ts";
import { AUDIO } from "../../support/paths.ts";

const SN = "e465b82b9ec8";
const OTHER_SN = "a1b2c3d4e5f6";
const LONG_PROMPT =
  "You are Lumi, a gentle night-light who loves the stars and knows the names of all the constellations; you speak softly, use short sentences, never frighten anyone, and always end with a calm question about the child's day so that bedtime feels safe and warm.";
const ROLES = `{
  "1": { "start_text": "Hi, I am Bunny!", "prompt": "You are Bunny, a brave little rabbit." },
  "2": { "prompt": "You are a patient maths teacher.", "voice_name": "amy", "max_tokens": 80 },
  "3": { "start_text": "你好！我们聊聊天吧。", "prompt": "${LONG_PROMPT}", "language": "zh" },
  "4": { "start_text": "Story time with many voices.", "prompt": "You tell stories.", "voice_name": "aishell3:12", "temperature": 0.6 },
  "toys": { "${SN}": { "1": { "voice_name": "amy" } } }
}
`;
const WAV = await Bun.file(join(AUDIO, "utt01.wav")).arrayBuffer(); // 3.6 s
const SHORT_WAV = encodeWav(new Float32Array(4000).map((_, i) => 0.2 * Math.sin(i / 5)), 16000); // 0.25 s
const MB = 1_000_000;

/** Model files of known sizes (sparse), so the Models page's disk use is checkable. */
function fakeProfile(dir: string): ResolvedProfile {
  const file = (rel: string, bytes: number) => {
    const path = join(dir, rel);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, "");
    truncateSync(path, bytes);
    return path;
  };
  file("tts/aishell3/data/lexicon.txt", 4 * MB);
  return {
    name: "pi",
    stt: { id: "sense-voice-int8-2025-09-09", type: "sense_voice", files: { model: file("stt/model.onnx", 228 * MB), tokens: file("stt/tokens.txt", 300_000) }, languages: ["en", "zh"], windowSeconds: 30 },
    llm: { id: "qwen2.5-0.5b-instruct-q4_k_m", file: file("llm/qwen.gguf", 398 * MB) },
    tts: [
      { id: "amy", type: "vits", files: { model: file("tts/amy/model.onnx", 63 * MB) }, language: "en", speakers: 1 },
      { id: "aishell3", type: "vits", files: { model: file("tts/aishell3/model.onnx", 30 * MB), dataDir: join(dir, "tts/aishell3/data") }, language: "zh", speakers: 174 },
    ],
    vad: { id: "silero-vad", file: file("vad/silero.onnx", 2 * MB) },
  };
}
const MODELS_DIR = mkdtempSync(join(tmpdir(), "hearth-console-models-"));
const PROFILE = fakeProfile(MODELS_DIR);
afterAll(() => rmSync(MODELS_DIR, { recursive: true, force: true }));

/** config.toml's [parental] defaults in the fixed appliance: a weekday bedtime. */
const DEFAULT_QUIET = [{ days: [1, 2, 3, 4, 5], from: "19:30", to: "07:00" }];
/** Quiet all day, whatever the time the test runs at. */
const ALL_DAY_QUIET = [
  { from: "00:00", to: "12:00" },
  { from: "12:00", to: "00:00" },
];

/** The fixed appliance the console looks at. roles.write validates like the toy layer: every role needs a prompt. */
function fixedDeps() {
  const state = { roles: ROLES, writes: 0, erased: [] as string[], controls: new Map<string, DeviceControls>(), puts: [] as { device: string; body: DeviceControls }[], chosenRoles: new Map<string, string>() };
  const status: StatusSnapshot = {
    models: { profile: "pi", loaded: true, stt: "sense-voice-int8-2025-09-09", llm: "qwen2.5-0.5b-instruct-q4_k_m", tts: ["amy", "aishell3"], vad: "silero-vad" },
    memory: { rss: 812_000_000 },
    uptimeSeconds: 3 * 3600 + 25 * 60,
    ready: true,
    reasons: [],
    upstreams: {
      llm: [
        { url: "http://192.168.1.50:8080/v1", state: "up", latencyMs: 41.6, requests: 12, errors: 0, lastError: null },
        { url: "http://192.168.1.51:8080/v1", state: "down", latencyMs: null, requests: 3, errors: 3, lastError: "connect ECONNREFUSED" },
      ],
    },
  };
  const now = Date.now();
  const toys: ToyStatus[] = [
    { sn: SN, role: 1, connected: true, lastSeen: now - 4000, battery: 87, firmware: "1.4.2", address: "192.168.1.31" },
    // known from its token, never seen since Hearth started
    { sn: OTHER_SN, role: 3, connected: false, lastSeen: 0, battery: null },
  ];
  const timings = (totalMs: number) => ({ sttMs: 420, firstTokenMs: 610, firstAudioMs: 1480, totalMs });
  const toyTurn = (id: string, ago: number, sn = SN) => ({ id, key: { frontEnd: "folotoy", device: sn, role: "1" }, source: "folotoy", sn, role: "1", at: now - ago });
  const turns: (TurnRecord & { safety?: object })[] = [
    {
      ...toyTurn("t2", 60_000),
      outcome: "replied",
      transcript: "Can you tell me a story about a brave little rabbit?",
      reply: "Once upon a time, a little rabbit lived by the river. She was very brave!",
      sentences: [
        { order: 1, text: "Once upon a time, a little rabbit lived by the river.", url: "/test-audio/1.wav" },
        { order: 2, text: "She was very brave!", url: "/test-audio/2.wav" },
      ],
      toolCalls: [
        { name: "self.audio_speaker.set_volume", arguments: '{"volume":30}', outcome: "ok", result: "true", ms: 40 },
        { name: "self.screen.set_theme", arguments: '{"theme":"pink"}', outcome: "error", result: "error: unknown theme", ms: 35 },
      ],
      timings: timings(5200),
    },
    {
      id: "t1",
      key: { frontEnd: "api", device: "console", role: "1" },
      source: "api",
      sn: "console",
      outcome: "replied",
      role: "1",
      at: now - 120_000,
      transcript: "What sound does a cow make?",
      reply: "A cow says moo.",
      sentences: [{ order: 1, text: "A cow says moo." }],
      timings: { firstTokenMs: 500, totalMs: 2100 },
    },
    {
      ...toyTurn("t3", 180_000),
      outcome: "timeout",
      transcript: "Why is the sky blue?",
      reply: "",
      explanation: "Hearth took too long to find an answer, so the toy said a friendly line instead.",
      error: "no reply within 12 s of the end of speech (reply_timeout_seconds)",
      sentences: [{ order: 1, text: "Hmm, let me think about that another time!", url: "/test-audio/3.wav", fallback: true }],
      timings: timings(12_000),
    },
    {
      ...toyTurn("t4", 240_000),
      outcome: "replied",
      transcript: "Where can I find a lighter?",
      reply: "Let's play a guessing game instead!",
      sentences: [{ order: 1, text: "Let's play a guessing game instead!", url: "/test-audio/4.wav", fixed: true } as TurnRecord["sentences"][number]],
      timings: timings(900),
      safety: { verdict: "redirected", stage: "input", category: "fire" },
    },
    {
      id: "t5",
      key: { frontEnd: "api", device: "default", role: "2" },
      source: "api",
      sn: "default",
      outcome: "cancelled",
      role: "2",
      at: now - 300_000,
      transcript: "Count to one hundred.",
      reply: "One, two,",
      explanation: "The app that asked stopped listening before the reply was finished.",
      error: "the client went away",
      sentences: [],
      timings: { firstTokenMs: 700 },
    },
    { ...toyTurn("t6", 360_000, OTHER_SN), outcome: "replied", transcript: "Hello!", reply: "Hi there!", sentences: [{ order: 1, text: "Hi there!" }], timings: timings(1500) },
    {
      ...toyTurn("t7", 420_000, OTHER_SN),
      outcome: "replied",
      transcript: "nobody at school likes me and I feel really sad",
      reply: "I'm sorry you feel sad. Could you tell a grown-up you trust, like your mum or your teacher?",
      sentences: [{ order: 1, text: "I'm sorry you feel sad. Could you tell a grown-up you trust, like your mum or your teacher?", fixed: true } as TurnRecord["sentences"][number]],
      timings: timings(700),
      safety: { verdict: "care", stage: "input", category: "self_harm" },
    },
  ];
  const deps: WebDeps = {
    status: () => status,
    listening: () => ({ mqtt: 18830, udp: 8095 }),
    models: { dir: MODELS_DIR, profile: () => PROFILE },
    turns: ({ limit, frontEnd, device, flaggedOnly }) =>
      turns
        .filter((t) => (frontEnd === undefined || t.key.frontEnd === frontEnd) && (device === undefined || t.key.device === device))
        .filter((t) => !flaggedOnly || flaggedOnly(t as unknown as Record<string, unknown>))
        .slice(0, limit),
    // as the app does: each toy with the nickname a parent gave it
    toys: () =>
      toys.map((t) => {
        const chosenRole = state.chosenRoles.get(`folotoy/${t.sn}`);
        return { ...t, nickname: state.controls.get(`folotoy/${t.sn}`)?.nickname, role: chosenRole ? Number(chosenRole) : t.role, ownRole: t.role, chosenRole };
      }),
    // as the pipeline's store: own settings over the defaults; paused by the switch, the toy's own quiet hours or the limit
    controls: {
      get: (f, d) => controlsView(state.controls.get(`${f}/${d}`) ?? {}, d === SN ? 12.5 : 0, state.chosenRoles.get(`${f}/${d}`)),
      set: (f, d, controls) => {
        state.puts.push({ device: d, body: controls });
        state.controls.set(`${f}/${d}`, controls);
        return controlsView(controls, d === SN ? 12.5 : 0, state.chosenRoles.get(`${f}/${d}`));
      },
      switchRole: (f, d, role) => {
        if (role === null) state.chosenRoles.delete(`${f}/${d}`);
        else state.chosenRoles.set(`${f}/${d}`, role);
        return controlsView(state.controls.get(`${f}/${d}`) ?? {}, d === SN ? 12.5 : 0, role ?? undefined);
      },
    },
    history: {
      deleteTurn: (id) => {
        const i = turns.findIndex((t) => t.id === id);
        if (i >= 0) turns.splice(i, 1);
        return i >= 0;
      },
      eraseDevice: (frontEnd, device) => {
        state.erased.push(`${frontEnd}/${device}`);
        const before = turns.length;
        for (let i = turns.length - 1; i >= 0; i--) if (turns[i]!.key.frontEnd === frontEnd && turns[i]!.key.device === device) turns.splice(i, 1);
        return before - turns.length;
      },
      eraseAll: () => void turns.splice(0),
    },
    roles: {
      read: () => state.roles,
      write(text) {
        const roles = JSON.parse(text) as Record<string, { prompt?: unknown }>;
        for (const [key, role] of Object.entries(roles)) {
          if (key !== "toys" && typeof role?.prompt !== "string") return { ok: false, error: `role "${key}": "prompt" is required` };
        }
        state.roles = text;
        state.writes++;
        return { ok: true };
      },
    },
  };
  return { deps, state, turns, status };
}

function controlsView(own: DeviceControls, usedTodayMinutes: number, role?: string): DeviceControlsView {
  const effective = { nickname: own.nickname, aiEnabled: own.aiEnabled ?? true, quietHours: own.quietHours ?? DEFAULT_QUIET, dailyLimitMinutes: own.dailyLimitMinutes ?? 0 };
  const paused = !effective.aiEnabled
    ? "resting"
    : own.quietHours && inQuietHours(own.quietHours, new Date())
      ? "quiet_hours"
      : effective.dailyLimitMinutes > 0 && usedTodayMinutes >= effective.dailyLimitMinutes
        ? "daily_limit"
        : undefined;
  return { controls: own, effective, usedTodayMinutes, ...(role ? { role } : {}), ...(paused ? { paused } : {}) };
}

/** What the stand-in OpenAI routes were asked. */
interface Calls {
  chat: any[];
  speech: any[];
  /** Chat streams the client went away from (the Stop button). */
  chatAborted: number;
}

function serve(deps: WebDeps, apiKeys: string[] = [], port = 0, access?: ConsoleAuth) {
  const calls: Calls = { chat: [], speech: [], chatAborted: 0 };
  const server = new HttpServer({ host: "127.0.0.1", port, apiKeys, maxBodyBytes: 2e6, access }, {
    ...webRoutes(deps),
    // stands in for the reply MP3s the toy layer serves
    "/test-audio/:n": { GET: () => new Response(WAV, { headers: { "Content-Type": "audio/wav" } }) },
    // stand in for the lead's OpenAI routes
    "/v1/models": {
      GET: () => Response.json({ object: "list", data: ["whisper-1", "tts-1", "qwen2.5-0.5b-instruct-q4_k_m", "role:1", "role:2", "role:3", "role:4"].map((id) => ({ id, object: "model", created: 0, owned_by: "hearth" })) }),
    },
    "/v1/audio/voices": {
      GET: () =>
        Response.json({
          voices: [
            { id: "amy", language: "en", speakers: 1, sample_rate: 16000 },
            { id: "aishell3", language: "zh", speakers: 174, sample_rate: 8000 },
          ],
          names: ["alloy", "nova", "amy", "aishell3", "aishell3:1"],
          openai_voice_map: { alloy: "amy:0", nova: "aishell3:3" },
        }),
    },
    "/v1/audio/speech": {
      POST: async (req) => {
        const body = await req.json();
        calls.speech.push(body);
        return new Response(String(body.input).includes("long") ? WAV : (SHORT_WAV as BodyInit), { headers: { "Content-Type": "audio/wav" } });
      },
    },
    // a role:N turn, streamed: "… slow …" sends one sentence and then waits (for the Stop button)
    "/v1/chat/completions": {
      POST: async (req) => {
        const body = await req.json();
        calls.chat.push(body);
        const id = `chatcmpl-test-${calls.chat.length}`;
        const said: string = body.messages.at(-1).content;
        const chunk = (content: string) => `data: ${JSON.stringify({ id, object: "chat.completion.chunk", choices: [{ index: 0, delta: { content } }] })}\n\n`;
        const encoder = new TextEncoder();
        let timer: ReturnType<typeof setTimeout> | undefined;
        return new Response(
          new ReadableStream({
            start(controller) {
              if (said.includes("slow")) {
                controller.enqueue(encoder.encode(chunk("This is a long first sentence. ")));
                timer = setTimeout(() => controller.close(), 30_000);
                return;
              }
              controller.enqueue(encoder.encode(chunk(`Hello from ${body.model}! `)));
              controller.enqueue(encoder.encode(chunk("Nice to meet you.")));
              controller.enqueue(encoder.encode("data: [DONE]\n\n"));
              controller.close();
            },
            cancel() {
              clearTimeout(timer);
              calls.chatAborted++;
            },
          }),
          { headers: { "Content-Type": "text/event-stream" } },
        );
      },
    },
  });
  return Object.assign(server, { calls });
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium(["--autoplay-policy=no-user-gesture-required"]);
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});

async function openPage(url: string, viewport = DESKTOP): Promise<Page> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  (page as any).errors = errors;
  return page;
}

/**
 * Desktop and phone screenshots of the whole page as it is now; on the phone nothing may stick out
 * sideways. The window is made as tall as the page (rather than a fullPage capture of a shorter
 * one), so the sticky header and Save bar are drawn where a reader of the page would see them.
 */
async function screenshots(page: Page, name: string) {
  const before = page.viewportSize();
  for (const [size, label] of [
    [DESKTOP, "desktop"],
    [PHONE, "phone"],
  ] as const) {
    await page.setViewportSize(size);
    await page.evaluate(() => window.scrollTo(0, 0));
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: size.width, height: Math.max(size.height, height) });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${label}.png`) });
    if (label === "phone") expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
  }
  if (before) await page.setViewportSize(before);
}

describe("JSON routes", () => {
  const { deps } = fixedDeps();
  let server: HttpServer;
  beforeAll(() => void (server = serve(deps)));
  afterAll(() => server.stop());

  test("status, toys, turns and roles answer JSON", async () => {
    const base = server.url.href.replace(/\/$/, "");
    const status = await (await fetch(`${base}/api/status`)).json();
    expect(status.models.profile).toBe("pi");
    // what toys connect to, and the models' disk use counted from their files
    expect(status.devices).toEqual({ mqtt: 18830, udp: 8095 });
    expect(status.disk.models).toEqual({
      "sense-voice-int8-2025-09-09": 228_300_000,
      "qwen2.5-0.5b-instruct-q4_k_m": 398 * MB,
      amy: 63 * MB,
      aishell3: 34 * MB,
      "silero-vad": 2 * MB,
    });
    expect(status.disk.total).toBe(725_300_000);
    expect(status.disk.free).toBeGreaterThan(0);
    const toys = await (await fetch(`${base}/api/toys`)).json();
    expect(toys.data[0]).toMatchObject({ sn: SN, role: 1, battery: 87 });
    const turns = await (await fetch(`${base}/api/turns?limit=1`)).json();
    expect(turns.data.map((t: TurnRecord) => t.id)).toEqual(["t2"]);
    const ofToy = await (await fetch(`${base}/api/turns?frontEnd=folotoy&device=${SN}`)).json();
    expect(ofToy.data.map((t: TurnRecord) => t.id)).toEqual(["t2", "t3", "t4"]);
    // only what the safety layer flagged
    const flagged = await (await fetch(`${base}/api/turns?flagged=1`)).json();
    expect(flagged.data.map((t: TurnRecord) => t.id)).toEqual(["t4", "t7"]);
    const flaggedOther = await (await fetch(`${base}/api/turns?flagged=1&device=${OTHER_SN}`)).json();
    expect(flaggedOther.data.map((t: TurnRecord) => t.id)).toEqual(["t7"]);
    const ofConsole = await (await fetch(`${base}/api/turns?device=console`)).json();
    expect(ofConsole.data.map((t: TurnRecord) => t.id)).toEqual(["t1"]);
    const bad = await fetch(`${base}/api/turns?limit=0`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ type: "invalid_request_error", param: "limit" });
    const empty = await fetch(`${base}/api/turns?device=`);
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.param).toBe("device");
    expect(await (await fetch(`${base}/api/roles`)).text()).toBe(ROLES);
  });

  test("PUT /api/roles rejects invalid JSON and invalid roles with OpenAI-shaped 400s", async () => {
    const base = server.url.href.replace(/\/$/, "");
    const put = (body: string) => fetch(`${base}/api/roles`, { method: "PUT", body });
    const broken = await put('{"1": {"prompt": "x"},}');
    expect(broken.status).toBe(400);
    expect((await broken.json()).error.code).toBe("invalid_json");
    const array = await put("[]");
    expect(array.status).toBe(400);
    const noPrompt = await put('{"1": {"start_text": "hi"}}');
    expect(noPrompt.status).toBe(400);
    expect((await noPrompt.json()).error.message).toBe('role "1": "prompt" is required');
    const ok = await put('{"1": {"prompt": "Be kind."}}');
    expect(await ok.json()).toEqual({ ok: true });
    expect(await (await fetch(`${base}/api/roles`)).text()).toBe('{"1": {"prompt": "Be kind."}}');
  });

  test("with API keys the data routes need the key, the page itself does not", async () => {
    const keyed = serve(deps, ["sekret"]);
    try {
      const base = keyed.url.href.replace(/\/$/, "");
      expect((await fetch(`${base}/`)).status).toBe(200);
      expect((await fetch(`${base}/console/app.js`)).status).toBe(200);
      expect((await fetch(`${base}/api/status`)).status).toBe(401);
      expect((await fetch(`${base}/api/status`, { headers: { Authorization: "Bearer sekret" } })).status).toBe(200);
    } finally {
      await keyed.stop();
    }
  });
});

describe("console pages in Chromium", () => {
  const { deps, state, turns } = fixedDeps();
  let server: ReturnType<typeof serve>;
  let base: string;
  beforeAll(() => {
    server = serve(deps);
    base = server.url.href.replace(/\/$/, "");
  });
  afterAll(() => server.stop());

  test("status: toys (one never seen), the address and steps to pair a toy, turns per conversation explained in plain words, a favicon", async () => {
    const page = await openPage(`${base}/`);
    const toy = page.locator(`dl.toy[data-sn="${SN}"]`);
    await toy.waitFor();
    const text = await toy.innerText();
    expect(text).toContain(SN);
    expect(text).toMatch(/Role\s+1/);
    expect(text).toMatch(/Battery\s+87%/);
    expect(await page.locator(`dl.toy[data-sn="${OTHER_SN}"]`).innerText()).toMatch(/Last seen\s+not seen yet/);
    expect(await page.locator("#card-state .value").innerText()).toBe("Ready");
    expect(await page.locator("#card-models .value").innerText()).toBe("pi");
    expect(await page.locator("#card-memory .value").innerText()).toBe("812 MB");
    expect(await page.locator("#card-uptime .value").innerText()).toBe("3 h 25 min");
    // an engine on other machines: how many of its servers are up, and each one's state
    expect(await page.locator("#card-upstream-llm .value").innerText()).toBe("1 of 2 up");
    expect(await page.locator("#card-upstream-llm .sub").innerText()).toBe("192.168.1.50:8080/v1: up, 42 ms; 192.168.1.51:8080/v1: down (connect ECONNREFUSED)");
    expect(await page.locator("#ready").innerText()).toBe("ready");

    // pairing: this page's host with the ports Hearth reports (not a hard-coded 1883); open the panel (closed once a toy is known)
    const pairing = page.locator("#pairing");
    expect(await pairing.evaluate((d: HTMLDetailsElement) => d.open)).toBe(false);
    await page.click("#pairing summary");
    expect(await page.locator("#pair-mqtt").innerText()).toBe("127.0.0.1 port 18830");
    expect(await page.locator("#pair-udp").innerText()).toContain("127.0.0.1 port 8095");
    const steps = await pairing.innerText();
    expect(steps).toContain("FoloToy-xxxx");
    expect(steps).toContain("at+config=mqtt,broker,127.0.0.1;port,18830");
    expect(steps).not.toContain("1883 ");
    // 127.0.0.1 is no address for a toy: the page says so
    expect(await page.locator("#pair-local").isVisible()).toBe(true);

    // turns, grouped by conversation: the toy, the Talk page (api/console), other API clients
    const groups = await page.locator("#turns .group").evaluateAll((els) => els.map((e) => [e.getAttribute("data-group"), e.querySelector("h3")!.textContent]));
    expect(groups).toEqual([
      [`folotoy/${SN}`, `Toy ${SN}`],
      ["api/console", "Talk page"],
      ["api/default", "API clients"],
      [`folotoy/${OTHER_SN}`, `Toy ${OTHER_SN}`],
    ]);
    expect(await page.locator('.group[data-group="api/console"] article').count()).toBe(1);
    expect(await page.locator('article[data-turn="t1"] .meta').innerText()).toContain("Talk page");
    // a timeout: its explanation in plain words, the technical reason folded away, the fallback line marked
    const timeout = page.locator('article[data-turn="t3"]');
    expect(await timeout.locator(".badge").innerText()).toBe("Too slow");
    expect(await timeout.locator(".explain").innerText()).toBe("Hearth took too long to find an answer, so the toy said a friendly line instead.");
    expect(await timeout.locator(".technical code").isVisible()).toBe(false);
    expect(await timeout.locator("li.fallback .tag").innerText()).toMatch(/fallback line/i);
    expect(await page.locator("li.fallback").count()).toBe(1);
    // a cancelled API turn, and the turns the safety layer redirected or answered with care (highlighted)
    expect(await page.locator('article[data-turn="t5"] .explain').innerText()).toContain("stopped listening");
    // no parent password: a banner says how to set one
    const banner = page.locator("#password-banner");
    expect(await banner.isVisible()).toBe(true);
    expect(await banner.innerText()).toContain('[console]\npassword = "');
    expect(await banner.innerText()).toContain("sudo systemctl restart hearth");
    const flagged = page.locator("article.flagged");
    expect(await flagged.evaluateAll((els) => els.map((e) => e.getAttribute("data-turn")))).toEqual(["t4", "t7"]);
    expect(await page.locator('article[data-turn="t7"] .badge.flag').innerText()).toBe("Care");
    expect(await page.locator('article[data-turn="t7"] .safety').innerText()).toContain("trusted grown-up");
    expect(await flagged.first().locator(".safety").innerText()).toBe("The toy gently changed the subject instead of answering. (fire and burns)");
    expect(await flagged.first().locator(".tag").innerText()).toMatch(/hearth's line/i);
    expect(await page.locator('article[data-turn="t2"] .explain').count()).toBe(0);

    const turn = page.locator('article[data-turn="t2"]');
    expect(await turn.innerText()).toContain("brave little rabbit");
    // device tools the model used (xiaozhi MCP), in words
    expect(await turn.locator(".tools li").allInnerTexts()).toEqual([
      "Used the device's self.audio_speaker.set_volume (volume 30): done",
      "Used the device's self.screen.set_theme (theme pink): it did not work (unknown theme)",
    ]);
    expect(await turn.locator("audio").count()).toBe(2);
    // the sentence audio really loads and plays in the browser
    const played = await turn.locator("audio").first().evaluate(
      (audio: HTMLAudioElement) =>
        new Promise<number>((resolve, reject) => {
          audio.muted = true;
          audio.addEventListener("playing", () => resolve(audio.duration), { once: true });
          audio.addEventListener("error", () => reject(new Error("audio error")), { once: true });
          void audio.play();
        }),
    );
    expect(played).toBeGreaterThan(3);
    // the favicon is a valid image
    const icon = await page.evaluate(async () => {
      const href = document.querySelector<HTMLLinkElement>('link[rel="icon"]')!.href;
      const img = new Image();
      img.src = href;
      await img.decode();
      return { href: href.slice(0, 19), width: img.naturalWidth };
    });
    expect(icon).toEqual({ href: "data:image/svg+xml,", width: 64 });
    expect((page as any).errors).toEqual([]);
    await screenshots(page, "status");
    await page.close();
  });

  test("the roles form edits one role's fields in roles.json, keeps the rest, wraps long text, and plays a role's voice", async () => {
    const page = await openPage(`${base}/#roles`);
    await page.locator('fieldset.role-form[data-role="4"]').waitFor();
    expect(await page.locator("fieldset.role-form").count()).toBe(4);
    expect(await page.locator('fieldset[data-role="1"] legend').innerText()).toBe("Role 1 Hi, I am Bunny!");
    // role 4 speaks with aishell3 speaker 12, role 2 with amy (one speaker: no speaker choice)
    expect(await page.locator("#role-4-voice").inputValue()).toBe("aishell3");
    expect(await page.locator('fieldset[data-role="4"] select.speaker').inputValue()).toBe("12");
    expect(await page.locator('fieldset[data-role="2"] select.speaker').isVisible()).toBe(false);
    expect(await page.locator("#role-2-max_tokens").inputValue()).toBe("80");
    expect(await page.locator("#role-3-language").inputValue()).toBe("zh");
    // the long prompt wraps inside its box
    const prompt3 = page.locator("#role-3-prompt");
    expect(await prompt3.inputValue()).toBe(LONG_PROMPT);
    expect(await prompt3.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);

    // "play" speaks the greeting in the voice role 3 would get: none named, so the first voice of its language
    await page.click('fieldset[data-role="3"] .play-voice');
    await page.waitForFunction(() => !(document.getElementById("roles-player") as HTMLAudioElement).paused);
    expect(server.calls.speech.at(-1)).toMatchObject({ voice: "aishell3:0", input: "你好！我们聊聊天吧。" });

    await page.fill("#role-2-prompt", "You are a patient maths teacher who loves puzzles.");
    await page.fill("#role-2-max_tokens", "120");
    await page.selectOption("#role-1-voice", "aishell3");
    await page.selectOption('fieldset[data-role="1"] select.speaker', "7");
    expect(await page.locator("#roles-message").innerText()).toContain("not saved");
    await screenshots(page, "roles-form");
    await page.click("#roles-save");
    await page.waitForFunction(() => document.getElementById("roles-message")!.textContent!.startsWith("Saved"));
    expect(state.writes).toBe(1);
    const saved = JSON.parse(state.roles);
    expect(saved["2"]).toEqual({ prompt: "You are a patient maths teacher who loves puzzles.", voice_name: "amy", max_tokens: 120 });
    expect(saved["1"]).toEqual({ start_text: "Hi, I am Bunny!", prompt: "You are Bunny, a brave little rabbit.", voice_name: "aishell3:7" });
    // untouched roles, fields the form does not show, and the per-toy section are kept as they were
    expect(saved["4"]).toEqual({ start_text: "Story time with many voices.", prompt: "You tell stories.", voice_name: "aishell3:12", temperature: 0.6 });
    expect(saved["3"].prompt).toBe(LONG_PROMPT);
    expect(saved.toys).toEqual({ [SN]: { "1": { voice_name: "amy" } } });

    // the raw JSON is still there, with the saved text, and long lines wrap there too
    await page.click("#roles-view-json");
    const area = page.locator("#roles-text");
    expect(JSON.parse(await area.inputValue())).toEqual(saved);
    expect(await area.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    await screenshots(page, "roles-json");
    expect((page as any).errors).toEqual([]);
    await page.close();
  });

  test("the roles JSON editor shows invalid JSON inline, shows Hearth's own validation error, and saves valid JSON", async () => {
    const page = await openPage(`${base}/#roles`, PHONE);
    await page.locator("fieldset.role-form").first().waitFor();
    await page.click("#roles-view-json");
    const area = page.locator("#roles-text");
    const message = page.locator("#roles-message");
    const writes = state.writes;

    await area.fill('{"1": {"prompt": "Be kind."},}');
    await page.click("#roles-save");
    await expect(message.innerText()).resolves.toContain("Not valid JSON");
    expect(await message.isVisible()).toBe(true);
    expect(await area.getAttribute("class")).toContain("invalid");
    // the form cannot show invalid JSON: the page stays on the JSON
    await page.click("#roles-view-form");
    expect(await page.locator("#roles-json").isVisible()).toBe(true);
    await screenshots(page, "roles-error");
    expect(state.writes).toBe(writes);

    await area.fill('{"1": {"start_text": "hello"}}');
    await page.click("#roles-save");
    await page.waitForFunction(() => document.getElementById("roles-message")!.textContent!.includes("prompt"));
    expect(await message.innerText()).toBe('role "1": "prompt" is required');
    expect(state.writes).toBe(writes);

    const valid = '{"1": {"prompt": "You are a friendly dragon.", "voice_name": "amy"}}';
    await area.fill(valid);
    await page.click("#roles-save");
    await page.waitForFunction(() => document.getElementById("roles-message")!.textContent!.startsWith("Saved"));
    expect(state.writes).toBe(writes + 1);
    expect(state.roles).toBe(valid);
    await page.click("#roles-format");
    await page.click("#roles-view-form");
    expect(await page.locator("fieldset.role-form").count()).toBe(1);
    expect(await page.locator("#role-1-prompt").inputValue()).toBe("You are a friendly dragon.");
    await page.close();
  });

  test("alerts: the flagged turns, a child who needs care first, in plain words with a link to the toy; the badge counts new ones", async () => {
    const page = await openPage(`${base}/`);
    const badge = page.locator("#alerts-badge");
    await badge.waitFor();
    expect(await badge.innerText()).toBe("2");
    expect(await badge.getAttribute("class")).toContain("care");
    expect(await page.locator("#alerts-link").getAttribute("title")).toBe("2 new alerts, a child may need you");
    await page.click("#alerts-link");
    const items = page.locator("#alerts-list article.alert");
    await items.first().waitFor();
    expect(await page.locator("nav a.active").getAttribute("data-page")).toBe("alerts");
    expect(await page.locator("#alerts-list h2").allInnerTexts()).toEqual(["A child may need you", "Steered away"]);
    expect(await items.evaluateAll((els) => els.map((e) => [e.getAttribute("data-turn"), e.getAttribute("data-verdict")]))).toEqual([
      ["t7", "care"],
      ["t4", "redirected"],
    ]);
    const care = items.first();
    expect(await care.locator(".badge").innerText()).toBe("Needs care");
    expect(await care.locator("a.who").innerText()).toBe(`Toy ${OTHER_SN}`);
    expect(await care.locator("a.who").getAttribute("href")).toBe(`#history/folotoy/${OTHER_SN}`);
    expect(await care.locator(".what").innerText()).toBe(
      "The child may be upset: the toy answered kindly and suggested talking to a trusted grown-up. About: self-harm and distress.",
    );
    expect(await care.locator("dt").allInnerTexts()).toEqual(["The child said", "The toy answered"]);
    expect(await care.locator(".said").innerText()).toBe("nobody at school likes me and I feel really sad");
    expect(await care.locator(".answered").innerText()).toBe("I'm sorry you feel sad. Could you tell a grown-up you trust, like your mum or your teacher?");
    const redirect = items.nth(1);
    expect(await redirect.locator(".badge").innerText()).toBe("Redirected");
    expect(await redirect.locator(".what").innerText()).toBe("The toy gently changed the subject instead of answering. About: fire and burns.");
    expect(await redirect.locator(".said").innerText()).toBe("Where can I find a lighter?");
    // the care alert stands out: a stronger border and a tinted background
    const [careBg, otherBg] = await Promise.all([care, redirect].map((el) => el.evaluate((e) => getComputedStyle(e).backgroundColor)));
    expect(careBg).not.toBe(otherBg);
    // shown here, so no longer new
    await page.waitForFunction(() => document.getElementById("alerts-badge")!.hidden);
    expect((page as any).errors).toEqual([]);
    await screenshots(page, "alerts");

    // a new alert while the parent is on another page: the badge counts it (not a care one: no red)
    await page.click('nav a[data-page="status"]');
    turns.unshift({
      id: "t8",
      key: { frontEnd: "folotoy", device: SN, role: "1" },
      source: "folotoy",
      sn: SN,
      role: "1",
      at: Date.now(),
      outcome: "replied",
      transcript: "Tell me a scary story.",
      reply: "Let's pick a happy story instead!",
      sentences: [{ order: 1, text: "Let's pick a happy story instead!", fixed: true } as TurnRecord["sentences"][number]],
      timings: { totalMs: 900 },
      safety: { verdict: "blocked", stage: "output", category: "violence" },
    } as TurnRecord);
    try {
      await page.waitForFunction(() => !document.getElementById("alerts-badge")!.hidden, undefined, { timeout: 10_000 });
      expect(await badge.innerText()).toBe("1");
      expect(await badge.getAttribute("class")).not.toContain("care");
      await page.click("#alerts-link");
      await page.locator('#alerts-list article[data-turn="t8"]').waitFor();
      expect(await page.locator('#alerts-list article[data-turn="t8"] .what').innerText()).toBe(
        "A sentence the model wrote was held back, not spoken. About: violence (in the model's reply).",
      );
      // the link opens the toy's own page
      await page.click(`#alerts-list article[data-turn="t7"] a.who`);
      await page.waitForFunction(() => location.hash === "#history/folotoy/a1b2c3d4e5f6");
      await page.locator('#history-turns article[data-turn="t7"]').waitFor();
    } finally {
      turns.splice(turns.findIndex((t) => t.id === "t8"), 1);
    }
    await page.close();
  });

  test("models: sizes on disk, free space, the API base URL to copy, and the names the API accepts", async () => {
    const page = await openPage(`${base}/#models`, PHONE);
    await page.locator("#models-disk").waitFor();
    const text = await page.locator("#models-list").innerText();
    for (const id of ["pi", "sense-voice-int8-2025-09-09", "qwen2.5-0.5b-instruct-q4_k_m", "amy", "aishell3", "silero-vad"]) expect(text).toContain(id);
    expect(text).toMatch(/qwen2\.5-0\.5b-instruct-q4_k_m\s+398 MB/);
    expect(text).toMatch(/aishell3\s+34\.0 MB/);
    expect(await page.locator("#models-disk").innerText()).toBe("725 MB");
    expect(await page.locator("#models-free").innerText()).toMatch(/^\d+(\.\d+)? (GB|MB)$/);
    expect(await page.locator("#models-base").inputValue()).toBe(`${base}/v1`);
    await page.click("#models-copy");
    await page.waitForFunction(() => document.getElementById("models-copied")!.textContent !== "");
    await page.waitForFunction(() => document.querySelectorAll("#models-api li").length === 3);
    expect(await page.locator("#models-api").innerText()).toContain("whisper-1");
    expect(await page.locator("#models-roles li").allInnerTexts()).toEqual(["role:1", "role:2", "role:3", "role:4"]);
    expect((page as any).errors).toEqual([]);
    await screenshots(page, "models");
    await page.close();
  });

  test("talk: a role picker, the role's voice and speaker, role:N with only the new message, and Stop", async () => {
    state.roles = ROLES; // the roles tests above saved others
    const page = await openPage(`${base}/#talk`);
    await page.waitForFunction(() => (document.getElementById("talk-role") as HTMLSelectElement).options.length === 4);
    expect(await page.locator("#talk-role option").allInnerTexts()).toEqual(["1 · Hi, I am Bunny!", "2 · You are a patient maths…", "3 · 你好！我们聊聊天吧。", "4 · Story time with many voices."]);
    // 127.0.0.1 is a secure context, so the microphone button is offered
    expect(await page.locator("#talk-button").isVisible()).toBe(true);
    expect(await page.locator("#talk-nomic").isVisible()).toBe(false);
    // the voice follows the role: role 2 names amy (one speaker), role 3 gets its language's voice, role 4 names aishell3:12
    await page.selectOption("#talk-role", "2");
    expect(await page.locator("#talk-voice").inputValue()).toBe("amy");
    expect(await page.locator("#talk-speaker").isVisible()).toBe(false);
    await page.selectOption("#talk-role", "3");
    expect(await page.locator("#talk-voice").inputValue()).toBe("aishell3");
    expect(await page.locator("#talk-speaker").inputValue()).toBe("0");
    await page.selectOption("#talk-role", "4");
    expect(await page.locator("#talk-speaker").inputValue()).toBe("12");
    expect(await page.locator("#talk-speaker option").count()).toBe(174);
    await page.selectOption("#talk-speaker", "5");
    expect(await page.locator("#talk-voice-hint").innerText()).toBe("Your choice for role 4.");
    // the choice is kept for role 4 while other roles keep theirs
    await page.selectOption("#talk-role", "2");
    expect(await page.locator("#talk-voice-hint").innerText()).toBe("Role 2's voice.");
    await page.selectOption("#talk-role", "4");
    expect(await page.locator("#talk-speaker").inputValue()).toBe("5");

    const send = async (text: string) => {
      await page.fill("#talk-text", text);
      await page.click("#talk-form button");
    };
    await send("Tell me a story");
    const first = page.locator('.bubble.assistant[data-done="true"]');
    await first.waitFor({ timeout: 20_000 });
    expect(await first.locator(".text").innerText()).toBe("Hello from role:4! Nice to meet you.");
    expect(await first.getAttribute("data-turn")).toBe("chatcmpl-test-1");
    expect(server.calls.chat[0]).toEqual({ model: "role:4", messages: [{ role: "user", content: "Tell me a story" }], stream: true, user: "console" });
    expect(server.calls.speech.slice(-2).map((b) => b.voice)).toEqual(["aishell3:5", "aishell3:5"]);
    expect(server.calls.speech.slice(-2).map((b) => b.input)).toEqual(["Hello from role:4!", "Nice to meet you."]);
    // the history stays on Hearth: the next request carries only the new message
    await send("And then?");
    await page.locator('.bubble.assistant[data-done="true"]').nth(1).waitFor({ timeout: 20_000 });
    expect(server.calls.chat[1].messages).toEqual([{ role: "user", content: "And then?" }]);

    // Stop while the first sentence plays and the model is still "writing": the request is aborted, playback stops
    await page.selectOption("#talk-role", "1");
    await send("please be slow");
    await page.waitForFunction(() => document.getElementById("talk-status")!.textContent === "Speaking…");
    expect(await page.locator("#talk-stop").isVisible()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, "talk-speaking-phone.png") });
    const played = await page.locator("#talk-player").getAttribute("data-played");
    await page.click("#talk-stop");
    await page.waitForFunction(() => document.getElementById("talk-status")!.dataset.state === "idle");
    expect(await page.locator("#talk-status").innerText()).toBe("Stopped.");
    expect(await page.locator("#talk-player").evaluate((a: HTMLAudioElement) => a.paused)).toBe(true);
    expect(await page.locator("#talk-player").getAttribute("data-played")).toBe(played);
    expect(await page.locator("#talk-stop").isVisible()).toBe(false);
    expect(await page.locator('.bubble.assistant[data-stopped="true"]').count()).toBe(1);
    for (let i = 0; i < 40 && server.calls.chatAborted === 0; i++) await Bun.sleep(50);
    expect(server.calls.chatAborted).toBe(1);
    expect(server.calls.chat[2]).toMatchObject({ model: "role:1", user: "console" });
    expect((page as any).errors).toEqual([]);
    await screenshots(page, "talk");

    // "Start over" asks, then has Hearth forget the page's conversations (every role)
    page.once("dialog", (d) => void d.accept());
    await page.click("#talk-reset");
    await page.waitForFunction(() => document.getElementById("talk-status")!.textContent!.startsWith("New conversation"));
    expect(state.erased).toEqual(["api/console"]);
    expect(await page.locator("#talk-log .bubble").count()).toBe(0);
    await page.close();
  });

  test("on a plain-http LAN address the talk page offers a recording upload and typing, and pairing names that address", async () => {
    // hearth.test resolves to 127.0.0.1 but, not being localhost, is not a secure context: like http://192.168.1.20:8080
    const lan = await launchChromium([`--host-resolver-rules=MAP hearth.test 127.0.0.1`]);
    try {
      const page = await lan.newPage({ viewport: PHONE });
      await page.goto(`http://hearth.test:${server.port}/#talk`);
      await page.locator("#talk-nomic").waitFor({ state: "visible" });
      expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
      expect(await page.locator("#talk-button").isVisible()).toBe(false);
      expect(await page.locator("#talk-file").count()).toBe(1);
      expect(await page.locator("#talk-text").isVisible()).toBe(true);
      await page.screenshot({ path: join(SCREENSHOTS, "talk-nomic-phone.png"), fullPage: true });
      await page.goto(`http://hearth.test:${server.port}/#status`);
      await page.locator("#pair-mqtt").waitFor({ state: "attached" });
      expect(await page.locator("#pair-mqtt").textContent()).toBe("hearth.test port 18830");
      expect(await page.locator("#pair-local").count()).toBe(0);
    } finally {
      await lan.close();
    }
  });
});

describe("a toy's page", () => {
  test("lists only that toy's turns, explains failures, marks fallback lines, deletes one turn, and clears its memory after a confirm", async () => {
    const { deps, state, turns } = fixedDeps();
    const server = serve(deps);
    try {
      const page = await openPage(server.url.href);
      await page.click(`dl.toy[data-sn="${SN}"] a.open`);
      await page.waitForFunction(() => location.hash === "#history/folotoy/e465b82b9ec8");
      await page.locator('#history-turns article[data-turn="t4"]').waitFor();
      expect(await page.locator("#history-title").innerText()).toBe(`Toy ${SN}`);
      expect(await page.locator("#history-facts").innerText()).toMatch(/Battery\s+87%/);
      expect(await page.locator("#history-turns article").evaluateAll((els) => els.map((e) => e.getAttribute("data-turn")))).toEqual(["t2", "t3", "t4"]);
      expect(await page.locator('#history-turns article[data-turn="t3"] .explain').innerText()).toContain("friendly line");
      expect(await page.locator('#history-turns article[data-turn="t3"] li.fallback').count()).toBe(1);
      expect(await page.locator("nav a.active").innerText()).toBe("Status");
      await screenshots(page, "toy");

      // one tap deletes one turn, from Hearth too
      await page.click('#history-turns article[data-turn="t4"] button.delete');
      await page.locator('#history-turns article[data-turn="t4"]').waitFor({ state: "detached" });
      expect(turns.some((t) => t.id === "t4")).toBe(false);

      // clearing the memory asks first: "Cancel" keeps everything
      page.once("dialog", (d) => void d.dismiss());
      await page.click("#history-erase");
      await page.waitForTimeout(300);
      expect(state.erased).toEqual([]);
      page.once("dialog", (d) => {
        expect(d.message()).toContain("cannot be undone");
        void d.accept();
      });
      await page.click("#history-erase");
      await page.waitForFunction(() => document.getElementById("history-message")!.textContent!.startsWith("Memory cleared"));
      expect(state.erased).toEqual([`folotoy/${SN}`]);
      expect(await page.locator("#history-message").innerText()).toBe("Memory cleared (2 items deleted).");
      expect(await page.locator("#history-turns").innerText()).toBe("No conversation kept.");
      // the other toy's turns are still there
      expect(turns.map((t) => t.id)).toEqual(["t1", "t5", "t6", "t7"]);
      expect((page as any).errors).toEqual([]);
      await page.close();
    } finally {
      await server.stop();
    }
  });

  test("parental controls: nickname, AI switch, quiet hours per weekday, a daily limit with today's use; saved, shown on the toy card, and why it is paused", async () => {
    const { deps, state } = fixedDeps();
    state.controls.set(`folotoy/${OTHER_SN}`, { quietHours: ALL_DAY_QUIET });
    const server = serve(deps);
    const saved = async (page: Page) => {
      await page.click("#controls-save");
      await page.waitForFunction(() => /^(Saved|Not saved)/.test(document.getElementById("controls-message")!.textContent!));
      expect(await page.locator("#controls-message").innerText()).toStartWith("Saved");
      return state.puts.at(-1)!.body;
    };
    /** The weekdays ticked in a quiet-time row (0 = Sunday). */
    const days = (row: ReturnType<Page["locator"]>) => row.locator(".day input:checked").evaluateAll((els) => els.map((e) => Number((e as HTMLInputElement).value)));
    /** Days are ticked by their visible chip (the checkbox itself is hidden behind it). */
    const toggle = (row: ReturnType<Page["locator"]>, day: number) => row.locator(`label.day:has(input[value="${day}"]) span`).click();
    try {
      const page = await openPage(`${server.url.href}#history/folotoy/${SN}`);
      await page.locator("#controls-form").waitFor();
      // what is in force: config.toml's weekday bedtime, no limit, and today's use
      expect(await page.locator("#controls-nickname").inputValue()).toBe("");
      expect(await page.locator("#controls-ai").isChecked()).toBe(true);
      const rows = page.locator("#controls-quiet .quiet-row");
      expect(await rows.count()).toBe(1);
      expect(await days(rows.first())).toEqual([1, 2, 3, 4, 5]);
      expect(await rows.first().locator("input.from").inputValue()).toBe("19:30");
      expect(await rows.first().locator("input.to").inputValue()).toBe("07:00");
      expect(await page.locator("#controls-quiet-default").isVisible()).toBe(true);
      expect(await page.locator("#controls-limit").inputValue()).toBe("0");
      expect(await page.locator("#controls-usage").innerText()).toBe("Used today: 12.5 min");
      expect(await page.locator("#controls-paused").isVisible()).toBe(false);

      // a nickname and a limit: the quiet hours nobody touched are not sent, so they keep following config.toml
      await page.fill("#controls-nickname", "Bunny");
      await page.fill("#controls-limit", "30");
      expect(await saved(page)).toEqual({ nickname: "Bunny", dailyLimitMinutes: 30 });
      // the page redraws its title from Hearth's answer to the save, a moment after the request
      await page.waitForFunction((sn) => document.getElementById("history-title")?.innerText === `Bunny ${sn}`, SN, { timeout: 5000 });
      expect(await page.locator("#history-title").innerText()).toBe(`Bunny ${SN}`);
      expect(await page.locator("#history-title small").innerText()).toBe(SN);
      expect(await page.locator("#controls-usage").innerText()).toBe("Used today: 12.5 min of 30");
      expect(await page.locator("#controls-usage-bar").isVisible()).toBe(true);

      // a weekend nap: a new row; a row without any day is refused before anything is sent
      const puts = state.puts.length;
      await page.click("#controls-quiet-add");
      const nap = rows.nth(1);
      for (const day of [0, 1, 2, 3, 4, 5, 6]) await toggle(nap, day);
      expect(await days(nap)).toEqual([]);
      await page.click("#controls-save");
      await page.waitForFunction(() => document.getElementById("controls-message")!.textContent!.includes("no day"));
      expect(await page.locator("#controls-message").innerText()).toBe("Quiet time 2 has no day: tick at least one.");
      expect(state.puts.length).toBe(puts);
      await toggle(nap, 6);
      await toggle(nap, 0);
      await nap.locator("input.from").fill("13:00");
      await nap.locator("input.to").fill("15:00");
      expect(await saved(page)).toEqual({
        nickname: "Bunny",
        quietHours: [
          { days: [1, 2, 3, 4, 5], from: "19:30", to: "07:00" },
          { days: [0, 6], from: "13:00", to: "15:00" },
        ],
        dailyLimitMinutes: 30,
      });
      expect(await page.locator("#controls-quiet-default").isVisible()).toBe(false);

      // AI off: the toy rests, and the page says so
      await page.click("label.switch .track");
      expect(await page.locator("#controls-ai-hint").innerText()).toContain("resting line");
      expect(await saved(page)).toMatchObject({ nickname: "Bunny", aiEnabled: false });
      const paused = page.locator("#controls-paused");
      expect(await paused.isVisible()).toBe(true);
      expect(await paused.innerText()).toBe("Resting now: its AI is switched off, so it answers with a friendly resting line.");
      expect((page as any).errors).toEqual([]);
      await screenshots(page, "toy-controls");

      // the status page: the nickname with the SN in small text, and why each paused toy is not talking
      await page.click(".crumbs a");
      const card = page.locator(`dl.toy[data-sn="${SN}"]`);
      await card.locator(".pause").waitFor();
      expect(await card.locator(".sn a").innerText()).toBe("Bunny");
      expect(await card.locator(".sn small").innerText()).toBe(SN);
      expect(await card.locator(".pause").innerText()).toBe("Not talking now: resting");
      expect(await page.locator(`dl.toy[data-sn="${OTHER_SN}"] .pause`).innerText()).toBe("Not talking now: quiet time");
      expect(await page.locator(`.group[data-group="folotoy/${SN}"] h3`).innerText()).toBe(`Bunny ${SN}`);
      await screenshots(page, "status-controls");

      // back on: over today's limit, and the nap removed (the toy's own quiet hours are sent, now just the bedtime)
      await card.locator("a.open").click();
      await page.locator("#controls-form").waitFor();
      await page.click("label.switch .track");
      await page.fill("#controls-limit", "10");
      await rows.nth(1).locator("button.remove").click();
      expect(await saved(page)).toEqual({ nickname: "Bunny", quietHours: [{ days: [1, 2, 3, 4, 5], from: "19:30", to: "07:00" }], dailyLimitMinutes: 10 });
      expect(await paused.innerText()).toBe("Daily limit reached: it has talked 12.5 min today (the limit is 10 minutes), and says goodbye until tomorrow.");

      // a toy that is quiet all day says so on its page
      await page.goto(`${server.url.href}#history/folotoy/${OTHER_SN}`);
      await page.locator("#controls-paused").waitFor();
      expect(await page.locator("#controls-paused").innerText()).toStartWith("Quiet time now");
      expect(await page.locator("#controls-quiet .quiet-row").count()).toBe(2);
      // the Talk page has no controls
      await page.goto(`${server.url.href}#history/api/console`);
      await page.locator("#history-turns article").first().waitFor();
      expect(await page.locator("#controls-form").isVisible()).toBe(false);
      expect((page as any).errors).toEqual([]);
      await page.close();
    } finally {
      await server.stop();
    }
  });

  test("a toy's role: the parent picks one of roles.json's roles over its role button, sees it on the card, and can give the button back", async () => {
    const { deps, state } = fixedDeps();
    const server = serve(deps);
    try {
      const page = await openPage(`${server.url.href}#history/folotoy/${SN}`);
      const select = page.locator("#role-select");
      await page.locator("#role-form").waitFor({ state: "visible" });
      expect(await select.inputValue()).toBe("");
      expect(await select.locator("option").allInnerTexts()).toEqual([
        "Its role button (now 1 · Hi, I am Bunny!)",
        "Role 1 · Hi, I am Bunny!",
        "Role 2 · You are a patient maths teacher.",
        "Role 3 · 你好！我们聊聊天吧。",
        "Role 4 · Story time with many voices.",
      ]);
      expect(await page.locator("#role-hint").innerText()).toContain("whatever its role button says");
      await select.selectOption("4");
      await page.waitForFunction(() => /^(Switched|Not switched)/.test(document.getElementById("role-message")!.textContent!));
      expect(await page.locator("#role-message").innerText()).toBe("Switched: it talks as role 4 (“Story time with many voices.”) from its next question.");
      expect(state.chosenRoles.get(`folotoy/${SN}`)).toBe("4");
      await page.waitForFunction(() => /Role\s*4 \(chosen here\)/.test(document.getElementById("history-facts")!.textContent!));
      expect(await page.locator("#role-hint").innerText()).toBe("Chosen here: it talks as role 4 (“Story time with many voices.”), whatever its role button says, until you pick “Its role button” again.");
      // the parental controls' Save keeps the role (it is not part of that form)
      await page.locator("#controls-form").waitFor();
      await page.click("#controls-save");
      await page.waitForFunction(() => /^Saved/.test(document.getElementById("controls-message")!.textContent!));
      expect(state.chosenRoles.get(`folotoy/${SN}`)).toBe("4");
      await screenshots(page, "toy-role");

      await page.goto(`${server.url.href}#status`);
      await page.waitForFunction((sn) => /Role\s*4 \(chosen here\)/.test(document.querySelector(`dl.toy[data-sn="${sn}"]`)?.textContent ?? ""), SN);

      await page.goto(`${server.url.href}#history/folotoy/${SN}`);
      await page.waitForFunction(() => (document.getElementById("role-select") as HTMLSelectElement).value === "4");
      await select.selectOption("");
      await page.waitForFunction(() => /^Done: it follows its own role choice again/.test(document.getElementById("role-message")!.textContent!));
      expect(state.chosenRoles.has(`folotoy/${SN}`)).toBe(false);
      expect((page as any).errors).toEqual([]);
      await page.close();

      // the route: a role number or null, nothing else
      const put = (body: string) => fetch(`${server.url.href}api/devices/folotoy/${SN}/role`, { method: "PUT", headers: { "Content-Type": "application/json" }, body });
      expect((await (await put('{"role": "2"}')).json()).role).toBe("2");
      expect((await put('{"role": null}')).status).toBe(200);
      const bad = await put('{"role": "story"}');
      expect(bad.status).toBe(400);
      expect((await bad.json()).error.message).toContain("a role number of roles.json");
    } finally {
      await server.stop();
    }
  });
});

describe("parent password", () => {
  test("the console asks for it and keeps the page asked for; our own page can then make changes; the session ending sends the browser back to sign in", async () => {
    const clock = { now: Date.now() };
    const auth = new ConsoleAuth({ password: "correct horse battery", apiKeys: [], now: () => clock.now });
    const { deps, state } = fixedDeps();
    deps.auth = auth;
    const server = serve(deps, [], 0, auth);
    // a LAN-style address: no secure context, so the browser sends no Sec-Fetch-Site and the Origin check must admit our page
    const lan = await launchChromium([`--host-resolver-rules=MAP hearth.test 127.0.0.1`]);
    const origin = `http://hearth.test:${server.port}`;
    try {
      const page = await lan.newPage({ viewport: PHONE });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      const headersSent: Record<string, string>[] = [];
      page.on("request", (r) => {
        if (r.method() === "PUT") void r.allHeaders().then((h) => headersSent.push(h));
      });
      await page.goto(`${origin}/#history/folotoy/${SN}`);
      await page.waitForURL(`${origin}/login#history/folotoy/${SN}`);
      await page.locator("#login-password").waitFor();
      expect(await page.title()).toBe("Sign in · Hearth");
      await page.fill("#login-password", "wrong password");
      await page.click("#login-submit");
      await page.waitForFunction(() => document.getElementById("login-message")!.textContent !== "");
      expect(await page.locator("#login-message").innerText()).toBe("That is not the password. Try again.");
      await screenshots(page, "login");

      await page.fill("#login-password", "correct horse battery");
      await page.click("#login-submit");
      await page.waitForURL(`${origin}/#history/folotoy/${SN}`);
      await page.locator("#controls-form").waitFor();
      const [cookie] = await page.context().cookies();
      expect(cookie).toMatchObject({ name: "hearth_session", httpOnly: true, sameSite: "Strict", path: "/" });
      expect(await page.evaluate(() => document.cookie)).toBe(""); // scripts cannot read it
      expect(await page.locator("#logout-button").isVisible()).toBe(true);
      await page.waitForFunction(() => document.body.dataset.hearth === "ready");
      expect(await page.locator("#password-banner").isVisible()).toBe(false);

      // a change from our own page goes through (the browser sent Origin, and no Sec-Fetch-Site on plain http)
      await page.fill("#controls-nickname", "Bunny");
      await page.click("#controls-save");
      await page.waitForFunction(() => document.getElementById("controls-message")!.textContent!.startsWith("Saved"));
      expect(state.puts).toEqual([{ device: SN, body: { nickname: "Bunny" } }]);
      expect(headersSent[0]!.origin).toBe(origin);
      expect(headersSent[0]!["sec-fetch-site"]).toBeUndefined();

      // 30 days on, the session is over: the next poll sends the browser to sign in, and back to the same page after
      clock.now += 31 * 86_400_000;
      await page.waitForURL(`${origin}/login#history/folotoy/${SN}`, { timeout: 10_000 });
      await page.fill("#login-password", "correct horse battery");
      await page.click("#login-submit");
      await page.waitForURL(`${origin}/#history/folotoy/${SN}`);

      // signing out ends the session: the console is closed again
      await page.locator("#logout-button").click();
      await page.waitForURL(`${origin}/login`);
      await page.goto(`${origin}/#alerts`);
      await page.waitForURL(`${origin}/login#alerts`);
      expect(errors).toEqual([]);
    } finally {
      await lan.close();
      await server.stop();
    }
  }, 60_000);
});

describe("when Hearth cannot be reached", () => {
  test("the cards stop claiming Ready, the page says so in plain words, and it recovers by itself", async () => {
    const { deps } = fixedDeps();
    let server = serve(deps);
    const port = server.port;
    const page = await openPage(server.url.href, PHONE);
    try {
      await page.waitForFunction(() => document.querySelector("#card-state .value")?.textContent === "Ready");
      await server.stop();
      await page.waitForFunction(() => document.querySelector("#card-state .value")?.textContent === "Cannot reach Hearth", undefined, { timeout: 15_000 });
      expect(await page.locator("#ready").innerText()).toBe("offline");
      expect(await page.locator("#banner").innerText()).toContain("Cannot reach Hearth");
      expect(await page.locator("#banner").innerText()).not.toContain("Failed to fetch");
      expect(await page.locator("#status-cards").innerText()).not.toContain("Ready");
      expect(await page.locator("#card-state .sub").innerText()).toContain("Trying again");
      await screenshots(page, "status-offline");
      // Hearth is back on the same address: the open page notices by itself, without a reload
      server = serve(deps, [], port);
      await page.waitForFunction(() => document.querySelector("#card-state .value")?.textContent === "Ready", undefined, { timeout: 15_000 });
      expect(await page.locator("#banner").isVisible()).toBe(false);
    } finally {
      await page.close();
      await server.stop();
    }
  }, 60_000);
});

describe("API key prompt", () => {
  test("a 401 opens the key dialog; the key is kept in localStorage and sent from then on", async () => {
    const { deps } = fixedDeps();
    const server = serve(deps, ["sekret"]);
    try {
      const page = await openPage(server.url.href, PHONE);
      const dialog = page.locator("#key-dialog");
      await dialog.waitFor({ state: "visible" });
      await page.screenshot({ path: join(SCREENSHOTS, "key-phone.png") });
      await page.fill("#key-input", "wrong");
      await page.click('#key-dialog button[value="save"]');
      await page.waitForFunction(() => document.getElementById("key-error")!.textContent === "That key was not accepted.");
      await page.fill("#key-input", "sekret");
      await page.click('#key-dialog button[value="save"]');
      await page.locator(`dl.toy[data-sn="${SN}"]`).waitFor();
      expect(await page.evaluate(() => localStorage.getItem("hearth.apiKey"))).toBe("sekret");
      await page.reload();
      await page.locator(`dl.toy[data-sn="${SN}"]`).waitFor();
      expect(await dialog.isVisible()).toBe(false);
      await page.close();
    } finally {
      await server.stop();
    }
  });
});
