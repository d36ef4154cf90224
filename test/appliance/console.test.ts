// The web console in a real headless Chromium, served by Hearth's real HTTP server (auth and
// error mapping included) with WebDeps answering fixed data: a toy, two turns, a roles file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import type { ToyStatus, TurnRecord } from "../../src/pipeline/types.ts";
import { HttpServer } from "../../src/http/server.ts";
import { webRoutes, type StatusSnapshot, type WebDeps } from "../../src/web/routes.ts";
import { DESKTOP, launchChromium, PHONE, SCREENSHOTS } from "./browser.ts";

const SN = "e465b82b9ec8";
const ROLES = `{
  "1": { "start_text": "Hi, I am Bunny!", "prompt": "You are Bunny, a brave little rabbit." },
  "2": { "prompt": "You are a patient maths teacher.", "voice_name": "amy" }
}
`;
const WAV = await Bun.file(join(import.meta.dir, "../../../shared/audio/utt01.wav")).arrayBuffer();

/** The fixed appliance the console looks at. roles.write validates like the toy layer: every role needs a prompt. */
function fixedDeps() {
  const state = { roles: ROLES, writes: 0 };
  const status: StatusSnapshot = {
    models: { profile: "pi", loaded: true, stt: "sense-voice-int8-2025-09-09", llm: "qwen2.5-0.5b-instruct-q4_k_m", tts: ["piper-en_US-amy-low", "icefall-zh-aishell3"], vad: "silero-vad" },
    memory: { rss: 812_000_000 },
    uptimeSeconds: 3 * 3600 + 25 * 60,
    ready: true,
    reasons: [],
  };
  const now = Date.now();
  const toys: ToyStatus[] = [
    { sn: SN, role: 1, connected: true, lastSeen: now - 4000, battery: 87, firmware: "1.4.2", address: "192.168.1.31" },
    { sn: "a1b2c3d4e5f6", role: 3, connected: false, lastSeen: now - 3 * 3600_000, battery: null },
  ];
  const turns: TurnRecord[] = [
    {
      id: "t2",
      key: { frontEnd: "folotoy", device: SN, role: "1" },
      source: "folotoy",
      outcome: "replied",
      sn: SN,
      role: "1",
      at: now - 60_000,
      transcript: "Can you tell me a story about a brave little rabbit?",
      reply: "Once upon a time, a little rabbit lived by the river. She was very brave!",
      sentences: [
        { order: 1, text: "Once upon a time, a little rabbit lived by the river.", url: "/test-audio/1.wav" },
        { order: 2, text: "She was very brave!", url: "/test-audio/2.wav" },
      ],
      timings: { sttMs: 420, firstTokenMs: 610, firstAudioMs: 1480, totalMs: 5200 },
    },
    {
      id: "t1",
      key: { frontEnd: "web", device: "console", role: "1" },
      source: "web",
      outcome: "replied",
      role: "1",
      at: now - 120_000,
      transcript: "What sound does a cow make?",
      reply: "A cow says moo.",
      sentences: [{ order: 1, text: "A cow says moo." }],
      timings: { sttMs: 380, firstTokenMs: 500, firstAudioMs: 1200, totalMs: 2100 },
    },
  ];
  const deps: WebDeps = {
    status: () => status,
    turns: (limit) => turns.slice(0, limit),
    toys: () => toys,
    history: {
      deleteTurn: (id) => {
        const i = turns.findIndex((t) => t.id === id);
        if (i >= 0) turns.splice(i, 1);
        return i >= 0;
      },
      eraseDevice: () => 0,
      eraseAll: () => void turns.splice(0),
    },
    roles: {
      read: () => state.roles,
      write(text) {
        const roles = JSON.parse(text) as Record<string, { prompt?: unknown }>;
        for (const [key, role] of Object.entries(roles)) {
          if (typeof role?.prompt !== "string") return { ok: false, error: `role "${key}": "prompt" is required` };
        }
        state.roles = text;
        state.writes++;
        return { ok: true };
      },
    },
  };
  return { deps, state };
}

