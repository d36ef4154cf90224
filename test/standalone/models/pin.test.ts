// Pinned downloads (manifest "sha256"): the file must be exactly the pinned one, whether it is
// downloaded over HTTP or copied from a local folder (USB stick). Anything else is refused with a
// message naming the file, expected vs got, and what to do, and nothing is installed. Unpinned
// models ("no pin known") stay trust-on-first-use.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelError } from "../../../src/models/errors.ts";
import { fetchProfile } from "../../../src/models/fetch.ts";
import { readLock, writeLockEntry } from "../../../src/models/lock.ts";
import { getProfile, parseManifest, type Manifest } from "../../../src/models/manifest.ts";
import { checkModel, resolveProfile, verifyProfile, type ModelsConfig } from "../../../src/models/verify.ts";
import { bytesOf, sha256, startServers, type FixtureServers } from "../../support/http-fixture.ts";

let tmp: string;
let srv: FixtureServers;
/** What the server serves; tests swap entries to play a server that serves a different file. */
const served: Record<string, Uint8Array> = {};
const gguf = bytesOf(120_000, 21); // the pinned single file
const voice = bytesOf(90_000, 22);
const vad = bytesOf(10_000, 23); // unpinned
let voiceArchive: Uint8Array; // the pinned archive
let otherArchive: Uint8Array; // a valid archive, but not the pinned one

function tarBz2(root: string, name: string, entries: string[]): Uint8Array {
  const out = join(tmp, name);
  const r = Bun.spawnSync(["tar", "-cjf", out, "-C", root, ...entries]);
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return new Uint8Array(readFileSync(out));
}

/** One byte changed: same size, another sha256 (the worst case: only the hash tells). */
function tampered(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[copy.length >> 1]! ^= 0x01;
  return copy;
}

function manifestFor(base: string): Manifest {
  const fixture = "test fixture: sha256 computed by the test";
  return parseManifest({
    version: 1,
    default: "pinned",
    profiles: { pinned: { description: "test", stt: "p-stt", llm: "p-llm", vad: "p-vad", tts: ["p-voice"] } },
    models: [
      // The stt and vad are unpinned: whatever is served is installed and recorded (trust on first use).
      { id: "p-stt", kind: "stt", type: "sense_voice", url: `${base}/files/stt.tar.bz2`, size: 1000, pin: "no pin known: test", archive: "tar.bz2", local: "stt/p-stt", files: { model: "model.int8.onnx", tokens: "tokens.txt" }, languages: ["en"], windowSeconds: 30, license: "test" },
      { id: "p-llm", kind: "llm", type: "gguf", url: `${base}/files/model.gguf`, size: gguf.length, sha256: sha256(gguf), pin: fixture, archive: "none", local: "llm/p-llm", files: { model: "model.gguf" }, license: "test" },
      { id: "p-vad", kind: "vad", type: "silero", url: `${base}/files/vad.onnx`, size: vad.length, pin: "no pin known: test", archive: "none", local: "vad/p-vad", files: { model: "vad.onnx" }, license: "test" },
      { id: "p-voice", kind: "tts", type: "vits", voice: "pv", url: `${base}/files/voice.tar.bz2`, size: voiceArchive.length, sha256: sha256(voiceArchive), pin: fixture, archive: "tar.bz2", local: "tts/p-voice", files: { model: "voice.onnx", tokens: "tokens.txt" }, language: "en", speakers: 1, license: "test" },
    ],
  });
}

let manifest: Manifest;
const opts = () => ({ manifest, progress: "none" as const, download: { retryDelayMs: 10, stallTimeoutMs: 5000 } });
const cfg = (name: string, from = ""): ModelsConfig => ({ models: { profile: "pinned", from, dir: join(tmp, name) } });
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error("expected a ModelError"); }, (e) => e as ModelError);
const serveGood = () => {
  served["model.gguf"] = gguf;
  served["voice.tar.bz2"] = voiceArchive;
};

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "hearth-pin-"));
  const src = join(tmp, "src");
  mkdirSync(join(src, "p-voice"), { recursive: true });
  writeFileSync(join(src, "p-voice", "voice.onnx"), voice);
  writeFileSync(join(src, "p-voice", "tokens.txt"), "a 1\n");
  voiceArchive = tarBz2(src, "voice.tar.bz2", ["p-voice"]);
  writeFileSync(join(src, "p-voice", "tokens.txt"), "a 1\nb 2\n");
  otherArchive = tarBz2(src, "other.tar.bz2", ["p-voice"]);
  mkdirSync(join(src, "stt"));
  writeFileSync(join(src, "stt", "model.int8.onnx"), bytesOf(5000, 24));
  writeFileSync(join(src, "stt", "tokens.txt"), "x 1\n");
  served["stt.tar.bz2"] = tarBz2(join(src, "stt"), "stt.tar.bz2", ["model.int8.onnx", "tokens.txt"]);
  served["vad.onnx"] = vad;
  serveGood();
  srv = startServers(served);
  manifest = manifestFor(srv.url);
});

