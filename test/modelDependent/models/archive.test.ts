// fetchProfile over real HTTP with an injected manifest: .tar.bz2 archives made with the system
// tar at test time, single files, a connection that drops halfway, a USB folder holding the
// published file names, and damaged archives.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelError } from "../../../src/models/errors.ts";
import { fetchProfile } from "../../../src/models/fetch.ts";
import { readLock } from "../../../src/models/lock.ts";
import { parseManifest, type Manifest } from "../../../src/models/manifest.ts";
import { checkTarTools } from "../../../src/models/unpack.ts";
import { resolveProfile, type ModelsConfig } from "../../../src/models/verify.ts";
import { bytesOf, sha256, startServers, type FixtureServers } from "../../support/http-fixture.ts";

let tmp: string;
let srv: FixtureServers;
const files: Record<string, Uint8Array> = {};
const voiceModel = bytesOf(200_000, 11);
const sttModel = bytesOf(150_000, 12);
const gguf = bytesOf(300_000, 13);
const vad = bytesOf(20_000, 14);

function tarBz2(root: string, name: string, entries: string[]): Uint8Array {
  const out = join(tmp, name);
  const r = Bun.spawnSync(["tar", "-cjf", out, "-C", root, ...entries]);
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return new Uint8Array(readFileSync(out));
}

function manifestFor(base: string, dropBase: string, extra: Partial<Record<"stt" | "llm" | "vad" | "tts", object>> = {}): Manifest {
  const models = [
    { id: "mini-stt", kind: "stt", type: "sense_voice", url: `${base}/files/flat.tar.bz2`, size: 1000, archive: "tar.bz2", local: "stt/mini-stt", files: { model: "model.int8.onnx", tokens: "tokens.txt" }, languages: ["en", "zh"], windowSeconds: 30, license: "test" },
    { id: "mini-llm", kind: "llm", type: "gguf", url: `${dropBase}/drop/mini.gguf`, size: gguf.length, archive: "none", local: "llm/mini.gguf", files: { model: "mini.gguf" }, license: "test" },
    { id: "mini-vad", kind: "vad", type: "silero", url: `${base}/redirect/vad.onnx`, size: vad.length, archive: "none", local: "vad/mini-vad", files: { model: "vad.onnx" }, license: "test" },
    { id: "mini-voice", kind: "tts", type: "vits", voice: "mini", url: `${base}/files/voice.tar.bz2`, size: 1000, archive: "tar.bz2", local: "tts/mini-voice", files: { model: "voice.onnx", tokens: "tokens.txt", dataDir: "espeak-ng-data" }, language: "en", speakers: 2, license: "test" },
    { id: "broken-voice", kind: "tts", type: "vits", url: `${base}/files/broken.tar.bz2`, size: 1000, archive: "tar.bz2", local: "tts/broken", files: { model: "voice.onnx", tokens: "tokens.txt" }, language: "en", speakers: 1, license: "test" },
    { id: "incomplete-voice", kind: "tts", type: "vits", url: `${base}/files/voice.tar.bz2`, size: 1000, archive: "tar.bz2", local: "tts/incomplete", files: { model: "voice.onnx", tokens: "tokens.txt", lexicon: "lexicon.txt" }, language: "en", speakers: 1, license: "test" },
  ];
  for (const m of models) (m as { pin?: string }).pin = "no pin known: test fixture";
  return parseManifest({
    version: 1,
    default: "mini",
    profiles: {
      mini: { description: "test", stt: "mini-stt", llm: "mini-llm", vad: "mini-vad", tts: ["mini-voice"], ...extra },
      broken: { description: "test", stt: "mini-stt", llm: "mini-llm", vad: "mini-vad", tts: ["broken-voice"] },
      incomplete: { description: "test", stt: "mini-stt", llm: "mini-llm", vad: "mini-vad", tts: ["incomplete-voice"] },
    },
    models,
  });
}

let manifest: Manifest;
const opts = () => ({ manifest, progress: "none" as const, download: { retryDelayMs: 10, stallTimeoutMs: 5000 } });
const cfg = (name: string, profile = "mini", from = ""): ModelsConfig => ({ models: { profile, from, dir: join(tmp, name) } });

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "hearth-archive-"));
  const src = join(tmp, "src");
  mkdirSync(join(src, "mini-voice", "espeak-ng-data"), { recursive: true });
  writeFileSync(join(src, "mini-voice", "voice.onnx"), voiceModel);
  writeFileSync(join(src, "mini-voice", "tokens.txt"), "a 1\nb 2\n");
  writeFileSync(join(src, "mini-voice", "espeak-ng-data", "phontab"), "phonemes");
  files["voice.tar.bz2"] = tarBz2(src, "voice.tar.bz2", ["mini-voice"]);
  mkdirSync(join(src, "flat"));
  writeFileSync(join(src, "flat", "model.int8.onnx"), sttModel);
  writeFileSync(join(src, "flat", "tokens.txt"), "x 1\n");
  files["flat.tar.bz2"] = tarBz2(join(src, "flat"), "flat.tar.bz2", ["model.int8.onnx", "tokens.txt"]); // no top-level folder
  files["broken.tar.bz2"] = files["voice.tar.bz2"]!.subarray(0, 200); // cut short
  files["mini.gguf"] = gguf;
  files["vad.onnx"] = vad;
  srv = startServers(files);
  manifest = manifestFor(srv.url, srv.dropUrl);
});

