// CORS: a web page on another origin calls the API from headless Chromium with the official
// openai SDK bundled for the browser (it sends Authorization, JSON and its x-stainless-* headers,
// so every call is preflighted). The API is served by an HttpServer with [http] cors_origins set.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import type { Server } from "bun";
import { apiRoutes } from "../../../src/api/routes.ts";
import type { Hearth } from "../../../src/app.ts";
import { HttpServer } from "../../../src/http/server.ts";
import { launchChromium } from "../appliance/browser.ts";
import { startTestHearth } from "../../support/hearth.ts";

const KEY = "browser-key";
let hearth: Hearth;
let api: HttpServer;
let pages: Server<undefined>;
let browser: Browser;
let allowedOrigin: string;
let work: string;

beforeAll(async () => {
  hearth = await startTestHearth();
  // the page's origin: 127.0.0.1 is allowed, localhost (same port) is another origin and is not
  work = mkdtempSync(join(tmpdir(), "hearth-cors-"));
  writeFileSync(join(work, "entry.ts"), `import OpenAI from ${JSON.stringify(Bun.resolveSync("openai", import.meta.dir))}; (globalThis as any).OpenAI = OpenAI;`);
  const built = await Bun.build({ entrypoints: [join(work, "entry.ts")], target: "browser", minify: true });
  const sdk = await built.outputs[0]!.text();
  pages = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    routes: {
      "/": new Response("<!doctype html><title>app</title>", { headers: { "content-type": "text/html" } }),
      "/openai.js": new Response(sdk, { headers: { "content-type": "text/javascript" } }),
    },
  });
  allowedOrigin = `http://127.0.0.1:${pages.port}`;
  const deps = { config: hearth.config, pipeline: () => hearth.pipeline, engines: () => hearth.engines };
  api = new HttpServer({ host: "127.0.0.1", port: 0, apiKeys: [KEY], maxBodyBytes: 1e6, corsOrigins: [allowedOrigin] }, apiRoutes(deps));
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  pages?.stop(true);
  await hearth?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function pageAt(origin: string) {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  await page.addScriptTag({ url: `${origin}/openai.js` });
  return page;
}

describe("CORS ([http] cors_origins)", () => {
  test("a page on an allowed origin uses the API with the openai SDK: chat, a streamed chat, errors and the PCM rate header", async () => {
    const page = await pageAt(allowedOrigin);
    try {
      const result = await page.evaluate(
        async ({ base, key }) => {
          const OpenAI = (globalThis as any).OpenAI;
          const client = new OpenAI({ baseURL: base, apiKey: key, dangerouslyAllowBrowser: true, maxRetries: 0 });
          const chat = await client.chat.completions.create({ model: "x", max_tokens: 3, messages: [{ role: "user", content: "hi" }] });
          let streamed = 0;
          for await (const chunk of await client.chat.completions.create({ model: "x", max_tokens: 3, stream: true, messages: [{ role: "user", content: "hi" }] })) streamed += chunk.choices.length;
          const wrongKey = new OpenAI({ baseURL: base, apiKey: "wrong", dangerouslyAllowBrowser: true, maxRetries: 0 });
          const denied = await wrongKey.models.list().then(() => null, (e: any) => ({ status: e.status, type: e.error?.type }));
          const speech = await client.audio.speech.create({ model: "tts-1", voice: "alloy", input: "Hi.", response_format: "pcm" });
          return { object: chat.object, streamed, denied, rate: speech.headers.get("x-sample-rate") };
        },
        { base: `${api.url.href}v1`, key: KEY },
      );
      expect(result).toEqual({ object: "chat.completion", streamed: expect.any(Number), denied: { status: 401, type: "authentication_error" }, rate: "24000" });
      expect(result.streamed).toBeGreaterThan(1);
    } finally {
      await page.close();
    }
  }, 60_000);

  test("a page on another origin is blocked by the browser; preflights are answered without a key", async () => {
    const page = await pageAt(`http://localhost:${pages.port}`);
    try {
      const blocked = await page.evaluate(async (base) => {
        const OpenAI = (globalThis as any).OpenAI;
        const client = new OpenAI({ baseURL: base, apiKey: "k", dangerouslyAllowBrowser: true, maxRetries: 0 });
        return client.models.list().then(() => "allowed", (e: any) => (e instanceof OpenAI.APIConnectionError ? "APIConnectionError" : String(e)));
      }, `${api.url.href}v1`);
      expect(blocked).toBe("APIConnectionError"); // the browser refused: no CORS headers for this origin
    } finally {
      await page.close();
    }
    const preflight = await fetch(`${api.url.href}v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: allowedOrigin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, x-stainless-os" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(allowedOrigin);
    expect(preflight.headers.get("access-control-allow-headers")).toContain("x-stainless-os");
    // without cors_origins (the default) nothing is allowed
    const plain = await fetch(`${hearth.url}/v1/chat/completions`, { method: "OPTIONS", headers: { origin: allowedOrigin, "access-control-request-method": "POST" } });
    expect(plain.headers.get("access-control-allow-origin")).toBeNull();
  }, 60_000);
});
