// The model calling a stock device's tools (MCP) in a spoken turn, end to end: the simulator plays
// the firmware (hello with features.mcp, tools/list, tools/call answered as mcp_server.cc does)
// over the real WebSocket, with the real recognizer, voice, Opus and pipeline. The tiny fixture
// LLM is random and never chooses a tool by itself (a turn cannot force one), so the pipeline
// here runs a scripted LLM that answers with a tool call and then text; the last test shows,
// with the real node-llama-cpp engine, that a device's tools as the turn offers them reach the
// model (in its prompt, and as a grammar-constrained call when one is forced).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { defaultTools, SimXiaozhi, type SimTool } from "../../../scripts/lib/xiaozhi-simulator.ts";
import type { ChatMessage, ToolCall } from "../../../src/engines/types.ts";
import { offeredTools } from "../../../src/pipeline/tool-loop.ts";
import type { DeviceTools } from "../../../src/pipeline/types.ts";
import { FakeLlm } from "../../support/fake-engines.ts";
import { startTestXiaozhi, testEngines, UTT, waitFor, type TestXiaozhi } from "./helpers.ts";

const PACE = 4;
const ROLES = {
  "1": { prompt: "You are a helpful speaker. You can change your volume.", device_tools: ["self.get_device_status", "self.audio_speaker.set_volume"] },
  "2": { prompt: "You are an owl." },
};
const setVolume = (volume: number): ToolCall => ({ id: "call_1", name: "self.audio_speaker.set_volume", arguments: JSON.stringify({ volume }) });

beforeAll(async () => {
  await testEngines();
}, 120_000);

