// Warm prompts, the logic around the engine (fake engines): the prompt warmed for a device is
// exactly the start of the one its next turn sends (role, persona, greeting, history, device
// tools; the role a parent chose), nothing is warmed when it is switched off, for a device its parent paused, or on a
// backend without preloading; after a restart the devices that talked last are warmed, the most
// recent last; stopping the pipeline aborts the warming under way.
import { afterAll, beforeEach, expect, test } from "bun:test";
import { conversationFileStem, type ConversationKey } from "../../../src/conversations/key.ts";
import type { ChatMessage, PreloadOptions, PreloadResult } from "../../../src/engines/types.ts";
import { setLogLevel } from "../../../src/log.ts";
import type { DeviceTool, DeviceTools, TurnEvent, TurnRequest } from "../../../src/pipeline/types.ts";
import { PromptWarmer } from "../../../src/pipeline/warm.ts";
import { FakeLlm } from "../../support/fake-engines.ts";
import { fakePipeline } from "../../support/fake-pipeline.ts";

setLogLevel("error");
const fake = fakePipeline({
  roles: {
    "1": { prompt: "You are a rabbit.", start_text: "Hi, I am a rabbit.", max_message_count: 4, language: "en" },
    "2": { prompt: "You are an owl.", system_prompt: "Speak like an owl.", max_message_count: 4, language: "en" },
    "3": { prompt: "You are a helper.", language: "en", device_tools: true },
  },
});
afterAll(() => fake.cleanup());

const preloaded: { prefix: ChatMessage[]; opts: PreloadOptions }[] = [];
let answer: (opts: PreloadOptions) => Promise<PreloadResult> = async () => ({ outcome: "done", cachedTokens: 10, evaluatedTokens: 10 });
Object.assign(fake.llm, {
  preloadConversation: (prefix: ChatMessage[], opts: PreloadOptions) => {
    preloaded.push({ prefix, opts });
    return answer(opts);
  },
});
const warmer = fake.pipeline.warmer;
let n = 0;
const newDevice = () => `aabbccdd${String(++n).padStart(4, "0")}`;
beforeEach(() => {
  preloaded.length = 0;
  fake.llm.seen.length = 0;
});

async function turn(key: ConversationKey, text: string, tools?: DeviceTools) {
  const request: TurnRequest = { key, input: { kind: "text", text }, endedAt: Date.now(), speak: false, tools };
  const t = fake.pipeline.turns.start(request);
  const events: TurnEvent[] = [];
  for await (const e of t.events) events.push(e);
  return t.finished;
}

test("the warmed prompt is the start of what the device's next turn sends, before and after history", async () => {
  for (const role of ["1", "2"]) {
    const key = { frontEnd: "folotoy", device: newDevice(), role };
    await warmer.warm(key);
    expect(preloaded.at(-1)!.opts.conversationId).toBe(conversationFileStem(key));
    await turn(key, "Why is the sky blue?");
    const sent = fake.llm.seen.at(-1)!;
    expect(preloaded.at(-1)!.prefix).toEqual(sent.slice(0, -1));
    expect(sent.at(-1)).toEqual({ role: "user", content: "Why is the sky blue?" });

    // with the exchange stored, the next warm covers it too
    await warmer.warm(key);
    expect(preloaded.at(-1)!.prefix.length).toBe(sent.length + 1);
    await turn(key, "And the sea?");
    expect(preloaded.at(-1)!.prefix).toEqual(fake.llm.seen.at(-1)!.slice(0, -1));
  }
  // the fixed prompt: [toy] system prompt (or the role's own), persona, greeting
  expect(preloaded[0]!.prefix).toEqual([
    { role: "system", content: "Be kind." },
    { role: "user", content: "You are a rabbit." },
    { role: "assistant", content: "Hi, I am a rabbit." },
  ]);
  expect(preloaded[2]!.prefix[0]).toEqual({ role: "system", content: "Speak like an owl." });
});

test("the role a parent chose in the console wins over the one the device reports", async () => {
  const device = newDevice();
  fake.pipeline.controls.setRole("folotoy", device, "2");
  try {
    await warmer.warm({ frontEnd: "folotoy", device, role: "1" }); // the toy itself still reports role 1
    expect(preloaded.at(-1)!.opts.conversationId).toBe(conversationFileStem({ frontEnd: "folotoy", device, role: "2" }));
    expect(preloaded.at(-1)!.prefix[1]).toEqual({ role: "user", content: "You are an owl." });
  } finally {
    fake.pipeline.controls.setRole("folotoy", device, undefined);
  }
});

