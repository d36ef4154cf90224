// Device tools in a turn (fake engines, a fake device): a role with device_tools lets the model
// call the device's tools; the call goes to the device, its result joins the prompt and the reply
// goes on; the rounds are bounded; a failing or silent tool is a result the model reads, never a
// failed turn; cancelling the turn stops the wait for the device; and without tools (or a role
// that allows none) the turn is exactly the plain one.
import { afterAll, beforeEach, expect, test } from "bun:test";
import type { ToolCall } from "../../../src/engines/types.ts";
import { setLogLevel } from "../../../src/log.ts";
import { parseRoles } from "../../../src/pipeline/roles.ts";
import { MAX_TOOL_ROUNDS } from "../../../src/pipeline/tool-loop.ts";
import type { DeviceTool, DeviceToolResult, DeviceTools, TurnEvent, TurnRequest } from "../../../src/pipeline/types.ts";
import { someAudio } from "../../support/fake-engines.ts";
import { fakePipeline } from "../../support/fake-pipeline.ts";

setLogLevel("error");
const fake = fakePipeline({
  roles: {
    "1": { prompt: "You are a helper.", language: "en", device_tools: true },
    "2": { prompt: "You are a helper.", language: "en", device_tools: ["self.audio_speaker.set_volume"] },
    "3": { prompt: "You are a helper.", language: "en" },
    "4": { prompt: "You are a helper.", language: "en", device_tools: true, grammar: 'root ::= "Yes."' },
    "5": { prompt: "You are a helper.", language: "en", device_tools: true, blocked_phrases: ["secret cave"] },
  },
});
afterAll(() => fake.cleanup());

/** The tools of a stock board (as mcp_server.cc lists them), plus one whose arguments cannot be offered. */
const TOOLS: DeviceTool[] = [
  { name: "self.get_device_status", description: "The device's status.", inputSchema: { type: "object", properties: {} } },
  {
    name: "self.audio_speaker.set_volume",
    description: "Set the volume of the audio speaker.",
    inputSchema: { type: "object", properties: { volume: { type: "integer", minimum: 0, maximum: 100 } }, required: ["volume"] },
  },
  { name: "self.screen.draw", description: "Draws.", inputSchema: { type: "object", properties: { points: { type: "array", items: { type: "integer" } } } } },
];

/** A device whose tools answer as `answer` says (default: "true"), noting each call and the signal it got. */
class FakeDevice implements DeviceTools {
  readonly calls: { name: string; args: Record<string, unknown>; signal: AbortSignal }[] = [];
  listed = 0;
  callTimeoutMs?: number;
  answer: (name: string, args: Record<string, unknown>, signal: AbortSignal) => Promise<DeviceToolResult> = async () => ({ text: "true", isError: false });
  list() {
    this.listed++;
    return TOOLS;
  }
  call(name: string, args: Record<string, unknown>, signal: AbortSignal) {
    this.calls.push({ name, args, signal });
    return this.answer(name, args, signal);
  }
}

const call = (name: string, args: object, id = "call_1"): ToolCall => ({ id, name, arguments: JSON.stringify(args) });
const VOLUME = call("self.audio_speaker.set_volume", { volume: 30 });

let device: FakeDevice;
let n = 0;
beforeEach(() => {
  device = new FakeDevice();
  fake.llm.script = undefined;
  fake.llm.reply = "Once upon a time. There was a rabbit. The end.";
  fake.llm.seen.length = 0;
  fake.llm.options.length = 0;
  fake.llm.supportsTools = true;
  fake.stt.transcripts = ["please make it quieter"];
  fake.stt.calls = 0;
});

/** `tools` null: a front end without tools. */
function start(role: string, tools: DeviceTools | null = device) {
  const request: TurnRequest = { key: { frontEnd: "xiaozhi", device: `aabbcc00${String(++n).padStart(4, "0")}`, role }, input: { kind: "audio", ...someAudio() }, endedAt: Date.now(), tools: tools ?? undefined };
  return fake.pipeline.turns.start(request);
}

async function run(role: string, tools: DeviceTools | null = device) {
  const turn = start(role, tools);
  const events: TurnEvent[] = [];
  for await (const e of turn.events) events.push(e);
  const spoken = events.filter((e): e is Extract<TurnEvent, { type: "sentence" }> => e.type === "sentence").map((e) => e.text);
  return { events, spoken, record: await turn.finished };
}

