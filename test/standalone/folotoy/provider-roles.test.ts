// Role-level provider configs keep their meaning (issue 16.5): what FoloToy's server reads from
// stt_config / tts_config / llm_config becomes the local role fields, the rest is ignored with one
// log line, and the result reaches the engines (recognizer language, chat options, voice, speed).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChatOptions, SynthesizeOptions, TranscribeOptions } from "../../../src/engines/types.ts";
import { setLogLevel } from "../../../src/log.ts";
import { parseRoles, RolesFile } from "../../../src/pipeline/roles.ts";
import { someAudio } from "../../support/fake-engines.ts";
import { fakePipeline } from "../../support/fake-pipeline.ts";

// Role 1 of FoloToy's "full roles.json" example (folotoy-doc, roles_config.mdx), keys and all.
const FULL_ROLE = {
  start_text: "你好，我是微眯",
  prompt: "你扮演一个孩子的小伙伴",
  max_message_count: 5,
  stt_type: "openai-whisper",
  stt_config: { language: "zh" },
  tts_type: "openai-tts",
  tts_config: { key: "sk-BBBB", voice_name: "alloy" },
  llm_type: "openai",
  llm_config: { api_base: "https://xxxx.ccc/v1", key: "sk-AAAA", model: "gpt-3.5-turbo", temperature: 0.7, max_tokens: 800, top_p: 0.95, frequency_penalty: 0, presence_penalty: 0 },
};

function parsed(roles: object) {
  const r = parseRoles(JSON.stringify(roles));
  if (!r.ok) throw new Error(r.error);
  return r;
}

describe("provider configs in roles.json", () => {
  test("stt_config.language, tts_config.voice_name and llm_config's sampling settings become the role's", () => {
    const r = parsed({ "1": FULL_ROLE });
    expect(r.config.roles["1"]).toEqual({
      start_text: "你好，我是微眯",
      prompt: "你扮演一个孩子的小伙伴",
      max_message_count: 5,
      language: "zh",
      voice_name: "alloy",
      temperature: 0.7,
      max_tokens: 800,
      top_p: 0.95,
      frequency_penalty: 0,
      presence_penalty: 0,
    });
    expect(r.mapped).toEqual([
      "1: llm_config.temperature -> temperature",
      "1: llm_config.max_tokens -> max_tokens",
      "1: llm_config.top_p -> top_p",
      "1: llm_config.frequency_penalty -> frequency_penalty",
      "1: llm_config.presence_penalty -> presence_penalty",
      "1: stt_config.language -> language",
      "1: tts_config.voice_name -> voice_name",
    ]);
    expect(r.ignored.sort()).toEqual(["llm_config.api_base", "llm_config.key", "llm_config.model", "llm_type", "stt_type", "tts_config.key", "tts_type"]);
  });

  test("a locale-named cloud voice says the role's language (FoloToy's multilingual example)", () => {
    const r = parsed({
      "1": { prompt: "x", tts_type: "openai-tts", tts_config: { model: "tts-1", voice_name: "alloy" } },
      "2": { prompt: "x", tts_type: "edge-tts", tts_config: { voice_name: "zh-HK-HiuMaanNeural" } },
      "3": { prompt: "x", tts_type: "edge-tts", tts_config: { voice_name: "en-US-AriaNeural" } },
      "4": { prompt: "x", tts_type: "edge-tts", tts_config: { voice_name: "ja-JP-NanamiNeural" } },
      "5": { prompt: "x", voice_name: "zh-CN-liaoning-XiaobeiNeural" },
    });
    const lang = (k: string) => r.config.roles[k]!.language;
    expect([lang("1"), lang("2"), lang("3"), lang("4"), lang("5")]).toEqual([undefined, "zh", "en", "ja", "zh"]);
    expect(r.mapped).toContain("2: voice_name zh-HK-HiuMaanNeural -> language zh");
    expect(r.mapped).toContain("5: voice_name zh-CN-liaoning-XiaobeiNeural -> language zh");
  });

  test("the role's own fields win; a value out of range is ignored with the reason; edge-tts rate is a speed; locales are languages", () => {
    const r = parsed({
      "1": { prompt: "x", temperature: 0.2, language: "zh-CN", llm_config: { temperature: 0.9, top_p: 7 }, tts_config: { rate: "+20%" }, stt_config: { language: "en" } },
      "2": { prompt: "x", tts_config: { speed: "0.8", voice: "aishell3:4" } },
      toys: { e465b82b9ec8: { "1": { llm_config: { max_tokens: "120" } } } },
    });
    expect(r.config.roles["1"]).toMatchObject({ temperature: 0.2, language: "zh", speed: 1.2 });
    expect(r.config.roles["1"]!.top_p).toBeUndefined();
    expect(r.ignored).toContain("llm_config.temperature (the role's own temperature wins)");
    expect(r.ignored).toContain("stt_config.language (the role's own language wins)");
    expect(r.ignored).toContain("llm_config.top_p (7 is not a valid top_p)");
    expect(r.config.roles["2"]).toMatchObject({ speed: 0.8, voice_name: "aishell3:4" });
    expect(r.config.toys.e465b82b9ec8!["1"]).toEqual({ max_tokens: 120 });
    expect(r.mapped).toContain("toys.e465b82b9ec8.1: llm_config.max_tokens -> max_tokens");
  });

  test("the roles file says once what it mapped and what it ignored", () => {
    const dir = mkdtempSync(join(tmpdir(), "roles-providers-"));
    const lines: string[] = [];
    const { log } = console;
    console.log = (...args: unknown[]) => void lines.push(args.join(" "));
    setLogLevel("info");
    try {
      writeFileSync(join(dir, "roles.json"), JSON.stringify({ "1": FULL_ROLE }));
      const roles = new RolesFile(join(dir, "roles.json"));
      roles.load();
      roles.close();
    } finally {
      console.log = log;
      setLogLevel("error");
      rmSync(dir, { recursive: true, force: true });
    }
    const mapped = lines.filter((l) => l.includes("cloud-provider settings used"));
    const ignored = lines.filter((l) => l.includes("ignoring cloud-provider fields"));
    expect(mapped).toHaveLength(1);
    expect(mapped[0]).toContain("1: stt_config.language -> language");
    expect(ignored).toHaveLength(1);
    expect(ignored[0]).toContain("llm_config.api_base");
  });
});

