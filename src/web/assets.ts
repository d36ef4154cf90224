// The console's static files: its page, the login page, their scripts and the style sheet. The
// client TypeScript (src/web/client/) is bundled for the browser with Bun.build once per process,
// in memory, the first time it is asked for (webRoutes() starts that at boot). No build step, no
// files written: `bun src/main.ts` is enough.
import { join } from "node:path";
import { logger } from "../log.ts";

const log = logger("web");

type Asset = "page" | "script" | "style" | "login" | "loginScript";

const types: Record<Asset, string> = {
  page: "text/html; charset=utf-8",
  script: "text/javascript; charset=utf-8",
  style: "text/css; charset=utf-8",
  login: "text/html; charset=utf-8",
  loginScript: "text/javascript; charset=utf-8",
};

/** Where each asset comes from: a file as it is, or a client entry point to bundle. */
const sources: Record<Asset, { file: string } | { bundle: string }> = {
  page: { file: "index.html" },
  style: { file: "console.css" },
  login: { file: "login.html" },
  script: { bundle: "client/main.ts" },
  loginScript: { bundle: "client/login.ts" },
};

const cache = new Map<Asset, Promise<string>>();

function load(asset: Asset): Promise<string> {
  let text = cache.get(asset);
  if (!text) {
    const source = sources[asset];
    text = "bundle" in source ? bundleClient(source.bundle) : Bun.file(join(import.meta.dir, source.file)).text();
    // a failure is not cached: the next request tries again and logs again
    text.catch(() => cache.delete(asset));
    cache.set(asset, text);
  }
  return text;
}

async function bundleClient(entry: string): Promise<string> {
  const started = performance.now();
  const result = await Bun.build({
    entrypoints: [join(import.meta.dir, entry)],
    target: "browser",
    format: "esm",
    minify: true,
  });
  const output = result.outputs.find((o) => o.kind === "entry-point");
  if (!result.success || !output) {
    throw new Error(`console script failed to build: ${result.logs.map((l) => l.message).join("; ")}`);
  }
  const code = await output.text();
  log.debug("console script built", { entry, bytes: code.length, ms: Math.round(performance.now() - started) });
  return code;
}

/** Starts building the client at boot, so the first visit does not wait; failures are logged. */
export function warmConsoleAssets() {
  for (const asset of Object.keys(types) as Asset[]) {
    load(asset).catch((e) => log.error("console asset unavailable", { asset, error: (e as Error).message }));
  }
}

export async function consoleAsset(asset: Asset): Promise<Response> {
  const body = await load(asset);
  // no-cache: the browser revalidates, so an upgraded appliance never runs a stale script
  return new Response(body, { headers: { "Content-Type": types[asset], "Cache-Control": "no-cache" } });
}