test("the model calls a device tool: the call reaches the device, its result joins the prompt, and the reply goes on", async () => {
  fake.llm.script = [{ text: "Let me turn it down.", toolCalls: [VOLUME] }, { text: "Done, it is quieter now." }];
  const { spoken, record } = await run("1");

  expect(device.calls.map((c) => [c.name, c.args])).toEqual([["self.audio_speaker.set_volume", { volume: 30 }]]);
  // the text before the call is spoken, then what the model says with the result
  expect(spoken).toEqual(["Let me turn it down.", "Done, it is quieter now."]);
  expect(record).toMatchObject({ outcome: "replied", reply: "Let me turn it down. Done, it is quieter now." });
  expect(record.toolCalls).toEqual([{ name: "self.audio_speaker.set_volume", arguments: '{"volume":30}', outcome: "ok", result: "true", ms: expect.any(Number) }]);
  expect(record.usage).toMatchObject({ completionTokens: 10 });

  // the offered tools: the device's, in the call grammar's subset; the one with an array argument left out
  const offered = fake.llm.options[0]!.tools!;
  expect(offered.map((t) => t.name)).toEqual(["self.get_device_status", "self.audio_speaker.set_volume"]);
  expect(offered[0]).toEqual({ name: "self.get_device_status", description: "The device's status." });
  expect(offered[1]!.parameters).toEqual({ type: "object", properties: { volume: { type: "integer", description: "From 0 to 100." } }, required: ["volume"], additionalProperties: false });
  expect(fake.llm.options[0]).toMatchObject({ toolChoice: "auto", parallelToolCalls: false });

  // round 2 continues the same reply: the assistant's text and its call with the device's answer
  expect(fake.llm.seen).toHaveLength(2);
  const second = fake.llm.seen[1]!;
  expect(second.slice(0, -1)).toEqual(fake.llm.seen[0]!);
  expect(second.at(-1)).toEqual({ role: "assistant", content: "Let me turn it down.", toolCalls: [{ ...VOLUME, result: "true" }] });

  // history keeps what was said, not the calls
  expect(fake.pipeline.conversations.history(record.key)).toEqual([{ user: "please make it quieter", assistant: "Let me turn it down. Done, it is quieter now.", at: expect.any(Number), turnId: record.id }]);
  expect(fake.pipeline.conversations.turn(record.id)).toMatchObject({ toolCalls: [{ name: "self.audio_speaker.set_volume", outcome: "ok" }] });
});

test(`the loop is bounded: at most ${MAX_TOOL_ROUNDS} generations, and the last one offers no tools, so the turn ends in words`, async () => {
  fake.llm.script = [{ text: "Checking.", toolCalls: [call("self.get_device_status", {})] }];
  device.answer = async () => ({ text: '{"audio_speaker":{"volume":70}}', isError: false });
  const { spoken, record } = await run("1");
  expect(fake.llm.seen).toHaveLength(MAX_TOOL_ROUNDS);
  expect(fake.llm.options.map((o) => o.tools?.length ?? 0)).toEqual([2, 2, 0]);
  expect(device.calls).toHaveLength(MAX_TOOL_ROUNDS - 1);
  expect(spoken).toEqual(["Checking.", "Checking.", "Checking."]);
  expect(record.outcome).toBe("replied");
  expect(record.toolCalls!.map((c) => c.outcome)).toEqual(["ok", "ok"]);
  // the second call's result follows the first in the prompt of the last round
  const last = fake.llm.seen[2]!;
  expect(last.filter((m) => m.toolCalls).map((m) => m.toolCalls![0]!.result)).toEqual(['{"audio_speaker":{"volume":70}}', '{"audio_speaker":{"volume":70}}']);
});

test("a failing tool is a result the model reads, never a failed turn: the device's error, the tool's own failure, bad arguments", async () => {
  fake.llm.script = [
    { text: "", toolCalls: [VOLUME, call("self.audio_speaker.set_volume", { volume: 300 }, "call_2")] },
    { text: "", toolCalls: [{ id: "call_3", name: "self.audio_speaker.set_volume", arguments: "[1, 2]" }] },
    { text: "Sorry, I could not change it." },
  ];
  device.answer = async (_name, args) => {
    if (args.volume === 30) throw new Error("Unknown tool: self.audio_speaker.set_volume");
    return { text: "Property 'volume': value 300 exceeds maximum 100", isError: true };
  };
  const { spoken, record } = await run("1");
  expect(record.outcome).toBe("replied");
  expect(spoken).toEqual(["Sorry, I could not change it."]);
  expect(record.toolCalls!.map((c) => [c.outcome, c.result])).toEqual([
    ["error", "error: Unknown tool: self.audio_speaker.set_volume"],
    ["error", "error: Property 'volume': value 300 exceeds maximum 100"],
    ["error", "error: the arguments were not a JSON object"],
  ]);
  expect(device.calls).toHaveLength(2); // bad arguments never reach the device
  const results = fake.llm.seen[2]!.flatMap((m) => m.toolCalls ?? []).map((c) => c.result);
  expect(results).toEqual(record.toolCalls!.map((c) => c.result));
});

