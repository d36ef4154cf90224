// scripts/fetch-models.ts (`npm run setup`) as a user runs it: exit codes and the one error line.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ROOT } from "../../support/paths.ts";

const FIXTURES = process.env.HEARTH_TEST_MODELS ?? resolve(ROOT, "../shared/models");
let tmp: string;
let configFile: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "hearth-setup-"));
  configFile = join(tmp, "config.toml");
  const text = readFileSync(join(ROOT, "config.toml"), "utf8").replace(/^dir = "models"$/m, `dir = "${join(tmp, "models")}"`);
  writeFileSync(configFile, text);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function setup(...args: string[]) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HEARTH_")) env[k] = v;
  const r = Bun.spawnSync([process.execPath, join(ROOT, "scripts/fetch-models.ts"), "--config", configFile, ...args], { cwd: tmp, env });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("npm run setup", () => {
  test("--list shows every profile with its models, sizes and state", () => {
    const r = setup("--list");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("* pi  ~");
    expect(r.stdout).toContain("sense-voice-int8-2025-09-09");
    expect(r.stdout).toContain("piper-en_US-amy-low [amy]");
    expect(r.stdout).toContain("pi-8gb");
    expect(r.stdout).toMatch(/whisper-tiny\.en-int8 +~86\.2 MB +not installed +\(local only\)/);
  });

  test("a local-only profile without --from fails with exit 1 and one error line", () => {
    const r = setup("--profile", "test");
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith("error: stt model whisper-tiny.en-int8 has no download URL");
    expect(lines[0]).toEndWith(`HEARTH_MODELS_FROM=/path/to/models npm run setup -- --config ${configFile} --profile test`);
  });

  test("--from a folder that does not exist fails with exit 1", () => {
    const r = setup("--profile", "test", "--from", "/nonexistent/usb");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: the local models folder /nonexistent/usb");
  });

  test("an unknown profile fails with exit 1; an unknown flag with exit 2", () => {
    expect(setup("--profile", "huge").stderr).toContain(`unknown model profile "huge"`);
    const bad = setup("--fast");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown argument --fast");
  });

  test("--from with a relative path is taken from the current folder; a model missing there is named", () => {
    // a small stand-in for a USB stick: only the silero VAD, as the published file name at the top level
    const usb = join(tmp, "usb");
    mkdirSync(usb);
    writeFileSync(join(usb, "silero_vad.onnx"), readFileSync(join(FIXTURES, "vad/silero-vad/silero_vad.onnx")));
    const r = setup("--profile", "test", "--from", "usb");
    expect(r.code).toBe(1); // the stt fixture is not on this stick
    expect(r.stderr).toContain(`stt model whisper-tiny.en-int8 is not in ${usb}: looked for ${usb}/stt/whisper-tiny.en-int8`);
  });

  test("installs the test profile from the fixtures, then --verify checks every sha256 (exit 0)", () => {
    const r = setup("--profile", "test", "--from", FIXTURES);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("stt  whisper-tiny.en-int8");
    expect(r.stdout).toContain(`profile test is ready in ${join(tmp, "models")} (4 models installed in`);
    const v = setup("--profile", "test", "--from", FIXTURES, "--verify");
    expect(v.code).toBe(0);
    expect(v.stdout).toContain("(all files match their sha256)");
    const list = setup("--list", "--profile", "test");
    expect(list.stdout).toMatch(/whisper-tiny\.en-int8 +~86\.2 MB +installed/);
  });
});