describe("what the role's provider settings do in a turn", () => {
  setLogLevel("error");
  const fake = fakePipeline({
    roles: {
      "1": { ...FULL_ROLE, tts_config: { voice_name: "alloy", rate: "-10%" } },
      "2": { prompt: "You tell stories.", tts_config: { voice_name: "en-US-AriaNeural" } },
    },
  });
  afterAll(() => fake.cleanup());
  const heard: (string | undefined)[] = [];
  const chats: ChatOptions[] = [];
  const spoken: SynthesizeOptions[] = [];
  const { stt, llm, tts } = fake;
  const transcribe = stt.transcribe.bind(stt);
  stt.transcribe = (samples: Float32Array, rate: number, opts: TranscribeOptions = {}) => (heard.push(opts.language), transcribe(samples, rate, opts));
  const chat = llm.chat.bind(llm);
  llm.chat = (messages, opts, onText) => (chats.push(opts), chat(messages, opts, onText));
  const synthesize = tts.synthesize.bind(tts);
  tts.synthesize = (text: string, opts: SynthesizeOptions) => (spoken.push(opts), synthesize(text, opts));

  async function turn(role: string) {
    const t = fake.pipeline.turns.start({ key: { frontEnd: "folotoy", device: "aabbccddee01", role }, input: { kind: "audio", ...someAudio() }, endedAt: Date.now() });
    for await (const _ of t.events);
    return { record: await t.finished, voice: t.voice };
  }

  test("stt_config.language reaches the recognizer, llm_config the model, tts_config the voice of the role's language", async () => {
    const { record, voice } = await turn("1");
    expect(record.outcome).toBe("replied");
    expect(heard).toEqual(["zh"]);
    expect(chats[0]).toMatchObject({ temperature: 0.7, maxTokens: 800, topP: 0.95, frequencyPenalty: 0, presencePenalty: 0 });
    // "alloy" among the voices of the role's language (the fake profile: tone = en, tonezh = zh)
    expect(voice).toBe("tonezh:0");
    expect(spoken.length).toBeGreaterThan(0);
    expect(spoken.every((o) => o.voice === "tonezh:0" && o.speed === 0.9)).toBe(true);
  });

  test("a role named only by its cloud voice speaks (and is heard) in that voice's language", async () => {
    heard.length = 0;
    spoken.length = 0;
    const { voice } = await turn("2");
    expect(heard).toEqual(["en"]);
    expect(voice).toBe("tone:0");
    expect(spoken.every((o) => o.voice === "tone:0")).toBe(true);
  });
});
