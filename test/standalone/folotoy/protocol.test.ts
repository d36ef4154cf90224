import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command, parseIncoming, topics } from "../../../src/devices/folotoy/mqtt.ts";
import { ToySession } from "../../../src/devices/folotoy/session.ts";
import { TokenStore } from "../../../src/devices/folotoy/tokens.ts";
import { buildMessages, roleChatOptions, selectHistory } from "../../../src/pipeline/prompt.ts";
import type { Role } from "../../../src/pipeline/roles.ts";

const SN = "e465b82b9ec8";

describe("MQTT envelopes", () => {
  test("topics", () => {
    expect(topics.eventPost(SN)).toBe("/user/folotoy/e465b82b9ec8/thing/event/post");
    expect(topics.commandCall(SN)).toBe("/user/folotoy/e465b82b9ec8/thing/command/call");
    expect(topics.commandCallAck(SN)).toBe("/user/folotoy/e465b82b9ec8/thing/command/callAck");
    expect(topics.sysCommandCall(SN)).toBe("/sys/folotoy/e465b82b9ec8/thing/command/call");
  });

  test("commands are {msgId, identifier, inputParams}", () => {
    expect(JSON.stringify(command(4, "audioplay", { recordingId: 4, order: 3, url: "http://h:8082/voice-ab.mp3" }))).toBe(
      '{"msgId":4,"identifier":"audioplay","inputParams":{"recordingId":4,"order":3,"url":"http://h:8082/voice-ab.mp3"}}',
    );
  });

  test("toy events, data, acks, relays and /sys/config are read liberally", () => {
    expect(parseIncoming(topics.eventPost(SN), '{"msgId":1,"identifier":"login","outParams":{"role":1}}')).toEqual({
      kind: "event", sn: SN, msgId: 1, identifier: "login", params: { role: 1 },
    });
    expect(parseIncoming(topics.dataPost(SN), '{"msgId":"2","identifier":"real_time_data"}')).toEqual({
      kind: "data", sn: SN, msgId: 2, identifier: "real_time_data", params: {},
    });
    expect(parseIncoming(topics.commandCallAck(SN), '{"msgId":7,"identifier":"audioplay","result":"1"}')).toEqual({
      kind: "ack", sn: SN, msgId: 7, identifier: "audioplay", result: 1,
    });
    expect(parseIncoming(topics.sysCommandCall(SN), '{"msgId":9,"identifier":"iwantplay","inputParams":{"text":"hi"}}')).toEqual({
      kind: "relay", sn: SN, msgId: 9, identifier: "iwantplay", params: { text: "hi" },
    });
    expect(parseIncoming("/sys/config", '{"identifier":"load_roles_config"}')).toMatchObject({ kind: "sysconfig", identifier: "load_roles_config", msgId: null });
    expect(parseIncoming(topics.eventPost(SN), "not json")).toMatchObject({ kind: "invalid" });
    expect(parseIncoming(topics.eventPost(SN), "[1]")).toMatchObject({ kind: "invalid" });
    expect(parseIncoming(topics.eventPost("a/b"), "{}")).toBeNull();
    expect(parseIncoming("/user/folotoy/x!/thing/event/post", '{"identifier":"login"}')).toMatchObject({ kind: "invalid" });
    expect(parseIncoming("/other", "{}")).toBeNull();
  });
});

describe("tokens", () => {
  test("one 32-hex token per toy, stable, persisted atomically and read back after a restart", () => {
    const dir = mkdtempSync(join(tmpdir(), "tokens-"));
    try {
      const file = join(dir, "tokens.json");
      const a = new TokenStore(file);
      a.load();
      const t = a.tokenFor(SN)!;
      expect(t).toMatch(/^[0-9a-f]{32}$/);
      expect(a.tokenFor(SN)).toBe(t);
      expect(a.tokenFor("aabbccddeeff")).not.toBe(t);
      a.update(SN, { role: 3, host: "192.168.1.5" });
      expect(JSON.parse(readFileSync(file, "utf8")).toys[SN]).toMatchObject({ token: t, role: 3, host: "192.168.1.5" });
      const b = new TokenStore(file);
      b.load();
      expect(b.snOf(t)).toBe(SN);
      expect(b.get(SN)!.role).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const count = (t: string) => t.split(/\s+/).filter(Boolean).length;

describe("history and messages", () => {
  const history = Array.from({ length: 6 }, (_, i) => ({ user: `question ${i}`, assistant: `answer number ${i}` }));

  test("newest exchanges, bounded by count and by tokens", () => {
    expect(selectHistory(history, 2, 10_000, count).map((e) => e.user)).toEqual(["question 4", "question 5"]);
    expect(selectHistory(history, 0, 10_000, count)).toEqual([]);
    // each exchange costs 2 + 3 + 2*8 = 21 tokens
    expect(selectHistory(history, 10, 50, count).map((e) => e.user)).toEqual(["question 4", "question 5"]);
    expect(selectHistory(history, 10, 20, count)).toEqual([]);
  });

  const role: Role = { prompt: "Be a dog.", start_text: "Woof!", max_message_count: 3 };

  test("[system, prompt, start_text] + history + transcript", () => {
    const { messages, historyUsed } = buildMessages({ role, systemPrompt: "You are a toy.", history, transcript: "hi", countTokens: count, budgetTokens: 10_000 });
    expect(historyUsed).toBe(3);
    expect(messages.slice(0, 3)).toEqual([
      { role: "system", content: "You are a toy." },
      { role: "user", content: "Be a dog." },
      { role: "assistant", content: "Woof!" },
    ]);
    expect(messages.slice(3, 5)).toEqual([
      { role: "user", content: "question 3" },
      { role: "assistant", content: "answer number 3" },
    ]);
    expect(messages.at(-1)).toEqual({ role: "user", content: "hi" });
    expect(messages.length).toBe(3 + 6 + 1);
  });

  test("role system_prompt wins; send_initial_messages false drops the preamble; a tight budget drops history", () => {
    const own = buildMessages({ role: { ...role, system_prompt: "Own." }, systemPrompt: "Global.", history: [], transcript: "x", countTokens: count, budgetTokens: 1000 });
    expect(own.messages[0]).toEqual({ role: "system", content: "Own." });
    const bare = buildMessages({ role: { ...role, send_initial_messages: false }, systemPrompt: "Global.", history, transcript: "x", countTokens: count, budgetTokens: 1000 });
    expect(bare.messages[0]).toEqual({ role: "user", content: "question 3" });
    const tight = buildMessages({ role, systemPrompt: "Global.", history, transcript: "x", countTokens: count, budgetTokens: 50 });
    expect(tight.historyUsed).toBe(0);
    expect(tight.messages.length).toBe(4);
  });

  test("role overrides become chat options", () => {
    expect(roleChatOptions({ prompt: "p", temperature: 0.2, max_tokens: 50, top_p: 0.5, frequency_penalty: 0.1, presence_penalty: 0.2, grammar: 'root ::= "a"' })).toEqual({
      maxTokens: 50, temperature: 0.2, topP: 0.5, frequencyPenalty: 0.1, presencePenalty: 0.2, grammar: 'root ::= "a"',
    });
  });

  test("battery and firmware come from reports", () => {
    const s = new ToySession(SN);
    s.applyData("data_config", { software_version: "v25.1", role: 2 });
    s.applyData("real_time_data", { battery: "87" });
    expect(s.status()).toMatchObject({ sn: SN, firmware: "v25.1", battery: 87 });
  });
});