function serve(deps: WebDeps, apiKeys: string[] = []) {
  return new HttpServer({ host: "127.0.0.1", port: 0, apiKeys, maxBodyBytes: 2e6 }, {
    ...webRoutes(deps),
    // stands in for the reply MP3s the toy layer serves
    "/test-audio/:n": { GET: () => new Response(WAV, { headers: { "Content-Type": "audio/wav" } }) },
    // stands in for the lead's OpenAI model list
    "/v1/models": { GET: () => Response.json({ object: "list", data: ["whisper-1", "tts-1", "qwen2.5-0.5b-instruct-q4_k_m"].map((id) => ({ id, object: "model", created: 0, owned_by: "hearth" })) }) },
  });
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
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

describe("JSON routes", () => {
  const { deps } = fixedDeps();
  let server: HttpServer;
  beforeAll(() => void (server = serve(deps)));
  afterAll(() => server.stop());

  test("status, toys, turns and roles answer JSON", async () => {
    const base = server.url.href.replace(/\/$/, "");
    const status = await (await fetch(`${base}/api/status`)).json();
    expect(status.models.profile).toBe("pi");
    const toys = await (await fetch(`${base}/api/toys`)).json();
    expect(toys.data[0]).toMatchObject({ sn: SN, role: 1, battery: 87 });
    const turns = await (await fetch(`${base}/api/turns?limit=1`)).json();
    expect(turns.data.map((t: TurnRecord) => t.id)).toEqual(["t2"]);
    const bad = await fetch(`${base}/api/turns?limit=0`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ type: "invalid_request_error", param: "limit" });
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
  const { deps, state } = fixedDeps();
  let server: HttpServer;
  let base: string;
  beforeAll(() => {
    server = serve(deps);
    base = server.url.href.replace(/\/$/, "");
  });
  afterAll(() => server.stop());

  test("the status page lists the toy, its role and battery, and the turns with playable sentences", async () => {
    const page = await openPage(`${base}/`);
    const toy = page.locator(`dl.toy[data-sn="${SN}"]`);
    await toy.waitFor();
    const text = await toy.innerText();
    expect(text).toContain(SN);
    expect(text).toMatch(/Role\s+1/);
    expect(text).toMatch(/Battery\s+87%/);
    expect(await page.locator("#card-models .value").innerText()).toBe("pi");
    expect(await page.locator("#card-memory .value").innerText()).toBe("812 MB");
    expect(await page.locator("#card-uptime .value").innerText()).toBe("3 h 25 min");
    expect(await page.locator("#ready").innerText()).toBe("ready");
    const turn = page.locator('article[data-turn="t2"]');
    expect(await turn.innerText()).toContain("brave little rabbit");
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
    expect(await page.locator('.group[data-group="Web console"] article').count()).toBe(1);
    expect((page as any).errors).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, "status-desktop.png"), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: join(SCREENSHOTS, "status-phone.png"), fullPage: true });
    await page.close();
  });

  test("the roles editor shows invalid JSON inline, shows Hearth's own validation error, and saves valid JSON", async () => {
    const page = await openPage(`${base}/#roles`, PHONE);
    const area = page.locator("#roles-text");
    await page.waitForFunction(() => (document.getElementById("roles-text") as HTMLTextAreaElement).value.includes("Bunny"));
    const message = page.locator("#roles-message");

    await area.fill('{"1": {"prompt": "Be kind."},}');
    await page.click("#roles-save");
    await expect(message.innerText()).resolves.toContain("Not valid JSON");
    expect(await message.isVisible()).toBe(true);
    expect(await area.getAttribute("class")).toContain("invalid");
    await page.screenshot({ path: join(SCREENSHOTS, "roles-error-phone.png"), fullPage: true });
    expect(state.writes).toBe(0);

    await area.fill('{"1": {"start_text": "hello"}}');
    await page.click("#roles-save");
    await page.waitForFunction(() => document.getElementById("roles-message")!.textContent!.includes("prompt"));
    expect(await message.innerText()).toBe('role "1": "prompt" is required');
    expect(state.writes).toBe(0);

    const valid = '{"1": {"prompt": "You are a friendly dragon.", "voice_name": "amy"}}';
    await area.fill(valid);
    await page.click("#roles-save");
    await page.waitForFunction(() => document.getElementById("roles-message")!.textContent!.startsWith("Saved"));
    expect(state.writes).toBe(1);
    expect(state.roles).toBe(valid);
    await page.click("#roles-format");
    await page.setViewportSize(DESKTOP);
    await page.screenshot({ path: join(SCREENSHOTS, "roles-desktop.png"), fullPage: true });
    await page.close();
  });

  test("the models page shows the profile and model ids", async () => {
    const page = await openPage(`${base}/#models`, PHONE);
    await page.locator("#models-list dd").first().waitFor();
    const text = await page.locator("#models-list").innerText();
    for (const id of ["pi", "sense-voice-int8-2025-09-09", "qwen2.5-0.5b-instruct-q4_k_m", "piper-en_US-amy-low", "silero-vad"]) expect(text).toContain(id);
    await page.waitForFunction(() => document.querySelectorAll("#models-api li").length === 3);
    expect(await page.locator("#models-api").innerText()).toContain("whisper-1");
    await page.screenshot({ path: join(SCREENSHOTS, "models-phone.png"), fullPage: true });
    await page.setViewportSize(DESKTOP);
    await page.screenshot({ path: join(SCREENSHOTS, "models-desktop.png"), fullPage: true });
    await page.close();
  });

  test("the talk page offers the microphone and the profile's voices", async () => {
    const page = await openPage(`${base}/#talk`, PHONE);
    await page.waitForFunction(() => (document.getElementById("talk-voice") as HTMLSelectElement).options.length === 2);
    // 127.0.0.1 is a secure context, so the microphone button is offered
    expect(await page.locator("#talk-button").isVisible()).toBe(true);
    expect(await page.locator("#talk-nomic").isVisible()).toBe(false);
    await page.screenshot({ path: join(SCREENSHOTS, "talk-phone.png"), fullPage: true });
    await page.close();
  });

  test("on a plain-http LAN address (no microphone allowed) the talk page offers a recording upload and typing", async () => {
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
    } finally {
      await lan.close();
    }
  });
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