test("a role with device tools warms with the tools the turn offers", async () => {
  const tools: DeviceTool[] = [{ name: "self.get_device_status", description: "The device's status.", inputSchema: { type: "object", properties: {} } }];
  const device: DeviceTools = { list: () => tools, call: async () => ({ text: "ok", isError: false }) };
  const key = { frontEnd: "xiaozhi", device: newDevice(), role: "3" };
  await warmer.warm(key, { tools: device });
  expect(preloaded.at(-1)!.opts.tools?.map((t) => t.name)).toEqual(["self.get_device_status"]);
  await turn(key, "How are you?", device);
  expect(fake.llm.options.at(-1)!.tools).toEqual(preloaded.at(-1)!.opts.tools);
  expect(preloaded.at(-1)!.prefix).toEqual(fake.llm.seen.at(-1)!.slice(0, -1));
  // without device tools: none offered
  await warmer.warm({ ...key, device: newDevice() });
  expect(preloaded.at(-1)!.opts.tools).toBeUndefined();
});

test("nothing is warmed when switched off, for a paused device, or on a backend without preloading", async () => {
  const off = new PromptWarmer({ llm: fake.llm, turns: fake.pipeline.turns, conversations: fake.pipeline.conversations, controls: fake.pipeline.controls, settings: { enabled: false, systemPrompt: "", maxTokens: 100 } });
  expect(await off.warm({ frontEnd: "folotoy", device: newDevice(), role: "1" })).toBeUndefined();

  const paused = newDevice();
  fake.pipeline.controls.set("folotoy", paused, { aiEnabled: false });
  expect(await warmer.warm({ frontEnd: "folotoy", device: paused, role: "1" })).toBeUndefined();
  expect(preloaded).toEqual([]);

  const remote = new FakeLlm(); // as the remote backend: no preloadConversation
  expect("preloadConversation" in remote).toBe(false);
  const noPreload = new PromptWarmer({ llm: remote, turns: fake.pipeline.turns, conversations: fake.pipeline.conversations, controls: fake.pipeline.controls, settings: { enabled: true, systemPrompt: "", maxTokens: 100 } });
  expect(await noPreload.warm({ frontEnd: "folotoy", device: newDevice(), role: "1" })).toBeUndefined();
  expect(preloaded).toEqual([]);
});

test("after a restart, the devices of the given front ends that talked last are warmed, the most recent last", async () => {
  const [a, b, c] = [newDevice(), newDevice(), newDevice()];
  await turn({ frontEnd: "folotoy", device: a, role: "1" }, "One.");
  await turn({ frontEnd: "xiaozhi", device: b, role: "2" }, "Two.");
  await turn({ frontEnd: "api", device: "someone", role: "1" }, "Three.");
  await turn({ frontEnd: "folotoy", device: c, role: "2" }, "Four.");
  await turn({ frontEnd: "folotoy", device: c, role: "1" }, "Five.");
  await warmer.warmRecent(["folotoy", "xiaozhi"], 2);
  expect(preloaded.map((p) => p.opts.conversationId)).toEqual([
    conversationFileStem({ frontEnd: "xiaozhi", device: b, role: "2" }),
    conversationFileStem({ frontEnd: "folotoy", device: c, role: "1" }),
  ]);
  // with its history
  expect(preloaded[1]!.prefix.map((m) => m.content)).toContain("Five.");
});

test("stopping aborts the warming under way and starts no more", async () => {
  let signal: AbortSignal | undefined;
  answer = (opts) =>
    new Promise((resolve) => {
      signal = opts.signal;
      opts.signal?.addEventListener("abort", () => resolve({ outcome: "stopped", cachedTokens: 0, evaluatedTokens: 0 }), { once: true });
    });
  const own = new PromptWarmer({ llm: fake.llm, turns: fake.pipeline.turns, conversations: fake.pipeline.conversations, controls: fake.pipeline.controls, settings: { enabled: true, systemPrompt: "", maxTokens: 100 } });
  const warming = own.warm({ frontEnd: "folotoy", device: newDevice(), role: "1" });
  await Bun.sleep(0);
  expect(signal?.aborted).toBe(false);
  own.stop();
  expect((await warming)?.outcome).toBe("stopped");
  expect(await own.warm({ frontEnd: "folotoy", device: newDevice(), role: "1" })).toBeUndefined();
});
