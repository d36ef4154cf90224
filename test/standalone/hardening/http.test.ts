// Issue 11, item 6, on the HTTP server alone (real sockets, no engines): slow request bodies time
// out, requests at once are capped (503), uploads held at once are capped (429), and sockets are
// given back, so file handles stay within the unit's LimitNOFILE.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import net from "node:net";
import { MAX_UPLOADS_AT_ONCE } from "../../../src/http/body.ts";
import { HttpServer } from "../../../src/http/server.ts";

const BODY_TIMEOUT_MS = 600;
const MAX_REQUESTS = 10;
let server: HttpServer;
let held: (() => void)[] = [];
const hold = () => new Promise<void>((resolve) => held.push(resolve));
const releaseAll = () => {
  for (const r of held.splice(0)) r();
};

beforeAll(() => {
  server = new HttpServer(
    { host: "127.0.0.1", port: 0, apiKeys: [], maxBodyBytes: 10e6, maxRequests: MAX_REQUESTS, bodyTimeoutMs: BODY_TIMEOUT_MS },
    {
      "/echo": { POST: async (req) => Response.json({ bytes: (await req.arrayBuffer()).byteLength }) },
      "/wait": {
        GET: async () => {
          await hold();
          return new Response("done");
        },
        POST: async (req) => {
          await hold();
          return Response.json({ bytes: (await req.arrayBuffer()).byteLength });
        },
      },
      "/ping": { GET: () => new Response("pong") },
      "/audio/:file": { GET: () => new Response("mp3") },
    },
  );
});
afterAll(async () => {
  releaseAll();
  await server.stop();
});

/** Opens a raw connection, writes `head`, and resolves with what the server sent once it closes or `ms` pass. */
function raw(head: string, ms: number): Promise<{ text: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const s = net.connect(server.port, "127.0.0.1", () => s.write(head));
    let text = "";
    let closed = false;
    s.on("data", (d) => (text += d.toString()));
    s.on("error", () => {});
    s.on("close", () => {
      closed = true;
      finish();
    });
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      s.destroy();
      resolve({ text, closed, ms: performance.now() - started });
    }
  });
}

const openFiles = () => readdirSync("/proc/self/fd").length;

describe("slow bodies", () => {
  test("a body that stops after one byte gets a 408 at the body timeout (with and without Content-Length)", async () => {
    const declared = raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", 5000);
    const chunked = raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n", 5000);
    for (const r of await Promise.all([declared, chunked])) {
      expect(r.text).toStartWith("HTTP/1.1 408");
      expect(r.text).toContain('"code":"request_timeout"');
      expect(r.ms).toBeGreaterThan(BODY_TIMEOUT_MS - 50);
      expect(r.ms).toBeLessThan(BODY_TIMEOUT_MS + 2500);
    }
  });

  test("300 connections trickling bodies are all answered and closed; file handles come back", async () => {
    const before = openFiles();
    const results = await Promise.all(Array.from({ length: 300 }, () => raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nab", 8000)));
    // every one is answered and closed: a 408 at the body timeout, or a 503 at once past max_requests
    expect(results.filter((r) => /^HTTP\/1\.1 (408|503)/.test(r.text) && r.closed).length).toBe(300);
    expect(results.filter((r) => r.text.startsWith("HTTP/1.1 408")).length).toBeGreaterThanOrEqual(MAX_REQUESTS - 1);
    await Bun.sleep(200);
    expect(openFiles()).toBeLessThan(before + 20);
    // a normal request still works
    expect(await (await fetch(`${server.url}echo`, { method: "POST", body: "x".repeat(1000) })).json()).toEqual({ bytes: 1000 });
  }, 30_000);
});

describe("caps", () => {
  test(`more than max_requests (${MAX_REQUESTS}) at once: the rest get a 503 at once, and the held ones finish`, async () => {
    const all = Array.from({ length: 30 }, () => fetch(`${server.url}wait`));
    await Bun.sleep(300);
    const early = await Promise.all(all.map((p) => Promise.race([p.then((r) => r.status), Bun.sleep(200).then(() => 0)])));
    expect(early.filter((s) => s === 503).length).toBeGreaterThanOrEqual(30 - MAX_REQUESTS);
    releaseAll();
    const statuses = await Promise.all(all.map((p) => p.then((r) => r.status)));
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(MAX_REQUESTS - 1);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    const body = await (await Promise.all(all))[statuses.indexOf(503)]!.json();
    expect(body.error).toMatchObject({ type: "server_error", code: "overloaded" });
    expect(await (await fetch(`${server.url}ping`)).text()).toBe("pong");
  });

  test("toys' reply downloads are never refused for load", async () => {
    const all = Array.from({ length: MAX_REQUESTS + 5 }, () => fetch(`${server.url}wait`));
    await Bun.sleep(300);
    const download = await fetch(`${server.url}audio/voice-0123456789abcdef.mp3`);
    expect(download.status).toBe(200);
    expect((await fetch(`${server.url}ping`)).status).toBe(503);
    releaseAll();
    await Promise.all(all);
  });

  test(`uploads over 1 MB held at once are capped at ${MAX_UPLOADS_AT_ONCE}: the next is a 429 before it is read`, async () => {
    const big = new Uint8Array(1_500_000);
    const first = Array.from({ length: MAX_UPLOADS_AT_ONCE }, () => fetch(`${server.url}wait`, { method: "POST", body: big }));
    await Bun.sleep(500);
    const extra = await fetch(`${server.url}wait`, { method: "POST", body: big });
    expect(extra.status).toBe(429);
    releaseAll();
    for (const r of await Promise.all(first)) expect(await r.json()).toEqual({ bytes: big.length });
    // given back: another upload goes through
    const again = fetch(`${server.url}wait`, { method: "POST", body: big });
    await Bun.sleep(300);
    releaseAll();
    expect((await again).status).toBe(200);
  });
});
