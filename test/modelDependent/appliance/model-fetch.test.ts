// A real Hearth starting with a model missing (the test profile's VAD), fetched from a local HTTP
// server that is first down (503) and then sends the file slowly, while a real Chromium watches
// the console's Status page: the failed download with its retries and last problem, what to do
// (the USB stick command), when Hearth tries again; then, once the server is back, the file's
// bytes, speed and time left; then ready, with the panel gone.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { startHearth, type Hearth } from "../../../src/app.ts";
import { ensureModels } from "../../../src/models/ensure.ts";
import { loadManifest } from "../../../src/models/manifest.ts";
import { startServers, type FixtureServers } from "../../support/http-fixture.ts";
import { testConfig, TEST_MODELS_DIR } from "../../support/hearth.ts";
import { freePort } from "../folotoy/helpers.ts";
import { DESKTOP, launchChromium, SCREENSHOTS, screenshotBoth } from "./browser.ts";

const VAD = "silero-vad";
let servers: FixtureServers;
let browser: Browser;
let modelsDir: string;

beforeAll(async () => {
  await ensureModels(testConfig(), { progress: "none" }); // the fixtures, in the shared test models folder
  // a models folder with every test model but the VAD (the others linked, not copied)
  modelsDir = mkdtempSync(join(tmpdir(), "hearth-fetch-console-"));
  const lock = JSON.parse(readFileSync(join(TEST_MODELS_DIR, "models.lock.json"), "utf8"));
  for (const id of Object.keys(lock.models)) if (id !== VAD) symlinkSync(join(TEST_MODELS_DIR, id), join(modelsDir, id));
  delete lock.models[VAD];
  writeFileSync(join(modelsDir, "models.lock.json"), JSON.stringify(lock));
  servers = startServers({ "silero_vad.onnx": new Uint8Array(readFileSync(join(TEST_MODELS_DIR, VAD, "silero_vad.onnx"))) });
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  servers?.stop();
  rmSync(modelsDir, { recursive: true, force: true });
});

test("the Status page follows a model download: failure with retries and the fix, then progress, then ready", async () => {
  const manifest = loadManifest();
  manifest.models = manifest.models.map((m) => (m.id === VAD ? { ...m, url: `${servers.url}/outage/silero_vad.onnx` } : m));
  const port = await freePort();
  const config = testConfig({ HEARTH_MODELS_FROM: "", HEARTH_MODELS_DIR: modelsDir, HEARTH_HTTP_PORT: String(port) });
  servers.outage = true;
  const starting = startHearth(config, { models: { manifest, progress: "none", retryAfterMs: 12_000, download: { retries: 1, retryDelayMs: 300 } } });
  let hearth: Hearth | undefined;
  const page = await browser.newPage({ viewport: DESKTOP });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    const base = `http://127.0.0.1:${port}`;
    // the console answers while the models are fetched
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/api/status`).then((r) => r.ok).catch(() => false);
      if (ok) break;
      if (i > 100) throw new Error("the console never answered while the models were fetched");
      await Bun.sleep(100);
    }
    await page.goto(`${base}/#status`);

    // down: two attempts (one retry), then the fetch fails with what to do, and a time for the next try
    const file = page.locator(`#model-fetch-files .fetch-file[data-model="${VAD}"]`);
    await page.locator("#model-fetch-error").waitFor({ state: "visible", timeout: 20_000 });
    expect(await file.getAttribute("data-state")).toBe("failed");
    const retries = await file.locator(".retries").innerText();
    expect(retries).toContain("Retried 1 time.");
    expect(retries).toContain("the download server is busy or having trouble (HTTP 503 Service Unavailable)");
    const problem = await page.locator("#model-fetch-error").innerText();
    expect(problem).toContain("The models could not be fetched.");
    expect(problem).toContain(`download of ${VAD} from ${servers.url}/outage/silero_vad.onnx failed after 2 attempts`);
    expect(problem).toContain("copy the models from a USB stick");
    expect(await page.locator("#model-fetch-error code.fix").innerText()).toContain("HEARTH_MODELS_FROM=/media/usb npm run setup -- --profile test");
    expect(problem).toMatch(/Hearth tries again by itself at .+ \(in \d+ s\)\./);
    expect(await page.locator("#card-models .sub").innerText()).toBe("could not be fetched");
    const health = await (await fetch(`${base}/health`)).json();
    expect(health.reasons).toEqual(["the models of profile test could not be fetched (trying again)"]);
    await screenshotBoth(page, "status-models-failed");

    // back: the next try downloads it slowly, and the page shows how far it is
    servers.outage = false;
    await page.waitForFunction((id) => document.querySelector(`.fetch-file[data-model="${id}"]`)?.getAttribute("data-state") === "active", VAD, { timeout: 30_000 });
    const amount = await file.locator(".amount").innerText();
    expect(amount).toMatch(/^downloading: [\d.]+ (kB|MB) of 2\.3 MB( · [\d.]+ (kB|MB)\/s · about .+ left)?$/);
    expect(await page.locator("#model-fetch-error").isHidden()).toBe(true);
    expect(await page.locator("#model-fetch-summary").innerText()).toMatch(/^Profile test, from the internet: .+ of 2\.3 MB\. Try 2\.$/);
    expect(await page.locator("#card-models .sub").innerText()).toMatch(/^fetching, \d+%$/);
    await page.waitForFunction((id) => / · about .+ left$/.test(document.querySelector(`.fetch-file[data-model="${id}"] .amount`)?.textContent ?? ""), VAD, { timeout: 10_000 });
    await screenshotBoth(page, "status-models-downloading");

    hearth = await starting;
    // the cards are drawn after the header's pill: wait for both
    await page.waitForFunction(() => document.body.dataset.hearth === "ready" && document.querySelector("#card-models .sub")?.textContent === "loaded", undefined, { timeout: 20_000 });
    expect(await page.locator("#model-fetch").isHidden()).toBe(true);
    expect(servers.requests.filter((r) => r.path.startsWith("/outage/")).length).toBe(3);
    expect(errors).toEqual([]);
  } finally {
    await page.close();
    servers.outage = false;
    hearth ??= await starting.catch(() => undefined);
    await hearth?.stop();
    rmSync(config.state.dir, { recursive: true, force: true });
  }
}, 180_000);
