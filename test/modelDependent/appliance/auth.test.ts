// The parent password ([console] password) over real HTTP: Hearth's own server and console routes
// with the session check (http/session.ts) and small fake WebDeps, then a real Hearth to prove
// src/app.ts wires it (and the config key and its env override). What must hold: pages redirect
// to /login, the console's data needs a session or an API key, /v1 keeps its rule but a session
// opens it, toy audio and /health stay open, wrong passwords are limited per address, the cookie
// is HttpOnly + SameSite=Strict and expires, and a change carrying the cookie from another origin
// is refused before it does anything.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ConfigError } from "../../../src/config/load.ts";
import type { Hearth } from "../../../src/app.ts";
import { HttpServer } from "../../../src/http/server.ts";
import { ConsoleAuth } from "../../../src/http/session.ts";
import type { DeviceControls } from "../../../src/pipeline/controls.ts";
import { webRoutes, type WebDeps } from "../../../src/web/routes.ts";
import { startTestHearth, testConfig } from "../../support/hearth.ts";

const PASSWORD = "correct horse battery";
const DAY = 86_400_000;

/** A clock the test moves. */
const clock = { now: Date.parse("2025-03-01T10:00:00Z") };

function fakeDeps(auth?: ConsoleAuth) {
  const saved: DeviceControls[] = [];
  const deps: WebDeps = {
    auth,
    status: () => ({
      models: { profile: "test", loaded: true, stt: "s", llm: "l", tts: ["t"], vad: "v" },
      memory: { rss: 1 },
      uptimeSeconds: 1,
      ready: true,
      reasons: [],
    }),
    turns: () => [],
    toys: () => [],
    roles: { read: () => "{}", write: () => ({ ok: true }) },
    history: { deleteTurn: () => false, eraseDevice: () => 0, eraseAll: () => {} },
    controls: {
      get: () => ({ controls: {}, effective: { aiEnabled: true, quietHours: [], dailyLimitMinutes: 0 }, usedTodayMinutes: 0 }),
      set: (_f, _d, c) => {
        saved.push(c);
        return { controls: c, effective: { aiEnabled: true, quietHours: [], dailyLimitMinutes: 0, ...c }, usedTodayMinutes: 0 };
      },
      switchRole: (_f, _d, role) => ({ controls: {}, effective: { aiEnabled: true, quietHours: [], dailyLimitMinutes: 0 }, usedTodayMinutes: 0, role: role ?? undefined }),
    },
  };
  return { deps, saved };
}

function serve(options: { password?: string; apiKeys?: string[] } = {}) {
  const apiKeys = options.apiKeys ?? [];
  const auth = new ConsoleAuth({ password: options.password ?? "", apiKeys, now: () => clock.now });
  const { deps, saved } = fakeDeps(auth);
  const server = new HttpServer({ host: "127.0.0.1", port: 0, apiKeys, maxBodyBytes: 1e6, access: auth }, {
    ...webRoutes(deps),
    "/v1/models": { GET: () => Response.json({ object: "list", data: [] }) },
    "/v1/chat/completions": { POST: () => Response.json({ id: "chatcmpl-1" }) },
    "/audio/:file": { GET: () => new Response("mp3", { headers: { "Content-Type": "audio/mpeg" } }) },
    "/health": { GET: () => Response.json({ status: "ok" }) },
  });
  const base = server.url.href.replace(/\/$/, "");
  return { server, base, saved, auth };
}

const json = { "Content-Type": "application/json" };
const CONTROLS = "/api/devices/folotoy/e465b82b9ec8/controls";

async function login(base: string, password: string, headers: Record<string, string> = {}) {
  return fetch(`${base}/api/login`, { method: "POST", headers: { ...json, Origin: base, ...headers }, body: JSON.stringify({ password }) });
}

/** The cookie pair ("hearth_session=...") from a login's Set-Cookie. */
function cookieOf(res: Response): string {
  return (res.headers.get("set-cookie") ?? "").split(";")[0]!;
}