describe("a role with device_tools, on a device with MCP", () => {
  let h: TestXiaozhi;
  const llm = new FakeLlm();
  beforeAll(async () => {
    h = await startTestXiaozhi({ roles: ROLES, llm, env: { HEARTH_XIAOZHI_ROLE: "1", HEARTH_XIAOZHI_DEVICE_ROLES: JSON.stringify({ "aa:bb:cc:00:00:33": "2" }) } });
  }, 60_000);
  afterAll(() => h.stop());
  beforeEach(() => {
    llm.seen.length = 0;
    llm.options.length = 0;
  });

  test("the model's tool call reaches the device as JSON-RPC tools/call over the WebSocket, and the reply goes on with its result", async () => {
    llm.script = [{ text: "Okay.", toolCalls: [setVolume(30)] }, { text: "It is quieter now." }];
    const dev = new SimXiaozhi({ ota: h.ota, mac: "aa:bb:cc:00:00:31" });
    try {
      await dev.boot();
      await dev.connect();
      await waitFor(() => (h.xiaozhi.session("aabbcc000031")?.tools.length ?? 0) === 2, 5000, "the device's tools");
      expect(dev.volume).toBe(70);

      const turn = await dev.say(UTT(1), { mode: "manual", pace: PACE });
      expect(turn.error).toBeUndefined();
      expect(dev.volume).toBe(30);
      expect(dev.mcpRequests).toEqual(["initialize", "tools/list", "tools/call"]);
      // the text before the call is spoken, then the words that use its result, in one reply
      expect(turn.sentences).toEqual(["Okay.", "It is quieter now."]);
      expect(turn.badFrames).toBe(0);
      const wire = dev.received.map((r) => r.message);
      const call = wire.findIndex((m) => m.type === "mcp" && m.payload?.method === "tools/call");
      expect(wire[call].payload).toEqual({ jsonrpc: "2.0", id: expect.any(Number), method: "tools/call", params: { name: "self.audio_speaker.set_volume", arguments: { volume: 30 } } });
      expect(wire.findIndex((m) => m.type === "tts" && m.state === "sentence_start" && m.text === "It is quieter now.")).toBeGreaterThan(call);
      expect(wire.filter((m) => m.type === "tts").map((m) => m.state)).toEqual(["start", "sentence_start", "sentence_start", "stop"]);

      // the model saw the offered tools, then the device's answer
      expect(llm.options[0]!.tools!.map((t) => t.name)).toEqual(["self.get_device_status", "self.audio_speaker.set_volume"]);
      expect(llm.seen[1]!.at(-1)).toEqual({ role: "assistant", content: "Okay.", toolCalls: [{ ...setVolume(30), result: "true" }] });

      const record = h.turns().find((t) => t.sn === "aabbcc000031")!;
      expect(record).toMatchObject({ outcome: "replied", reply: "Okay. It is quieter now.", toolCalls: [{ name: "self.audio_speaker.set_volume", arguments: '{"volume":30}', outcome: "ok", result: "true" }] });
      expect(h.pipeline.conversations.history({ frontEnd: "xiaozhi", device: "aabbcc000031", role: "1" }).map((e) => e.assistant)).toEqual(["Okay. It is quieter now."]);
    } finally {
      dev.close();
    }
  }, 60_000);

  test("a tool the device refuses (isError) is a result the model reads: the reply goes on, the volume is unchanged", async () => {
    llm.script = [{ text: "", toolCalls: [setVolume(300)] }, { text: "I cannot go that loud." }];
    const dev = new SimXiaozhi({ ota: h.ota, mac: "aa:bb:cc:00:00:32" });
    try {
      await dev.boot();
      await dev.connect();
      await waitFor(() => (h.xiaozhi.session("aabbcc000032")?.tools.length ?? 0) === 2, 5000, "the device's tools");
      const turn = await dev.say(UTT(1), { mode: "manual", pace: PACE });
      expect(turn.sentences).toEqual(["I cannot go that loud."]);
      expect(dev.volume).toBe(70);
      const record = h.turns().find((t) => t.sn === "aabbcc000032")!;
      expect(record.toolCalls).toMatchObject([{ outcome: "error", result: "error: Missing valid argument: volume" }]);
      expect((llm.seen[1]!.at(-1) as ChatMessage).toolCalls![0]!.result).toBe("error: Missing valid argument: volume");
    } finally {
      dev.close();
    }
  }, 60_000);

  test("barge-in while the device's tool has not answered: the turn stops at once, the late answer is ignored, the device talks on", async () => {
    llm.script = [{ text: "One moment.", toolCalls: [{ id: "call_1", name: "self.get_device_status", arguments: "{}" }] }, { text: "Never said." }];
    let answered = false;
    const slow: SimTool = {
      name: "self.get_device_status",
      description: "Provides the real-time information of the device.",
      inputSchema: { type: "object", properties: {} },
      call: async () => {
        await Bun.sleep(1500);
        answered = true;
        return JSON.stringify({ audio_speaker: { volume: 70 } });
      },
    };
    const dev = new SimXiaozhi({ ota: h.ota, mac: "aa:bb:cc:00:00:35", tools: [slow] });
    try {
      await dev.boot();
      await dev.connect();
      await waitFor(() => (h.xiaozhi.session("aabbcc000035")?.tools.length ?? 0) === 1, 5000, "the device's tools");
      const turn = await dev.say(UTT(1), { mode: "manual", pace: PACE, abortAfterMs: 200 });
      expect(answered).toBe(false); // the abort came while the call was pending
      expect(dev.mcpRequests.at(-1)).toBe("tools/call");
      expect(turn.sentences).toEqual(["One moment."]);
      expect(dev.lastAbort!.ttsStopMs!).toBeLessThan(300);
      await waitFor(() => h.turns().some((t) => t.sn === "aabbcc000035"), 5000, "the turn's record");
      const record = h.turns().find((t) => t.sn === "aabbcc000035")!;
      expect(record.outcome).toBe("cancelled");
      expect(record.toolCalls).toMatchObject([{ name: "self.get_device_status", outcome: "cancelled" }]);
      expect(llm.seen).toHaveLength(1); // nothing was generated after the call

      await waitFor(() => answered, 5000, "the device's late answer");
      llm.script = [{ text: "Hello again." }];
      const next = await dev.say(UTT(5), { mode: "manual", pace: PACE });
      expect(next.sentences).toEqual(["Hello again."]);
    } finally {
      dev.close();
    }
  }, 60_000);

  test("unchanged without tools: a role without device_tools, and a device without MCP", async () => {
    llm.script = [{ text: "Hello there.", toolCalls: [setVolume(10)] }];
    const owl = new SimXiaozhi({ ota: h.ota, mac: "aa:bb:cc:00:00:33" }); // role 2: no device_tools
    const plain = new SimXiaozhi({ ota: h.ota, mac: "aa:bb:cc:00:00:34", mcp: false }); // role 1, but no MCP
    try {
      for (const dev of [owl, plain]) {
        await dev.boot();
        await dev.connect();
      }
      await waitFor(() => (h.xiaozhi.session("aabbcc000033")?.tools.length ?? 0) === 2, 5000, "the device's tools");
      for (const dev of [owl, plain]) {
        llm.options.length = 0;
        const turn = await dev.say(UTT(5), { mode: "manual", pace: PACE });
        expect(turn.sentences).toEqual(["Hello there."]);
        expect(llm.options).toHaveLength(1);
        expect(llm.options[0]!.tools).toBeUndefined();
        expect(dev.volume).toBe(70);
      }
      expect(owl.mcpRequests).toEqual(["initialize", "tools/list"]);
      expect(plain.mcpRequests).toEqual([]);
    } finally {
      owl.close();
      plain.close();
    }
  }, 60_000);
});

