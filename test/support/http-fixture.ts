// Local HTTP servers for the fetcher tests, on 127.0.0.1 with a random port.
//   Bun.serve:  /files/NAME     bytes with Range support (206, 416)
//               /redirect/NAME  302 to /files/NAME
//               /norange/NAME   always 200 with the whole file (ignores Range)
//               /flaky/NAME     503 on the first request, then like /files
//               /stall/NAME     first request: half the bytes, then silence; later: like /files
//               /slow/NAME      the whole file at about 240 kB/s (24 kB every 100 ms)
//               /outage/NAME    503 while `outage` is true, then like /slow
//               anything else   404
//   Bun.listen (raw HTTP, so the Content-Length is real and the connection really drops):
//               /drop/NAME      first request without Range: headers for the whole file, half the
//                               bytes, then the connection is closed; with Range: 206 with the rest
import { createHash } from "node:crypto";

export interface Served {
  method: string;
  path: string;
  range: string | null;
}

export interface FixtureServers {
  /** Base URL of the Bun.serve server, e.g. http://127.0.0.1:12345 */
  url: string;
  /** Base URL of the raw server that drops connections. */
  dropUrl: string;
  requests: Served[];
  /** /outage/NAME answers 503 while this is true. */
  outage: boolean;
  stop(): void;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Deterministic pseudo-random bytes (so failures are reproducible). */
export function bytesOf(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function startServers(files: Record<string, Uint8Array>): FixtureServers {
  const requests: Served[] = [];
  const seen = new Map<string, number>();
  const stalled: (() => void)[] = [];
  const state = { outage: true };

  const ranged = (req: Request, body: Uint8Array): Response => {
    const range = req.headers.get("range");
    const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
    if (!m) return new Response(asBody(body), { headers: { "content-length": String(body.length), "accept-ranges": "bytes" } });
    const start = Number(m[1]);
    if (start >= body.length) return new Response(null, { status: 416, headers: { "content-range": `bytes */${body.length}` } });
    return new Response(asBody(body.subarray(start)), {
      status: 206,
      headers: { "content-range": `bytes ${start}-${body.length - 1}/${body.length}`, "content-length": String(body.length - start) },
    });
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const { pathname } = new URL(req.url);
      requests.push({ method: req.method, path: pathname, range: req.headers.get("range") });
      const [, route, name] = pathname.split("/");
      const body = name ? files[decodeURIComponent(name)] : undefined;
      if (!body) return new Response("not found", { status: 404 });
      const count = (seen.get(pathname) ?? 0) + 1;
      seen.set(pathname, count);
      switch (route) {
        case "files":
          return ranged(req, body);
        case "redirect":
          return new Response(null, { status: 302, headers: { location: `/files/${name}` } });
        case "norange":
          return new Response(asBody(body), { headers: { "content-length": String(body.length) } });
        case "flaky":
          return count === 1 ? new Response("busy", { status: 503 }) : ranged(req, body);
        case "outage":
          if (state.outage) return new Response("down for maintenance", { status: 503, statusText: "Service Unavailable" });
          return slowly(body);
        case "slow":
          return slowly(body);
        case "stall":
          if (count > 1) return ranged(req, body);
          return new Response(
            new ReadableStream({
              start(c) {
                c.enqueue(body.subarray(0, body.length >> 1));
              },
              pull() {
                return new Promise<void>((resolve) => stalled.push(resolve)); // silence until the test ends
              },
            }),
          );
        default:
          return new Response("not found", { status: 404 });
      }
    },
  });

  const drop = Bun.listen<{ buf: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(sock) {
        sock.data = { buf: "" };
      },
      data(sock, chunk) {
        sock.data.buf += chunk.toString("latin1");
        if (!sock.data.buf.includes("\r\n\r\n")) return;
        const [line, ...headers] = sock.data.buf.split("\r\n");
        const path = line!.split(" ")[1]!.split("?")[0]!;
        const range = headers.find((h) => /^range:/i.test(h))?.split(":")[1]?.trim() ?? null;
        requests.push({ method: "GET", path, range });
        const body = files[decodeURIComponent(path.split("/")[2] ?? "")];
        if (!body) {
          sock.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
          return;
        }
        const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
        if (!m) {
          const head = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n`;
          writeAll(sock, concat(head, body.subarray(0, body.length >> 1)), () => setTimeout(() => sock.end(), 20));
          return;
        }
        const start = Number(m[1]);
        const head = `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${start}-${body.length - 1}/${body.length}\r\nContent-Length: ${body.length - start}\r\nConnection: close\r\n\r\n`;
        writeAll(sock, concat(head, body.subarray(start)), () => sock.end());
      },
      drain(sock) {
        (sock as any).__drain?.();
      },
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    dropUrl: `http://127.0.0.1:${drop.port}`,
    requests,
    get outage() {
      return state.outage;
    },
    set outage(value: boolean) {
      state.outage = value;
    },
    stop() {
      for (const resolve of stalled) resolve();
      server.stop(true);
      drop.stop(true);
    },
  };
}

const asBody = (bytes: Uint8Array) => bytes as unknown as BodyInit;

/** The whole file, 24 kB every 100 ms. */
function slowly(body: Uint8Array): Response {
  let at = 0;
  const stream = new ReadableStream({
    async pull(c) {
      if (at >= body.length) return c.close();
      if (at > 0) await Bun.sleep(100);
      const end = Math.min(body.length, at + 24_000);
      c.enqueue(body.slice(at, end));
      at = end;
    },
  });
  return new Response(stream, { headers: { "content-length": String(body.length) } });
}

function concat(head: string, body: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(head);
  const out = new Uint8Array(h.length + body.length);
  out.set(h);
  out.set(body, h.length);
  return out;
}

/** Writes all of data to a Bun socket, waiting for drain when the kernel buffer is full. */
function writeAll(sock: any, data: Uint8Array, then?: () => void) {
  let rest = data;
  const pump = () => {
    while (rest.length) {
      const n = sock.write(rest);
      if (n <= 0) {
        sock.__drain = pump;
        return;
      }
      rest = rest.subarray(n);
    }
    sock.__drain = undefined;
    then?.();
  };
  pump();
}
