// Warm prompts end to end (real engines on the test profile, the real front ends, simulated
// devices): a FoloToy toy's login, its role button, a parent's role switch, a restart, and a
// xiaozhi device's connection evaluate the prompt of its next turn into the LLM's context, and
// that turn then evaluates only its new words.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { conversationFileStem } from "../../../src/conversations/key.ts";
import type { Engines, PreloadResult } from "../../../src/engines/types.ts";
import { SimToy } from "../../../scripts/lib/toy-simulator.ts";
import { SimXiaozhi } from "../../../scripts/lib/xiaozhi-simulator.ts";
import { startTestToy, testEngines, UTT, waitFor, type TestToy } from "../folotoy/helpers.ts";
import { startTestXiaozhi } from "../xiaozhi/helpers.ts";
import { watchedLlm } from "../../support/watched-llm.ts";

const PACE = 4;

let engines: Engines;
let w: ReturnType<typeof watchedLlm>;
const toys: TestToy[] = [];
const start = async (opts: Parameters<typeof startTestToy>[0] = {}) => {
  const h = await startTestToy({ ...opts, engines: async () => ({ ...engines, llm: w.spy }) });
  toys.push(h);
  return h;
};
const stem = (sn: string, role: number) => conversationFileStem({ frontEnd: "folotoy", device: sn, role: String(role) });
const preloadOf = (id: string) => w.preloads.filter((p) => p.opts.conversationId === id).at(-1);
const chatOf = (id: string) => w.chats.filter((c) => c.opts.conversationId === id).at(-1);

beforeAll(async () => {
  engines = await testEngines();
  w = watchedLlm(engines.llm);
}, 120_000);
afterAll(async () => {
  for (const h of toys) await h.stop();
});

test("a toy's login warms its prompt; its first turn evaluates only the new words; a restart warms the history", async () => {
  const h = await start();
  const sn = "a1b2c3d4e5f6";
  const toy = new SimToy({ mqtt: h.mqttUrl, sn });
  let warmed: PreloadResult;
  try {
    await toy.connect();
    await toy.login(1);
    await waitFor(() => preloadOf(stem(sn, 1)) !== undefined, 10_000, "the login's preload");
    warmed = preloadOf(stem(sn, 1))!.result;
    expect(warmed.outcome).toBe("done");
    expect(warmed.cachedTokens).toBeGreaterThan(0);

    const turn = await toy.say(UTT(1), { pace: PACE });
    expect(turn.ok).toBe(true);
    const first = chatOf(stem(sn, 1))!.result;
    expect(first.cachedPromptTokens).toBe(warmed.cachedTokens);
    const record = h.turns(1)[0]!;
    const words = engines.llm.countTokens(record.transcript);
    expect(first.promptTokens - first.cachedPromptTokens!).toBeGreaterThanOrEqual(words);
    expect(first.promptTokens - first.cachedPromptTokens!).toBeLessThan(words + 12);
  } finally {
    await toy.close();
  }

  // a restart: the conversation is on disk, the LLM's context is gone
  await h.stop({ keepState: true });
  toys.splice(toys.indexOf(h), 1);
  engines.llm.forgetConversation(stem(sn, 1));
  const after = await start({ stateDir: h.config.state.dir });
  await after.pipeline.warmer.warmRecent(["folotoy"], 2); // as app.ts does once the front ends are up
  const rewarmed = preloadOf(stem(sn, 1))!.result;
  expect(rewarmed.outcome).toBe("done");
  expect(rewarmed.evaluatedTokens).toBe(rewarmed.cachedTokens); // all of it again: the context was empty
  // the fixed prompt, the first exchange, and the template around it
  const exchange = after.conversation(sn, 1)[0]!;
  expect(rewarmed.cachedTokens).toBeGreaterThan(warmed.cachedTokens + engines.llm.countTokens(exchange.user) + engines.llm.countTokens(exchange.assistant));

  const again = new SimToy({ mqtt: after.mqttUrl, sn });
  try {
    await again.connect();
    await again.login(1); // warms again: nothing left to evaluate
    await waitFor(() => w.preloads.filter((p) => p.opts.conversationId === stem(sn, 1)).length === 3, 10_000, "the second login's preload");
    expect(preloadOf(stem(sn, 1))!.result).toMatchObject({ outcome: "done", evaluatedTokens: 0, cachedTokens: rewarmed.cachedTokens });
    expect((await again.say(UTT(2), { pace: PACE })).ok).toBe(true);
    expect(chatOf(stem(sn, 1))!.result.cachedPromptTokens).toBe(rewarmed.cachedTokens);
  } finally {
    await again.close();
  }
}, 90_000);