describe("without a password", () => {
  let s: ReturnType<typeof serve>;
  beforeAll(() => void (s = serve()));
  afterAll(() => s.server.stop());

  test("everything stays reachable, the status says no password is set, and there is nothing to sign in to", async () => {
    expect((await fetch(`${s.base}/`, { redirect: "manual" })).status).toBe(200);
    const status = await (await fetch(`${s.base}/api/status`)).json();
    expect(status.passwordSet).toBe(false);
    expect((await fetch(`${s.base}/api/turns`)).status).toBe(200);
    const put = await fetch(`${s.base}${CONTROLS}`, { method: "PUT", headers: json, body: JSON.stringify({ nickname: "Bunny" }) });
    expect(put.status).toBe(200);
    expect(await (await fetch(`${s.base}/api/session`)).json()).toEqual({ passwordSet: false, signedIn: false });
    const page = await fetch(`${s.base}/login`, { redirect: "manual" });
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe("/");
    const res = await login(s.base, "anything");
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe("no_password");
  });
});

describe("with a password", () => {
  let s: ReturnType<typeof serve>;
  beforeAll(() => void (s = serve({ password: PASSWORD })));
  afterAll(() => s.server.stop());

  test("the console page sends the browser to /login; its data needs a session; /v1, toy audio and /health stay open", async () => {
    const page = await fetch(`${s.base}/`, { redirect: "manual" });
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe("/login");
    const loginPage = await fetch(`${s.base}/login`);
    expect(loginPage.status).toBe(200);
    expect(loginPage.headers.get("content-type")).toContain("text/html");
    expect(await loginPage.text()).toContain('type="password"');
    expect((await fetch(`${s.base}/console/login.js`)).status).toBe(200);
    for (const path of ["/api/status", "/api/turns", "/api/toys", "/api/roles", CONTROLS]) {
      const res = await fetch(`${s.base}${path}`);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe("login_required");
    }
    const put = await fetch(`${s.base}${CONTROLS}`, { method: "PUT", headers: { ...json, Origin: s.base }, body: JSON.stringify({ aiEnabled: false }) });
    expect(put.status).toBe(401);
    expect(s.saved).toEqual([]);
    expect((await fetch(`${s.base}/v1/models`)).status).toBe(200); // no API keys: the API keeps today's rule
    expect((await fetch(`${s.base}/audio/abc.mp3`)).status).toBe(200);
    expect((await fetch(`${s.base}/health`)).status).toBe(200);
    expect(await (await fetch(`${s.base}/api/session`)).json()).toEqual({ passwordSet: true, signedIn: false });
  });

  test("signing in sets an HttpOnly, SameSite=Strict cookie for 30 days that opens the console; signing out ends it", async () => {
    const wrong = await login(s.base, "not it");
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe("wrong_password");
    expect(wrong.headers.get("set-cookie")).toBeNull();

    const res = await login(s.base, PASSWORD);
    expect(res.status).toBe(200);
    const setCookie = res.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^hearth_session=[A-Za-z0-9_-]{43}; /);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    expect(setCookie).toContain("Path=/");
    expect(setCookie).toContain(`Max-Age=${30 * 86400}`);
    expect(setCookie).not.toContain("Secure"); // plain http on the LAN: a Secure cookie would never come back
    const cookie = cookieOf(res);

    const status = await fetch(`${s.base}/api/status`, { headers: { Cookie: cookie } });
    expect(status.status).toBe(200);
    expect((await status.json()).passwordSet).toBe(true);
    const page = await fetch(`${s.base}/`, { headers: { Cookie: cookie }, redirect: "manual" });
    expect(page.status).toBe(200);
    const loginAgain = await fetch(`${s.base}/login`, { headers: { Cookie: cookie }, redirect: "manual" });
    expect(loginAgain.headers.get("location")).toBe("/");
    expect(await (await fetch(`${s.base}/api/session`, { headers: { Cookie: cookie } })).json()).toEqual({ passwordSet: true, signedIn: true });
    // a made-up session id opens nothing
    expect((await fetch(`${s.base}/api/status`, { headers: { Cookie: "hearth_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } })).status).toBe(401);

    const out = await fetch(`${s.base}/api/logout`, { method: "POST", headers: { Cookie: cookie, Origin: s.base } });
    expect(out.status).toBe(200);
    expect(out.headers.get("set-cookie")).toMatch(/^hearth_session=; .*Max-Age=0/);
    expect((await fetch(`${s.base}/api/status`, { headers: { Cookie: cookie } })).status).toBe(401);
  });

  test("a session ends after 30 days", async () => {
    const cookie = cookieOf(await login(s.base, PASSWORD));
    clock.now += 29 * DAY;
    expect((await fetch(`${s.base}/api/status`, { headers: { Cookie: cookie } })).status).toBe(200);
    clock.now += 1 * DAY + 1000;
    expect((await fetch(`${s.base}/api/status`, { headers: { Cookie: cookie } })).status).toBe(401);
  });

  test("a change carrying the cookie is refused unless it comes from the console's own origin", async () => {
    const cookie = cookieOf(await login(s.base, PASSWORD));
    const put = (headers: Record<string, string>) =>
      fetch(`${s.base}${CONTROLS}`, { method: "PUT", headers: { ...json, Cookie: cookie, ...headers }, body: JSON.stringify({ aiEnabled: false }) });
    const port = new URL(s.base).port;
    for (const headers of <Record<string, string>[]>[
      { Origin: "http://evil.example" },
      // same site, another port (another app on the Pi or the router): SameSite does not stop it, the origin check does
      { Origin: `http://127.0.0.1:${Number(port) + 1}` },
      { "Sec-Fetch-Site": "cross-site", Origin: "http://evil.example" },
      { "Sec-Fetch-Site": "same-site", Origin: s.base },
      { Origin: "null" },
      {}, // a browser always sends Origin with a PUT; nothing at all is not a browser page of ours
    ]) {
      const res = await put(headers);
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe("cross_site_request");
    }
    // a cross-origin DELETE of everything is refused the same way
    const erase = await fetch(`${s.base}/api/history`, { method: "DELETE", headers: { Cookie: cookie, Origin: "http://evil.example" } });
    expect(erase.status).toBe(403);
    expect(s.saved).toEqual([]);
    // reading is not a change
    expect((await fetch(`${s.base}${CONTROLS}`, { headers: { Cookie: cookie, Origin: "http://evil.example" } })).status).toBe(200);
    // from our own page: by Sec-Fetch-Site (https, localhost) or by Origin (plain http on the LAN)
    expect((await put({ "Sec-Fetch-Site": "same-origin" })).status).toBe(200);
    expect((await put({ Origin: s.base })).status).toBe(200);
    expect(s.saved).toEqual([{ aiEnabled: false }, { aiEnabled: false }]);
    // and signing in from another origin is refused too (login CSRF)
    const foreign = await login(s.base, PASSWORD, { Origin: "http://evil.example" });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("set-cookie")).toBeNull();
  });

  test("five wrong passwords a minute from one address, then even the right one waits (429, Retry-After)", async () => {
    clock.now += DAY; // a fresh minute
    for (let i = 0; i < 5; i++) expect((await login(s.base, `guess ${i}`)).status).toBe(401);
    const blocked = await login(s.base, PASSWORD);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBe(60);
    expect((await blocked.json()).error.code).toBe("too_many_attempts");
    expect(blocked.headers.get("set-cookie")).toBeNull();
    clock.now += 30_000;
    const still = await login(s.base, PASSWORD);
    expect(still.status).toBe(429);
    expect(Number(still.headers.get("retry-after"))).toBe(30);
    clock.now += 30_001;
    expect((await login(s.base, PASSWORD)).status).toBe(200);
  });

  test("the limit is per address, and a success clears that address's failures", () => {
    const auth = new ConsoleAuth({ password: PASSWORD, apiKeys: [], now: () => clock.now });
    for (let i = 0; i < 5; i++) expect(auth.login("nope", "192.168.1.50")).toEqual({ ok: false, reason: "wrong_password" });
    expect(auth.login(PASSWORD, "192.168.1.50")).toMatchObject({ ok: false, reason: "too_many_attempts" });
    expect(auth.login(PASSWORD, "192.168.1.51")).toMatchObject({ ok: true });
    for (let i = 0; i < 4; i++) auth.login("nope", "192.168.1.52");
    expect(auth.login(PASSWORD, "192.168.1.52")).toMatchObject({ ok: true });
    for (let i = 0; i < 4; i++) expect(auth.login("nope", "192.168.1.52")).toMatchObject({ reason: "wrong_password" });
    // a password that only shares a prefix, or is longer, is just wrong
    expect(auth.login(PASSWORD.slice(0, -1), "192.168.1.53")).toMatchObject({ ok: false, reason: "wrong_password" });
    expect(auth.login(PASSWORD + "x", "192.168.1.53")).toMatchObject({ ok: false, reason: "wrong_password" });
  });
});

describe("with a password and API keys", () => {
  let s: ReturnType<typeof serve>;
  beforeAll(() => void (s = serve({ password: PASSWORD, apiKeys: ["sekret"] })));
  afterAll(() => s.server.stop());

  test("a key still opens /api and /v1; a session opens /v1 too (the Talk page); neither = 401", async () => {
    clock.now += DAY;
    const key = { Authorization: "Bearer sekret" };
    expect((await fetch(`${s.base}/api/status`, { headers: key })).status).toBe(200);
    const put = await fetch(`${s.base}${CONTROLS}`, { method: "PUT", headers: { ...json, ...key }, body: JSON.stringify({ nickname: "Bunny" }) });
    expect(put.status).toBe(200); // a key is not a cookie: no origin needed (scripts, curl)
    const wrong = await fetch(`${s.base}/api/status`, { headers: { Authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe("invalid_api_key");
    expect((await fetch(`${s.base}/api/status`)).status).toBe(401);
    expect((await fetch(`${s.base}/v1/models`)).status).toBe(401);
    expect((await fetch(`${s.base}/v1/models`, { headers: key })).status).toBe(200);

    const cookie = cookieOf(await login(s.base, PASSWORD));
    expect((await fetch(`${s.base}/v1/models`, { headers: { Cookie: cookie } })).status).toBe(200);
    const chat = await fetch(`${s.base}/v1/chat/completions`, { method: "POST", headers: { ...json, Cookie: cookie, Origin: s.base }, body: "{}" });
    expect(chat.status).toBe(200);
    const foreign = await fetch(`${s.base}/v1/chat/completions`, { method: "POST", headers: { ...json, Cookie: cookie, Origin: "http://evil.example" }, body: "{}" });
    expect(foreign.status).toBe(403);
    expect((await fetch(`${s.base}/audio/abc.mp3`)).status).toBe(200);
  });
});

describe("config", () => {
  test("[console] password: empty or at least 8 characters; HEARTH_CONSOLE_PASSWORD sets it", () => {
    expect(testConfig().console.password).toBe("");
    expect(testConfig({ HEARTH_CONSOLE_PASSWORD: PASSWORD }).console.password).toBe(PASSWORD);
    expect(() => testConfig({ HEARTH_CONSOLE_PASSWORD: "1234" })).toThrow(ConfigError);
    expect(() => testConfig({ HEARTH_CONSOLE_PASSWORD: "1234" })).toThrow("[console] password: at least 8 characters");
  });
});

describe("a real Hearth with HEARTH_CONSOLE_PASSWORD", () => {
  let hearth: Hearth;
  beforeAll(async () => {
    hearth = await startTestHearth({ HEARTH_CONSOLE_PASSWORD: PASSWORD });
  }, 180_000);
  afterAll(() => hearth?.stop());

  test("guards the console and its data, opens them after signing in, and leaves /health and the API as they were", async () => {
    const base = hearth.url;
    expect((await fetch(`${base}/`, { redirect: "manual" })).headers.get("location")).toBe("/login");
    expect((await fetch(`${base}/api/turns`)).status).toBe(401);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/v1/models`)).status).toBe(200);
    const res = await login(base, PASSWORD);
    expect(res.status).toBe(200);
    const cookie = cookieOf(res);
    const status = await (await fetch(`${base}/api/status`, { headers: { Cookie: cookie } })).json();
    expect(status).toMatchObject({ ready: true, passwordSet: true });
    const put = await fetch(`${base}${CONTROLS}`, { method: "PUT", headers: { ...json, Cookie: cookie, Origin: base }, body: JSON.stringify({ nickname: "Bunny" }) });
    expect(put.status).toBe(200);
    expect(hearth.pipeline.controls.get("folotoy", "e465b82b9ec8").nickname).toBe("Bunny");
  });
});