test("a device that does not answer in time: the call counts as failed after callTimeoutMs and the reply goes on", async () => {
  fake.llm.script = [{ text: "", toolCalls: [VOLUME] }, { text: "The speaker did not answer." }];
  device.callTimeoutMs = 150;
  device.answer = () => new Promise(() => {}); // ignores its signal too: the wait still ends
  const started = Date.now();
  const { spoken, record } = await run("1");
  expect(Date.now() - started).toBeLessThan(2000);
  expect(record.toolCalls).toMatchObject([{ outcome: "timeout", result: "error: the device did not answer within 0.2 s" }]);
  expect(record.toolCalls![0]!.ms).toBeGreaterThanOrEqual(140);
  expect(device.calls[0]!.signal.aborted).toBe(true);
  expect(spoken).toEqual(["The speaker did not answer."]);
  expect(record.outcome).toBe("replied");
});

test("cancelling the turn (barge-in) stops the wait for the device: no more generation, the call's signal is aborted", async () => {
  fake.llm.script = [{ text: "One moment.", toolCalls: [VOLUME] }, { text: "Never said." }];
  let waiting!: () => void;
  const reached = new Promise<void>((resolve) => (waiting = resolve));
  device.answer = (_name, _args, signal) =>
    new Promise((_, reject) => {
      waiting();
      signal.addEventListener("abort", () => reject(new Error("cancelled")), { once: true });
    });
  const turn = start("1");
  const events: TurnEvent[] = [];
  const consumed = (async () => {
    for await (const e of turn.events) events.push(e);
  })();
  await reached;
  const cancelledAt = Date.now();
  turn.cancel("the child started speaking");
  await consumed;
  const record = await turn.finished;
  expect(Date.now() - cancelledAt).toBeLessThan(500);
  expect(device.calls[0]!.signal.aborted).toBe(true);
  expect(fake.llm.seen).toHaveLength(1);
  expect(record.outcome).toBe("cancelled");
  expect(record.toolCalls).toMatchObject([{ name: "self.audio_speaker.set_volume", outcome: "cancelled" }]);
  expect(events.filter((e) => e.type === "sentence").map((e) => (e as { text: string }).text)).toEqual(["One moment."]);
  expect(events.at(-1)!.type).toBe("failed");
});

test("safety still reads every spoken sentence after a tool call", async () => {
  fake.llm.script = [{ text: "", toolCalls: [VOLUME] }, { text: "Done. Now let us go to the secret cave tonight. Bye." }];
  const { spoken, record } = await run("5");
  expect(spoken[0]).toBe("Done.");
  expect(spoken.some((t) => /secret cave|Bye/.test(t))).toBe(false);
  expect(record.safety).toMatchObject({ verdict: "blocked", stage: "output" });
  expect(record.toolCalls).toHaveLength(1);
  expect(fake.pipeline.conversations.history(record.key)).toEqual([]);
});

test("a role's list of tools: only those are offered", async () => {
  fake.llm.script = [{ text: "", toolCalls: [VOLUME] }, { text: "Done." }];
  const { record } = await run("2");
  expect(fake.llm.options[0]!.tools!.map((t) => t.name)).toEqual(["self.audio_speaker.set_volume"]);
  expect(record.toolCalls).toHaveLength(1);
});

test("no tools offered, the plain reply: a role without device_tools, no front-end tools, a role with a grammar, a backend without tools", async () => {
  fake.llm.script = [{ text: "Just words.", toolCalls: [VOLUME] }];
  for (const [role, tools, supports] of [
    ["3", device, true],
    ["1", null, true],
    ["4", device, true],
    ["1", device, false],
  ] as const) {
    fake.llm.seen.length = 0;
    fake.llm.options.length = 0;
    fake.llm.supportsTools = supports;
    const { spoken, record } = await run(role, tools);
    expect({ role, tools: !!tools, supports, chats: fake.llm.seen.length }).toEqual({ role, tools: !!tools, supports, chats: 1 });
    expect(fake.llm.options[0]!.tools).toBeUndefined();
    expect(fake.llm.options[0]!.toolChoice).toBeUndefined();
    expect(spoken).toEqual(["Just words."]);
    expect(record.toolCalls).toBeUndefined();
  }
  expect(device.calls).toHaveLength(0);
});

test("roles.json: device_tools is true, false or a list of tool names", () => {
  const parsed = parseRoles(JSON.stringify({ "1": { prompt: "a", device_tools: true }, "2": { prompt: "b", device_tools: ["self.audio_speaker.set_volume"] }, "3": { prompt: "c", device_tools: "false" } }));
  if (!parsed.ok) throw new Error(parsed.error);
  expect(parsed.config.roles["1"]!.device_tools).toBe(true);
  expect(parsed.config.roles["2"]!.device_tools).toEqual(["self.audio_speaker.set_volume"]);
  expect(parsed.config.roles["3"]!.device_tools).toBe(false);
  expect(parsed.unknown).toEqual([]);
  const bad = parseRoles(JSON.stringify({ "1": { prompt: "a", device_tools: 3 } }));
  expect(bad.ok).toBe(false);
  if (!bad.ok) expect(bad.error).toContain("device_tools");
});
