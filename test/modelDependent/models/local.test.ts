// The `test` profile installed from the shared fixtures folder, as CI does. The whisper fixture
// is ~85 MB, so it is copied once (beforeAll) and every test works on that one install.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, copyFileSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { ensureModels } from "../../../src/models/ensure.ts";
import { ModelError } from "../../../src/models/errors.ts";
import { fetchProfile, type FetchReport } from "../../../src/models/fetch.ts";
import { readLock, sha256File, writeLockEntry } from "../../../src/models/lock.ts";
import { resolveProfile, verifyProfile, type ModelsConfig } from "../../../src/models/verify.ts";
import { SHARED } from "../../support/paths.ts";

const FIXTURES = process.env.HEARTH_TEST_MODELS ?? join(SHARED, "models");
let tmp: string;
let config: ModelsConfig;
let first: FetchReport;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "hearth-local-"));
  config = { models: { profile: "test", from: FIXTURES, dir: join(tmp, "models") } };
  first = await fetchProfile(config, { progress: "none" });
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const expectModelError = (fn: () => unknown): ModelError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelError);
    return e as ModelError;
  }
  throw new Error("expected a ModelError");
};

const allPaths = (p: ReturnType<typeof resolveProfile>) => [
  ...Object.values(p.stt.files).flatMap((v) => v.split(",")),
  p.llm.file,
  p.vad.file,
  ...p.tts.flatMap((t) => Object.values(t.files).flatMap((v) => v.split(","))),
];

