import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig } from "../../../src/config/load.ts";
import { ROOT } from "../../support/paths.ts";
import { autoThreads, resolveThreads } from "../../../src/config/threads.ts";
import { availableParallelism } from "node:os";

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "hearth-config-")), "config.toml");
  writeFileSync(file, text);
  return file;
}

const original = await Bun.file(DEFAULT_CONFIG_FILE).text();

describe("config", () => {
  test("the shipped config.toml is valid and keeps state outside the checkout", () => {
    const config = loadConfig(DEFAULT_CONFIG_FILE, {});
    expect(config.http.port).toBe(8080);
    expect(config.models.profile).toBe("pi");
    expect(config.state.dir).toBe(join(homedir(), ".local/state/hearth"));
    expect(config.toy.roles_file).toBe(join(config.state.dir, "roles.json"));
  });

  test("every setting in the shipped file has a comment above it", () => {
    const lines = original.split("\n");
    lines.forEach((line, i) => {
      if (/^[a-z_]+\s*=/.test(line)) {
        let j = i - 1;
        while (j >= 0 && lines[j]!.startsWith("#") === false && /^[a-z_]+\s*=/.test(lines[j]!)) j--;
        expect({ line, commented: lines[j]?.startsWith("#") ?? false }).toEqual({ line, commented: true });
      }
    });
  });

  test("HEARTH_<SECTION>_<KEY> overrides the file, typed like the setting", () => {
    const config = loadConfig(DEFAULT_CONFIG_FILE, {
      HEARTH_HTTP_PORT: "9000",
      HEARTH_MODELS_PROFILE: "test",
      HEARTH_MQTT_ACCEPT_UNKNOWN_TOYS: "false",
      HEARTH_HTTP_API_KEYS: "a, b",
      HEARTH_TTS_VOICE_MAP: '{"alloy":"amy"}',
      HEARTH_STATE_DIR: "/var/lib/hearth",
    });
    expect(config.http.port).toBe(9000);
    expect(config.models.profile).toBe("test");
    expect(config.mqtt.accept_unknown_toys).toBe(false);
    expect(config.http.api_keys).toEqual(["a", "b"]);
    expect(config.tts.voice_map).toEqual({ alloy: "amy" });
    expect(config.toy.roles_file).toBe("/var/lib/hearth/roles.json");
  });

  test("--config picks another file; relative paths resolve against its folder", () => {
    const file = writeConfig(original.replace('dir = "models"', 'dir = "my-models"'));
    const config = loadConfig(file, {});
    expect(config.file).toBe(file);
    expect(config.models.dir).toBe(join(file, "..", "my-models"));
  });

  const bad: [string, string, Record<string, string>, RegExp][] = [
    ["an unknown key", original.replace("[http]\n", "[http]\nprot = 1\n"), {}, /\[http\]: unknown setting "prot"/],
    ["an unknown section", original + "\n[htpp]\nport = 1\n", {}, /unknown setting "htpp"/],
    ["a wrong type", original.replace("port = 8080", 'port = "eighty"'), {}, /\[http\] port: .*number/],
    ["an out-of-range value", original, { HEARTH_HTTP_PORT: "70000" }, /\[http\] port: .*65535/],
    ["a bad enum", original, { HEARTH_LOG_LEVEL: "loud" }, /\[log\] level: .*"debug"/],
    ["an env var naming no setting", original, { HEARTH_HTTP_PROT: "1" }, /HEARTH_HTTP_PROT names no setting: \[http\] has host, port/],
    ["a non-number in env", original, { HEARTH_LLM_THREADS: "two" }, /HEARTH_LLM_THREADS=two: expected "auto" or a number/],
    ["broken TOML", "[http\nport = 1", {}, /not valid TOML/],
  ];
  for (const [name, text, env, message] of bad) {
    test(`${name} stops the start with a message naming it`, () => {
      const file = writeConfig(text);
      expect(() => loadConfig(file, env)).toThrow(ConfigError);
      expect(() => loadConfig(file, env)).toThrow(message);
    });
  }

  test("a short file: missing keys take the shipped defaults, and one typo is one error line", () => {
    const config = loadConfig(writeConfig("[http]\nport = 9123\n[llm]\nthreads = 1\n"), {});
    expect(config.http.port).toBe(9123);
    expect(config.http.host).toBe("0.0.0.0");
    expect(config.llm.threads).toBe(1);
    expect(config.llm.context_size).toBe(4096);
    expect(config.safety.level).toBe("standard");
    const typo = writeConfig("[http]\nprot = 9000\n");
    let message = "";
    try {
      loadConfig(typo, {});
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("["))).toEqual(['[http]: unknown setting "prot"']);
  });

  test('threads = "auto" splits the cores: never more runnable threads than the board has', () => {
    expect(autoThreads(2)).toEqual({ stt: 1, llm: 1, tts: 1 });
    expect(autoThreads(4)).toEqual({ stt: 1, llm: 2, tts: 1 }); // a Pi 4 or 5
    expect(autoThreads(8)).toEqual({ stt: 2, llm: 4, tts: 2 });
    expect(resolveThreads({ stt: { threads: "auto", language: "auto" }, llm: { threads: 3 } as any, tts: { threads: "auto" } as any }, 4)).toEqual({ stt: 1, llm: 3, tts: 1 });
    const config = loadConfig(DEFAULT_CONFIG_FILE, { HEARTH_LLM_THREADS: "3", HEARTH_TTS_THREADS: "auto" });
    expect(config.llm.threads).toBe(3);
    expect(config.tts.threads).toBe(autoThreads(availableParallelism()).tts);
  });

  test("a missing file is a clear error", () => {
    expect(() => loadConfig("/nonexistent/hearth.toml", {})).toThrow(/cannot read config file \/nonexistent\/hearth.toml/);
  });
});

describe("bun src/main.ts", () => {
  test("refuses to start on a config typo: exit 78 (EX_CONFIG, not restarted by systemd), one clear line, no stack trace", async () => {
    const file = writeConfig(original.replace("[llm]\n", "[llm]\nthreds = 2\n"));
    const proc = Bun.spawn(["bun", "src/main.ts", "--config", file], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    expect(code).toBe(78);
    expect(stderr).toContain('[llm]: unknown setting "threds"');
    expect(stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });
});