afterAll(() => {
  srv.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("fetching over HTTP", () => {
  test("installs archives and single files; the lock has the sha256 of each download and each file", async () => {
    const config = cfg("net");
    const report = await fetchProfile(config, opts());
    expect(report.models.map((m) => [m.id, m.action, m.source])).toEqual([
      ["mini-stt", "installed", `${srv.url}/files/flat.tar.bz2`],
      ["mini-llm", "installed", `${srv.dropUrl}/drop/mini.gguf`],
      ["mini-vad", "installed", `${srv.url}/redirect/vad.onnx`],
      ["mini-voice", "installed", `${srv.url}/files/voice.tar.bz2`],
    ]);
    const p = resolveProfile(config, { manifest });
    expect(sha256(readFileSync(p.stt.files.model!))).toBe(sha256(sttModel));
    expect(sha256(readFileSync(p.llm.file))).toBe(sha256(gguf));
    expect(sha256(readFileSync(p.vad.file))).toBe(sha256(vad));
    expect(p.tts[0]).toMatchObject({ id: "mini", speakers: 2, language: "en" });
    expect(sha256(readFileSync(p.tts[0]!.files.model!))).toBe(sha256(voiceModel));
    expect(statSync(p.tts[0]!.files.dataDir!).isDirectory()).toBe(true);

    const lock = readLock(config.models.dir);
    expect(lock.models["mini-voice"]!.archive).toEqual({ name: "voice.tar.bz2", size: files["voice.tar.bz2"]!.length, sha256: sha256(files["voice.tar.bz2"]!) });
    expect(lock.models["mini-llm"]!.archive).toEqual({ name: "mini.gguf", size: gguf.length, sha256: sha256(gguf) });
    expect(lock.models["mini-voice"]!.files["espeak-ng-data/phontab"]!.size).toBe(8);
    // nothing left behind: no archives, no staging
    expect(readdirSync(config.models.dir).sort()).toEqual(["mini-llm", "mini-stt", "mini-vad", "mini-voice", "models.lock.json"]);
  });

  test("the dropped download was resumed with a Range request and has the right sha256", () => {
    const drops = srv.requests.filter((r) => r.path === "/drop/mini.gguf");
    expect(drops.slice(0, 2).map((r) => r.range)).toEqual([null, `bytes=${gguf.length >> 1}-`]);
  });

  test("a second fetch makes no request", async () => {
    const before = srv.requests.length;
    const report = await fetchProfile(cfg("net"), opts());
    expect(report.models.every((m) => m.action === "present")).toBe(true);
    expect(srv.requests.length).toBe(before);
  });

  test("a damaged unpacked model is replaced whole", async () => {
    const config = cfg("net");
    const model = join(config.models.dir, "mini-voice", "voice.onnx");
    truncateSync(model, 10);
    const report = await fetchProfile(config, opts());
    expect(report.models.find((m) => m.id === "mini-voice")!.action).toBe("repaired");
    expect(sha256(readFileSync(model))).toBe(sha256(voiceModel));
    expect(readdirSync(config.models.dir)).not.toContain(".trash");
  });

  test("an interrupted download leaves only a .part, never a model folder; the next run resumes it", async () => {
    const manifest2 = manifestFor(srv.url, srv.dropUrl);
    (manifest2.models.find((m) => m.id === "mini-llm") as any).url = `${srv.dropUrl}/drop/mini.gguf?second`;
    const config = cfg("interrupted");
    const err = await fetchProfile(config, { ...opts(), manifest: manifest2, download: { retries: 0, retryDelayMs: 10 } }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(existsSync(join(config.models.dir, "mini-llm"))).toBe(false);
    expect(readLock(config.models.dir).models["mini-llm"]).toBeUndefined();
    const part = join(config.models.dir, ".downloads", "mini.gguf.part");
    expect(statSync(part).size).toBe(gguf.length >> 1);

    const report = await fetchProfile(config, { ...opts(), manifest: manifest2 });
    expect(report.models.find((m) => m.id === "mini-llm")!.action).toBe("installed");
    expect(sha256(readFileSync(resolveProfile(config, { manifest: manifest2 }).llm.file))).toBe(sha256(gguf));
    expect(existsSync(join(config.models.dir, ".downloads"))).toBe(false);
    expect(srv.requests.filter((r) => r.path === "/drop/mini.gguf").slice(-2).map((r) => r.range)).toEqual([null, `bytes=${gguf.length >> 1}-`]);
  });

  test("a failed download says how to retry, and how to install without internet", async () => {
    const manifest2 = manifestFor(srv.url, srv.dropUrl);
    (manifest2.models.find((m) => m.id === "mini-vad") as any).url = `${srv.url}/files/gone.onnx`;
    const err = await fetchProfile(cfg("gone"), { ...opts(), manifest: manifest2 }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err.message).toContain(`cannot download mini-vad from ${srv.url}/files/gone.onnx: HTTP 404`);
    expect(err.message).toContain("Fix: npm run setup -- --profile mini (again, once online), or HEARTH_MODELS_FROM=/media/usb npm run setup -- --profile mini");
    // the two ways forward without internet: a USB stick / folder, or the test models now
    expect(err.message).toContain("copy the models from a USB stick or a folder");
    expect(err.message).toContain("HEARTH_MODELS_PROFILE=test HEARTH_MODELS_FROM=<folder with the test models> npm start");
  });

  test("a damaged archive fails clearly, installs nothing and is deleted so the next run downloads it again", async () => {
    const config = cfg("broken", "broken");
    const err = await fetchProfile(config, opts()).catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err.message).toContain("cannot unpack");
    expect(err.message).toContain("broken.tar.bz2");
    expect(existsSync(join(config.models.dir, "broken-voice"))).toBe(false);
    expect(existsSync(join(config.models.dir, ".downloads", "broken.tar.bz2"))).toBe(false);
  });

  test("an archive without a file the manifest names fails, naming the file, and installs nothing", async () => {
    const config = cfg("incomplete", "incomplete");
    const err = await fetchProfile(config, opts()).catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err.message).toContain("does not contain lexicon.txt");
    expect(existsSync(join(config.models.dir, "incomplete-voice"))).toBe(false);
  });
});

describe("fetching from a USB folder holding the published files", () => {
  test("archives and single files at the top level, by their download names", async () => {
    const usb = join(tmp, "usb");
    mkdirSync(usb);
    for (const name of ["voice.tar.bz2", "flat.tar.bz2", "mini.gguf", "vad.onnx"]) writeFileSync(join(usb, name), files[name]!);
    const config = cfg("from-usb", "mini", usb);
    const before = srv.requests.length;
    const report = await fetchProfile(config, opts());
    expect(srv.requests.length).toBe(before);
    expect(report.models.map((m) => m.source)).toEqual([join(usb, "flat.tar.bz2"), join(usb, "mini.gguf"), join(usb, "vad.onnx"), join(usb, "voice.tar.bz2")]);
    const p = resolveProfile(config, { manifest });
    expect(sha256(readFileSync(p.tts[0]!.files.model!))).toBe(sha256(voiceModel));
    expect(readLock(config.models.dir).models["mini-voice"]!.archive!.sha256).toBe(sha256(files["voice.tar.bz2"]!));
  });

  test("an unpacked archive folder at the top level, and the manifest's own layout", async () => {
    const usb = join(tmp, "usb2");
    mkdirSync(join(usb, "voice", "espeak-ng-data"), { recursive: true }); // voice.tar.bz2 unpacked by hand into "voice/"
    copyFileSync(join(tmp, "src", "mini-voice", "voice.onnx"), join(usb, "voice", "voice.onnx"));
    copyFileSync(join(tmp, "src", "mini-voice", "tokens.txt"), join(usb, "voice", "tokens.txt"));
    mkdirSync(join(usb, "stt"));
    writeFileSync(join(usb, "stt", "mini-stt.tar.bz2"), files["flat.tar.bz2"]!); // not a known name: ignored
    writeFileSync(join(usb, "flat.tar.bz2"), files["flat.tar.bz2"]!);
    mkdirSync(join(usb, "llm"));
    writeFileSync(join(usb, "llm", "mini.gguf"), gguf);
    mkdirSync(join(usb, "vad", "mini-vad"), { recursive: true });
    writeFileSync(join(usb, "vad", "mini-vad", "vad.onnx"), vad);
    const config = cfg("from-usb2", "mini", usb);
    const report = await fetchProfile(config, opts());
    expect(report.models.map((m) => m.source)).toEqual([join(usb, "flat.tar.bz2"), join(usb, "llm", "mini.gguf"), join(usb, "vad", "mini-vad"), join(usb, "voice")]);
    expect(existsSync(resolveProfile(config, { manifest }).tts[0]!.files.dataDir!)).toBe(true);
  });
});

describe("system tools", () => {
  test("a missing bzip2 is named, with the command that installs it", () => {
    expect(() => checkTarTools((cmd) => (cmd === "bzip2" ? null : `/usr/bin/${cmd}`))).toThrow(
      "unpacking .tar.bz2 model archives needs the system program `bzip2`, not found on PATH. Fix: sudo apt-get install -y bzip2",
    );
    expect(() => checkTarTools(() => null)).toThrow("`tar` and `bzip2`");
    expect(() => checkTarTools()).not.toThrow();
  });
});