describe("the test profile from a local folder", () => {
  test("installs every model, and resolves to absolute paths that exist", () => {
    expect(first.models.map((m) => [m.id, m.action])).toEqual([
      ["whisper-tiny.en-int8", "installed"],
      ["tiny-random-llama", "installed"],
      ["silero-vad", "installed"],
      ["fixture-piper-tone", "installed"],
    ]);
    const p = resolveProfile(config);
    expect(p.name).toBe("test");
    expect(p.stt).toMatchObject({ id: "whisper-tiny.en-int8", type: "whisper", languages: ["en"], windowSeconds: 30 });
    expect(p.stt.files.encoder).toEndWith("/whisper-tiny.en-int8/tiny.en-encoder.dynamic.int8.onnx");
    expect(Object.keys(p.stt.files).sort()).toEqual(["decoder", "encoder", "tokens"]);
    expect(p.tts).toHaveLength(1);
    expect(p.tts[0]).toMatchObject({ id: "fixture-piper-tone", type: "vits", language: "en", speakers: 4 });
    expect(statSync(p.tts[0]!.files.dataDir!).isDirectory()).toBe(true);
    for (const path of allPaths(p)) {
      expect(isAbsolute(path)).toBe(true);
      expect(path.startsWith(config.models.dir)).toBe(true);
      expect(existsSync(path)).toBe(true);
    }
  });

  test("copies are writable (the source is read-only) and identical to the source", async () => {
    const p = resolveProfile(config);
    for (const path of [p.llm.file, p.vad.file, p.stt.files.encoder!, p.tts[0]!.files.model!]) {
      expect(statSync(path).mode & 0o200).toBe(0o200);
    }
    expect(statSync(join(config.models.dir, "fixture-piper-tone", "espeak-ng-data")).mode & 0o200).toBe(0o200);
    expect(await sha256File(p.llm.file)).toBe(await sha256File(join(FIXTURES, "llm/tiny-random-llama/llama-2-tiny-random.gguf")));
  });

  test("the lock records size and sha256 of every file", async () => {
    const lock = readLock(config.models.dir);
    expect(Object.keys(lock.models).sort()).toEqual(["fixture-piper-tone", "silero-vad", "tiny-random-llama", "whisper-tiny.en-int8"]);
    const llm = lock.models["tiny-random-llama"]!;
    expect(llm.source).toBe(join(FIXTURES, "llm/tiny-random-llama"));
    expect(llm.files["llama-2-tiny-random.gguf"]).toEqual({ size: 1750560, sha256: await sha256File(join(FIXTURES, "llm/tiny-random-llama/llama-2-tiny-random.gguf")) });
    expect(Object.keys(lock.models["fixture-piper-tone"]!.files)).toContain("espeak-ng-data/phontab");
  });

  test("a second fetch is a no-op", async () => {
    const encoder = join(config.models.dir, "whisper-tiny.en-int8", "tiny.en-encoder.dynamic.int8.onnx");
    const before = statSync(encoder).mtimeMs;
    const lockBefore = readFileSync(join(config.models.dir, "models.lock.json"), "utf8");
    const t0 = performance.now();
    const again = await fetchProfile(config, { progress: "none" });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(again.models.every((m) => m.action === "present")).toBe(true);
    expect(statSync(encoder).mtimeMs).toBe(before);
    expect(readFileSync(join(config.models.dir, "models.lock.json"), "utf8")).toBe(lockBefore);
    expect(existsSync(join(config.models.dir, ".staging"))).toBe(false);
  });

  test("a truncated file is named, with the command that fixes it; setup repairs only that model", async () => {
    const file = join(config.models.dir, "fixture-piper-tone", "model.onnx");
    truncateSync(file, 100);
    const err = expectModelError(() => resolveProfile(config));
    expect(err.status).toBe(503);
    expect(err.message).toContain(file);
    expect(err.message).toContain("damaged (100 bytes, expected 946)");
    expect(err.message).toContain(`Fix: HEARTH_MODELS_FROM=${FIXTURES} npm run setup -- --profile test`);
    expect(err.problems.map((p) => p.reason)).toEqual(["wrong-size"]);
    expect((await verifyProfile(config)).map((p) => p.path)).toEqual([file]);

    const report = await fetchProfile(config, { progress: "none" });
    expect(report.models.map((m) => m.action)).toEqual(["present", "present", "present", "repaired"]);
    expect(statSync(file).size).toBe(946);
    expect(resolveProfile(config).tts[0]!.files.model).toBe(file);
    expect(existsSync(join(config.models.dir, ".trash"))).toBe(false);
  });

  test("a deleted file is named as missing", async () => {
    const file = join(config.models.dir, "silero-vad", "silero_vad.onnx");
    rmSync(file);
    const err = expectModelError(() => resolveProfile(config));
    expect(err.message).toContain(`vad model file ${file} is missing`);
    await fetchProfile(config, { progress: "none" });
    expect(existsSync(file)).toBe(true);
  });

  test("a same-size corruption passes the quick check, fails --verify (sha256), and --verify repairs it", async () => {
    const file = join(config.models.dir, "fixture-piper-tone", "tokens.txt");
    const bytes = readFileSync(file);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(file, bytes);
    expect(await verifyProfile(config)).toEqual([]);
    const full = await verifyProfile(config, { full: true });
    expect(full).toHaveLength(1);
    expect(full[0]).toMatchObject({ model: "fixture-piper-tone", reason: "checksum", path: file });
    const report = await fetchProfile(config, { progress: "none", verify: true });
    expect(report.models.find((m) => m.id === "fixture-piper-tone")!.action).toBe("repaired");
    expect(await verifyProfile(config, { full: true })).toEqual([]);
  });

  test("complete files with no lock entry are recorded (adopted), not copied again", async () => {
    await writeLockEntry(config.models.dir, "tiny-random-llama", null);
    const err = expectModelError(() => resolveProfile(config));
    expect(err.message).toContain("was not installed by setup");
    const report = await fetchProfile(config, { progress: "none" });
    expect(report.models.find((m) => m.id === "tiny-random-llama")!.action).toBe("adopted");
    expect(readLock(config.models.dir).models["tiny-random-llama"]!.files["llama-2-tiny-random.gguf"]!.size).toBe(1750560);
  });

  test("ensureModels fetches what is missing, then resolves", async () => {
    rmSync(join(config.models.dir, "tiny-random-llama"), { recursive: true });
    const p = await ensureModels(config, { progress: "none" });
    expect(existsSync(p.llm.file)).toBe(true);
  });

  test("a from folder without the model says where it looked; a bare file at its top level is accepted", async () => {
    const usb = join(tmp, "usb");
    mkdirSync(usb);
    rmSync(join(config.models.dir, "tiny-random-llama"), { recursive: true });
    const onUsb = { ...config, models: { ...config.models, from: usb } };
    const err = await fetchProfile(onUsb, { progress: "none" }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err.message).toContain(`llm model tiny-random-llama is not in ${usb}: looked for ${usb}/llm/tiny-random-llama, ${usb}/tiny-random-llama, ${usb}/llama-2-tiny-random.gguf`);

    copyFileSync(join(FIXTURES, "llm/tiny-random-llama/llama-2-tiny-random.gguf"), join(usb, "llama-2-tiny-random.gguf"));
    const report = await fetchProfile(onUsb, { progress: "none" });
    expect(report.models.find((m) => m.id === "tiny-random-llama")).toMatchObject({ action: "installed", source: join(usb, "llama-2-tiny-random.gguf") });
    expect(existsSync(resolveProfile(onUsb).llm.file)).toBe(true);
  });

  test("a from folder that does not exist: fine while nothing is needed, a clear error when something is", async () => {
    const unplugged = { models: { ...config.models, from: "/nonexistent/usb-stick" } };
    expect((await fetchProfile(unplugged, { progress: "none" })).models.every((m) => m.action === "present")).toBe(true);
    rmSync(join(config.models.dir, "silero-vad"), { recursive: true });
    const err = await fetchProfile(unplugged, { progress: "none" }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err.message).toContain("the local models folder /nonexistent/usb-stick (HEARTH_MODELS_FROM or [models] from) does not exist");
    await fetchProfile(config, { progress: "none" });
  });

  test("another fetcher running on the same folder is refused; a stale lock of a dead process is not", async () => {
    const lockFile = join(config.models.dir, ".fetch.lock");
    writeFileSync(lockFile, String(process.pid));
    const err = await fetchProfile(config, { progress: "none" }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err.message).toContain(`another process (pid ${process.pid})`);
    writeFileSync(lockFile, "2147483646");
    await fetchProfile(config, { progress: "none" });
    expect(existsSync(lockFile)).toBe(false);
  });
});

