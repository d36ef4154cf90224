import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_ROLES, parseRoles, resolveRole, RolesFile } from "../../../src/pipeline/roles.ts";

// A roles.json as FoloToy's own documentation shows it (simple form).
const SIMPLE = {
  "1": { start_text: "Hello, I am your friend.", prompt: "You are a friend.", max_message_count: 10 },
  "2": { start_text: "Story time.", prompt: "You tell stories.", max_message_count: 0 },
};

// The advanced form: provider fields, per-role overrides, per-toy overrides.
const ADVANCED = {
  "1": {
    start_text: "你好",
    prompt: "你是一个好朋友。",
    max_message_count: "20",
    system_prompt: "Be nice.",
    send_initial_messages: false,
    model: "gpt-4o",
    temperature: "0.3",
    max_tokens: 100,
    top_p: 0.9,
    frequency_penalty: 0.5,
    presence_penalty: 0.1,
    voice_name: "zh-CN-XiaoxiaoNeural",
    language: "zh",
    llm_type: "openai",
    llm_config: { api_key: "sk-x", model: "gpt-4o" },
    stt_type: "azure-stt",
    stt_config: { region: "eastus" },
    tts_type: "edge-tts",
    tts_config: { voice_name: "zh-CN-XiaoxiaoNeural" },
  },
  "2": { prompt: "Tell stories.", start_text: null },
  toys: { e465b82b9ec8: { "2": { voice_name: "amy", temperature: 1.1 } } },
};

describe("parseRoles", () => {
  test("simple form loads unchanged", () => {
    const r = parseRoles(JSON.stringify(SIMPLE));
    if (!r.ok) throw new Error(r.error);
    expect(r.config.roles["1"]).toEqual(SIMPLE["1"]);
    expect(r.ignored).toEqual([]);
  });

  test("advanced form loads; provider fields are accepted, and those without a local meaning reported once as ignored", () => {
    const r = parseRoles(JSON.stringify(ADVANCED));
    if (!r.ok) throw new Error(r.error);
    expect(r.config.roles["1"]).toMatchObject({ max_message_count: 20, temperature: 0.3, send_initial_messages: false, language: "zh", model: "gpt-4o" });
    expect((r.config.roles["1"] as any).llm_config).toBeUndefined();
    expect(r.ignored.sort()).toEqual([
      "llm_config.api_key",
      "llm_config.model",
      "llm_type",
      "model",
      "stt_config.region",
      "stt_type",
      "tts_config.voice_name (the role's own voice_name wins)",
      "tts_type",
    ]);
    expect(r.mapped).toEqual([]);
    expect(r.config.roles["2"]!.start_text).toBeUndefined();
    expect(r.config.toys.e465b82b9ec8!["2"]).toEqual({ voice_name: "amy", temperature: 1.1 });
  });

  test("errors name the role and the problem", () => {
    expect(parseRoles("{ not json")).toMatchObject({ ok: false, error: expect.stringContaining("not valid JSON") });
    expect(parseRoles(JSON.stringify({ "1": { start_text: "hi" } }))).toEqual({ ok: false, error: 'role "1" has no "prompt" (required)' });
    expect(parseRoles(JSON.stringify({ "3": { prompt: "x", temperature: "hot" } }))).toMatchObject({ ok: false, error: expect.stringContaining('role "3": "temperature"') });
    expect(parseRoles("{}")).toMatchObject({ ok: false });
    expect(parseRoles(JSON.stringify({ toys: { "bad sn": {} }, "1": { prompt: "x" } }))).toMatchObject({ ok: false, error: expect.stringContaining("bad sn") });
  });
});

describe("resolveRole", () => {
  const r = parseRoles(JSON.stringify(ADVANCED));
  if (!r.ok) throw new Error(r.error);
  test("per-toy overrides apply to that toy only", () => {
    expect(resolveRole(r.config, "e465b82b9ec8", 2).role).toMatchObject({ prompt: "Tell stories.", voice_name: "amy", temperature: 1.1 });
    expect(resolveRole(r.config, "aaaaaaaaaaaa", 2).role.voice_name).toBeUndefined();
  });
  test("an undefined button falls back to the first role", () => {
    expect(resolveRole(r.config, "aaaaaaaaaaaa", 6).key).toBe("1");
  });
});

describe("RolesFile", () => {
  let dir = "";
  let roles: RolesFile | undefined;
  afterEach(() => {
    roles?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("creates the default roles (1..7, role 1 English) when missing", () => {
    dir = mkdtempSync(join(tmpdir(), "roles-"));
    const file = join(dir, "sub", "roles.json");
    roles = new RolesFile(file);
    roles.load();
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")))).toEqual(["1", "2", "3", "4", "5", "6", "7"]);
    expect(roles.current.roles["1"]).toEqual(DEFAULT_ROLES["1"]!);
    expect(roles.current.roles["1"]!.language).toBe("en");
  });

  test("watches the file: a good edit applies, a broken edit keeps the last good roles, an editor's replace-by-rename is seen", async () => {
    dir = mkdtempSync(join(tmpdir(), "roles-"));
    const file = join(dir, "roles.json");
    writeFileSync(file, JSON.stringify(SIMPLE));
    let reloads = 0;
    roles = new RolesFile(file, () => reloads++);
    roles.load();
    roles.watch(50);
    expect(reloads).toBe(1);

    writeFileSync(file, JSON.stringify({ ...SIMPLE, "1": { prompt: "Changed." } }));
    await waitFor(() => roles!.current.roles["1"]!.prompt === "Changed.");

    writeFileSync(file, '{"1": {"start_text": "no prompt"}}');
    await waitFor(() => roles!.lastError !== undefined);
    expect(roles.lastError).toContain(file);
    expect(roles.lastError).toContain('"prompt"');
    expect(roles.current.roles["1"]!.prompt).toBe("Changed.");

    writeFileSync(file, "{ broken");
    await waitFor(() => roles!.lastError!.includes("JSON"));
    expect(roles.current.roles["1"]!.prompt).toBe("Changed.");

    // the console's way: validated first, so a bad text changes nothing
    expect(roles.write('{"1": {}}')).toEqual({ ok: false, error: 'role "1" has no "prompt" (required)' });
    expect(roles.current.roles["1"]!.prompt).toBe("Changed.");
    expect(roles.write(JSON.stringify({ "1": { prompt: "Written." } }))).toEqual({ ok: true });
    expect(roles.current.roles["1"]!.prompt).toBe("Written.");
    expect(JSON.parse(roles.read())).toEqual({ "1": { prompt: "Written." } });

    // vim/VS Code style: write a temp file, rename over the original
    writeFileSync(join(dir, "roles.json.swp"), JSON.stringify({ "1": { prompt: "Renamed in." } }));
    renameSync(join(dir, "roles.json.swp"), file);
    await waitFor(() => roles!.current.roles["1"]!.prompt === "Renamed in.");
    expect(roles.lastError).toBeUndefined();
  });
});

async function waitFor(cond: () => boolean, ms = 3000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await Bun.sleep(20);
  }
}