describe("the real engine (node-llama-cpp on the fixture model)", () => {
  test("a device's tools, as a turn offers them, reach the model: documented in its prompt, and a forced call is one of them with valid arguments", async () => {
    const { llm } = await testEngines();
    const listed = defaultTools(new SimXiaozhi({ ota: "http://127.0.0.1:1/" })); // a stock board's tools, as it lists them
    const provider: DeviceTools = { list: () => listed, call: async () => ({ text: "true", isError: false }) };
    const tools = offeredTools({ prompt: "", device_tools: true }, provider, llm);
    expect(tools.map((t) => t.name)).toEqual(["self.get_device_status", "self.audio_speaker.set_volume"]);

    const messages: ChatMessage[] = [{ role: "user", content: "Make it quieter." }];
    const plain = llm.countPromptTokens(messages);
    const withTools = llm.countPromptTokens(messages, { tools });
    expect(withTools).toBeGreaterThan(plain + 20);

    const forced = await llm.chat(messages, { tools, toolChoice: { name: "self.get_device_status" }, maxTokens: 40, seed: 1 }, () => {});
    expect(forced.toolCalls).toHaveLength(1);
    expect(forced.toolCalls![0]).toMatchObject({ name: "self.get_device_status", arguments: "{}" });

    const volume = await llm.chat(messages, { tools, toolChoice: { name: "self.audio_speaker.set_volume" }, maxTokens: 60, seed: 1 }, () => {});
    expect(volume.toolCalls).toHaveLength(1);
    const args = JSON.parse(volume.toolCalls![0]!.arguments);
    expect(Object.keys(args)).toEqual(["volume"]);
    expect(Number.isInteger(args.volume)).toBe(true);

    // the call with its result, as the turn's next round sends it: node-llama-cpp renders it and goes on
    const next: ChatMessage[] = [...messages, { role: "assistant", content: "", toolCalls: [{ ...forced.toolCalls![0]!, result: '{"audio_speaker":{"volume":70}}' }] }];
    expect(llm.countPromptTokens(next, { tools })).toBeGreaterThan(withTools);
    const after = await llm.chat(next, { tools, toolChoice: "none", maxTokens: 8, seed: 1 }, () => {});
    expect(after.completionTokens).toBeGreaterThan(0);
  }, 60_000);
});