describe("local-only models without a from folder", () => {
  test("fetching fails at once, before any download, saying to set HEARTH_MODELS_FROM", async () => {
    const dir = join(tmp, "empty-models");
    const cfg: ModelsConfig = { models: { profile: "test", from: "", dir } };
    let fetched = 0;
    const err = await fetchProfile(cfg, { progress: "none", download: { fetch: (async () => (fetched++, new Response("no"))) as any } }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err.message).toContain("stt model whisper-tiny.en-int8 has no download URL");
    expect(err.message).toContain("set HEARTH_MODELS_FROM");
    expect(err.message).toContain("Fix: HEARTH_MODELS_FROM=/path/to/models npm run setup -- --profile test");
    expect(fetched).toBe(0);
    expect(existsSync(join(dir, "silero-vad"))).toBe(false);

    const notReady = expectModelError(() => resolveProfile(cfg));
    expect(notReady.message).toContain(`stt model whisper-tiny.en-int8 is not installed (no folder ${dir}/whisper-tiny.en-int8)`);
    expect(notReady.message).toContain("(and 3 more problems)");
    expect(notReady.message).toContain("HEARTH_MODELS_FROM=/path/to/models npm run setup -- --profile test");
  });

  test("an unknown profile lists the profiles there are", () => {
    const err = expectModelError(() => resolveProfile({ models: { profile: "pi-16gb", from: "", dir: tmp } }));
    expect(err.message).toContain(`unknown model profile "pi-16gb": the manifest has pi, pi-8gb, pi-yue, test`);
  });
});