test("the role button and a parent's role switch warm the new role's prompt", async () => {
  const h = await start();
  const sn = "b1b2c3d4e5f6";
  const toy = new SimToy({ mqtt: h.mqttUrl, sn });
  try {
    await toy.connect();
    await toy.login(1);
    toy.event("press_small_btn", { keyCode: 2, changed: 1 });
    await waitFor(() => preloadOf(stem(sn, 2)) !== undefined, 10_000, "the role button's preload");
    expect(preloadOf(stem(sn, 2))!.result.outcome).toBe("done");
    expect((await toy.say(UTT(1), { pace: PACE })).ok).toBe(true);
    expect(chatOf(stem(sn, 2))!.result.cachedPromptTokens).toBe(preloadOf(stem(sn, 2))!.result.cachedTokens);

    h.pipeline.switchRole("folotoy", sn, "1");
    await waitFor(() => w.preloads.filter((p) => p.opts.conversationId === stem(sn, 1)).length === 2, 10_000, "the role switch's preload");
    const switched = preloadOf(stem(sn, 1))!.result;
    expect(switched.outcome).toBe("done");
    expect((await toy.say(UTT(1), { pace: PACE })).ok).toBe(true);
    expect(chatOf(stem(sn, 1))!.result.cachedPromptTokens).toBe(switched.cachedTokens);
  } finally {
    await toy.close();
  }
}, 90_000);

test("with [llm] warm_prompts = false nothing is preloaded and the first turn evaluates its whole prompt", async () => {
  const h = await start({ env: { HEARTH_LLM_WARM_PROMPTS: "false" } });
  const sn = "c1b2c3d4e5f6";
  const toy = new SimToy({ mqtt: h.mqttUrl, sn });
  try {
    await toy.connect();
    await toy.login(1);
    expect((await toy.say(UTT(1), { pace: PACE })).ok).toBe(true);
    expect(preloadOf(stem(sn, 1))).toBeUndefined();
    expect(chatOf(stem(sn, 1))!.result.cachedPromptTokens).toBe(0);
  } finally {
    await toy.close();
  }
}, 90_000);

test("a xiaozhi device's connection warms its prompt; its first turn evaluates only the new words", async () => {
  const h = await startTestXiaozhi({ llm: w.spy });
  const dev = new SimXiaozhi({ ota: h.ota, mac: "aa:bb:cc:00:0a:01" });
  const id = conversationFileStem({ frontEnd: "xiaozhi", device: "aabbcc000a01", role: "2" });
  try {
    await dev.boot();
    await dev.connect();
    await waitFor(() => preloadOf(id) !== undefined, 10_000, "the connection's preload");
    const warmed = preloadOf(id)!.result;
    expect(warmed.outcome).toBe("done");
    const turn = await dev.say(UTT(1), { mode: "manual", pace: PACE });
    expect(turn.error).toBeUndefined();
    const first = chatOf(id)!.result;
    expect(first.cachedPromptTokens).toBe(warmed.cachedTokens);
    expect(first.promptTokens - first.cachedPromptTokens!).toBeLessThan(engines.llm.countTokens(turn.heard!) + 12);
  } finally {
    dev.close();
    await h.stop();
  }
}, 90_000);
