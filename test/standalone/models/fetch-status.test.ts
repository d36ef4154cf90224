// What the console is told while models are fetched at start (models/fetch-status.ts), and when a
// starting Hearth tries a failed fetch again (ensureModelsPatiently): only for failures time can
// fix; a setting to correct still ends the start at once.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setLogLevel } from "../../../src/log.ts";
import { ensureModelsPatiently } from "../../../src/models/ensure.ts";
import { ModelError } from "../../../src/models/errors.ts";
import { ModelFetchTracker, plainReason } from "../../../src/models/fetch-status.ts";
import { progressFactory } from "../../../src/models/progress.ts";
import { testConfig } from "../../support/hearth.ts";

setLogLevel("error");

test("per model: bytes, speed and time left while active; retries and the last problem are kept across a new try", () => {
  let now = 0;
  const tracker = new ModelFetchTracker(() => now);
  tracker.start("pi", "the internet");
  tracker.planned([
    { id: "qwen", kind: "llm", size: 4_000_000 },
    { id: "amy", kind: "tts", size: 1_000_000 },
  ]);
  const job = tracker.progress(progressFactory("none"))({ label: "qwen", verb: "downloading", total: 4_000_000 });
  now = 1000;
  job.update(1_000_000);
  now = 2000;
  job.update(2_000_000);
  let s = tracker.snapshot()!;
  expect(s.files[0]).toMatchObject({ id: "qwen", state: "active", verb: "downloading", done: 2_000_000, total: 4_000_000, bytesPerSecond: 1_000_000, etaSeconds: 2, retries: 0 });
  expect(s.files[1]).toMatchObject({ id: "amy", state: "waiting", done: 0 });

  tracker.retrying("qwen", "HTTP 503 Service Unavailable", 2000);
  job.fail();
  tracker.gaveUp("qwen", "ECONNREFUSED: Unable to connect");
  tracker.failed(new ModelError("download of qwen failed", { fix: "HEARTH_MODELS_FROM=/media/usb npm run setup", retryable: true }), 60_000);
  s = tracker.snapshot()!;
  expect(s).toMatchObject({ state: "failed", error: "download of qwen failed", fix: "HEARTH_MODELS_FROM=/media/usb npm run setup", retryAt: 60_000, attempt: 1 });
  expect(s.files[0]).toMatchObject({ state: "failed", retries: 1 });
  expect(s.files[0]!.lastError).toStartWith("cannot reach the download server: is this machine connected to the internet?");

  tracker.start("pi", "the internet");
  tracker.planned([
    { id: "qwen", kind: "llm", size: 4_000_000 },
    { id: "amy", kind: "tts", size: 1_000_000 },
  ]);
  s = tracker.snapshot()!;
  expect(s).toMatchObject({ state: "fetching", attempt: 2 });
  expect(s.files[0]).toMatchObject({ state: "waiting", done: 2_000_000, retries: 1 });
  tracker.finished();
  expect(tracker.snapshot()!.state).toBe("done");
});

test("plain words for the usual download failures", () => {
  expect(plainReason("HTTP 404 Not Found")).toBe("the file is not on the download server (HTTP 404 Not Found)");
  expect(plainReason("no data for 60 s after 12 MB")).toStartWith("the download stalled");
  expect(plainReason("getaddrinfo ENOTFOUND huggingface.co")).toStartWith("cannot reach the download server");
  expect(plainReason("the server resumed at the wrong place")).toBe("the server resumed at the wrong place");
});

test("a fetch only a setting can fix is not tried again: the start ends with what to change", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hearth-patient-"));
  try {
    const config = testConfig({ HEARTH_MODELS_FROM: "", HEARTH_MODELS_DIR: dir });
    const tracker = new ModelFetchTracker();
    const started = Date.now();
    const error = await ensureModelsPatiently(config, tracker, { progress: "none", retryAfterMs: 60_000 }).catch((e) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect(error.message).toContain("has no download URL");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(tracker.snapshot()).toMatchObject({ state: "failed", retryAt: undefined });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a USB stick that is not plugged in is waited for: tried again until the start is called off", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hearth-patient-"));
  try {
    const config = testConfig({ HEARTH_MODELS_FROM: join(dir, "no-stick-here"), HEARTH_MODELS_DIR: join(dir, "models") });
    const tracker = new ModelFetchTracker();
    const abort = new AbortController();
    const attempts: number[] = [];
    const waiting = ensureModelsPatiently(config, tracker, { progress: "none", retryAfterMs: 50, signal: abort.signal }).catch((e) => e);
    while (attempts.length < 3) {
      await Bun.sleep(20);
      const s = tracker.snapshot()!;
      if (s.state === "failed" && attempts.at(-1) !== s.attempt) attempts.push(s.attempt);
    }
    abort.abort(new Error("stopping"));
    expect(((await waiting) as Error).message).toBe("stopping");
    expect(attempts).toEqual([1, 2, 3]);
    const s = tracker.snapshot()!;
    expect(s.error).toContain("does not exist or is not a folder: mount the USB stick");
    expect(s.retryAt).toBeGreaterThan(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