afterAll(() => {
  srv.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("pinned downloads over HTTP", () => {
  test("the pinned files are installed; the lock records the pinned sha256", async () => {
    serveGood();
    const config = cfg("good");
    const report = await fetchProfile(config, opts());
    expect(report.models.map((m) => m.action)).toEqual(["installed", "installed", "installed", "installed"]);
    const lock = readLock(config.models.dir);
    expect(lock.models["p-llm"]!.archive).toEqual({ name: "model.gguf", size: gguf.length, sha256: sha256(gguf) });
    expect(lock.models["p-voice"]!.archive!.sha256).toBe(sha256(voiceArchive));
    expect(sha256(readFileSync(resolveProfile(config, { manifest }).llm.file))).toBe(sha256(gguf));
  });

  test("a single file with the right size but another sha256 is refused, named, deleted, and nothing is installed", async () => {
    served["model.gguf"] = tampered(gguf);
    const config = cfg("bad-file");
    const err = await failure(fetchProfile(config, opts()));
    serveGood();
    expect(err).toBeInstanceOf(ModelError);
    expect(err.message).toContain("the download of model.gguf for llm model p-llm does not match the manifest's pin");
    expect(err.message).toContain(`expected ${gguf.length.toLocaleString("en-US")} bytes with sha256 ${sha256(gguf)}`);
    expect(err.message).toContain(`got ${gguf.length.toLocaleString("en-US")} bytes with sha256 ${sha256(tampered(gguf))}`);
    expect(err.message).toContain("It was deleted and nothing was installed. Run the same command again");
    expect(err.message).toContain(`the file published at ${srv.url}/files/model.gguf is not the one Hearth was tested with`);
    expect(existsSync(join(config.models.dir, "p-llm"))).toBe(false);
    expect(readLock(config.models.dir).models["p-llm"]).toBeUndefined();
    expect(existsSync(join(config.models.dir, ".downloads", "model.gguf"))).toBe(false);
    expect(existsSync(join(config.models.dir, ".staging"))).toBe(false);

    // the server serves the right file again: the same command now succeeds
    const report = await fetchProfile(config, opts());
    expect(report.models.find((m) => m.id === "p-llm")!.action).toBe("installed");
  });

  test("an archive that is not the pinned one is refused before it is unpacked, and deleted", async () => {
    served["voice.tar.bz2"] = otherArchive;
    const config = cfg("bad-archive");
    const err = await failure(fetchProfile(config, opts()));
    serveGood();
    expect(err.message).toContain("the download of voice.tar.bz2 for tts model p-voice does not match the manifest's pin");
    expect(err.message).toContain(`expected ${voiceArchive.length.toLocaleString("en-US")} bytes with sha256 ${sha256(voiceArchive)}`);
    expect(err.message).toContain(`got ${otherArchive.length.toLocaleString("en-US")} bytes`);
    expect(existsSync(join(config.models.dir, "p-voice"))).toBe(false);
    expect(existsSync(join(config.models.dir, ".downloads", "voice.tar.bz2"))).toBe(false);
    expect(readdirSync(config.models.dir).filter((n) => !n.startsWith("."))).not.toContain("p-voice");
  });

  test("a model installed from another file than the one now pinned is reinstalled (quick check names it)", async () => {
    serveGood();
    const config = cfg("good");
    // as if installed before the pin, from another file: the lock says so
    const lock = readLock(config.models.dir).models["p-llm"]!;
    await writeLockEntry(config.models.dir, "p-llm", { ...lock, archive: { ...lock.archive!, sha256: "0".repeat(64) }, files: { "model.gguf": { size: gguf.length, sha256: "0".repeat(64) } } });
    const entry = getProfile(manifest, "pinned").llm;
    const problems = checkModel(config.models.dir, entry, readLock(config.models.dir).models["p-llm"]);
    expect(problems.map((p) => p.reason)).toEqual(["not-pinned-file"]);
    expect(problems[0]!.message).toContain(`llm model p-llm in ${join(config.models.dir, "p-llm")} was installed from a file with sha256 ${"0".repeat(64)}, not the one the manifest pins (${sha256(gguf)})`);
    expect(() => resolveProfile(config, { manifest })).toThrow("not the one the manifest pins");
    const report = await fetchProfile(config, opts());
    expect(report.models.find((m) => m.id === "p-llm")!.action).toBe("repaired");
    expect(await verifyProfile(config, { manifest, full: true })).toEqual([]);
  });

  test("a file copied into the models folder by hand is adopted only if it is the pinned one", async () => {
    serveGood();
    const config = cfg("good");
    await writeLockEntry(config.models.dir, "p-llm", null);
    writeFileSync(join(config.models.dir, "p-llm", "model.gguf"), tampered(gguf));
    const report = await fetchProfile(config, opts());
    expect(report.models.find((m) => m.id === "p-llm")!.action).toBe("repaired");
    expect(sha256(readFileSync(join(config.models.dir, "p-llm", "model.gguf")))).toBe(sha256(gguf));

    await writeLockEntry(config.models.dir, "p-llm", null);
    const again = await fetchProfile(config, opts());
    expect(again.models.find((m) => m.id === "p-llm")!.action).toBe("adopted");
  });

  test("unpinned models stay trust-on-first-use: whatever was served is installed and recorded", async () => {
    served["vad.onnx"] = tampered(vad);
    const config = cfg("tofu");
    const report = await fetchProfile(config, opts());
    served["vad.onnx"] = vad;
    expect(report.models.find((m) => m.id === "p-vad")!.action).toBe("installed");
    expect(readLock(config.models.dir).models["p-vad"]!.files["vad.onnx"]!.sha256).toBe(sha256(tampered(vad)));
  });
});

describe("pinned files from a local folder (USB stick)", () => {
  const stick = (name: string, files: Record<string, Uint8Array>) => {
    const usb = join(tmp, name);
    mkdirSync(usb, { recursive: true });
    for (const [rel, bytes] of Object.entries(files)) {
      mkdirSync(join(usb, rel, ".."), { recursive: true });
      writeFileSync(join(usb, rel), bytes);
    }
    return usb;
  };
  const rest = () => ({ "stt.tar.bz2": served["stt.tar.bz2"]!, "vad.onnx": vad });

  test("the published files at the top of the stick are checked and installed", async () => {
    const usb = stick("usb-good", { ...rest(), "model.gguf": gguf, "voice.tar.bz2": voiceArchive });
    const config = cfg("from-usb-good", usb);
    const before = srv.requests.length;
    const report = await fetchProfile(config, opts());
    expect(srv.requests.length).toBe(before);
    expect(report.models.every((m) => m.action === "installed")).toBe(true);
  });

  test("a tampered single file on the stick is refused, naming its path and what to do", async () => {
    const usb = stick("usb-bad-file", { ...rest(), "model.gguf": tampered(gguf), "voice.tar.bz2": voiceArchive });
    const config = cfg("from-usb-bad-file", usb);
    const err = await failure(fetchProfile(config, opts()));
    expect(err).toBeInstanceOf(ModelError);
    expect(err.message).toContain(`${join(usb, "model.gguf")} (used as model.gguf for llm model p-llm) does not match the manifest's pin`);
    expect(err.message).toContain(`got ${gguf.length.toLocaleString("en-US")} bytes with sha256 ${sha256(tampered(gguf))}`);
    expect(err.message).toContain(`Nothing was installed. It is a damaged or partial copy, or another version of the file: replace it with the published file from ${srv.url}/files/model.gguf`);
    expect(existsSync(join(config.models.dir, "p-llm"))).toBe(false);
  });

  test("a truncated file in the manifest's own layout is refused by its size", async () => {
    const usb = stick("usb-layout", { ...rest(), "llm/p-llm/model.gguf": gguf.subarray(0, 1000), "voice.tar.bz2": voiceArchive });
    const err = await failure(fetchProfile(cfg("from-usb-layout", usb), opts()));
    expect(err.message).toContain(`${join(usb, "llm/p-llm/model.gguf")} (used as model.gguf for llm model p-llm) does not match the manifest's pin`);
    expect(err.message).toContain(`got 1,000 bytes.`);
  });

  test("a pinned archive already unpacked on the stick cannot be checked against its pin: it is installed as found", async () => {
    const usb = stick("usb-unpacked", { ...rest(), "model.gguf": gguf, "voice/voice.onnx": voice, "voice/tokens.txt": new TextEncoder().encode("a 1\n") });
    const report = await fetchProfile(cfg("from-usb-unpacked", usb), opts());
    expect(report.models.find((m) => m.id === "p-voice")).toMatchObject({ action: "installed", source: join(usb, "voice") });
  });

  test("another archive under the published name is refused before unpacking", async () => {
    const usb = stick("usb-bad-archive", { ...rest(), "model.gguf": gguf, "voice.tar.bz2": otherArchive });
    const config = cfg("from-usb-bad-archive", usb);
    const err = await failure(fetchProfile(config, opts()));
    expect(err.message).toContain(`${join(usb, "voice.tar.bz2")} (used as voice.tar.bz2 for tts model p-voice) does not match the manifest's pin`);
    expect(existsSync(join(config.models.dir, "p-voice"))).toBe(false);
    expect(readLock(config.models.dir).models["p-voice"]).toBeUndefined();
  });
});
