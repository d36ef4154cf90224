// Issue 11, item 5, at the LLM's admission (the real llama.cpp on the test model): toys' turns
// ("device" requests) have places of their own that HTTP load cannot fill, and go ahead of HTTP
// requests waiting for a context sequence.
import { beforeAll, expect, test } from "bun:test";
import type { Engines, LlmReservation } from "../../../src/engines/types.ts";
import { Busy } from "../../../src/errors.ts";
import { testConfig } from "../../support/hearth.ts";
import { testEngines } from "../folotoy/helpers.ts";

let engines: Engines;
beforeAll(async () => {
  engines = await testEngines();
}, 120_000);

const COUNT = "one two three four five six seven eight nine ten";
/** A request whose reply is exactly `words` words (a grammar pins it), so its length is known. */
const ask = (priority?: "device", words = 10) =>
  engines.llm.chat(
    [{ role: "user", content: "Count." }],
    { maxTokens: words * 3, priority, grammar: `root ::= ${JSON.stringify(Array.from({ length: words }, (_, i) => COUNT.split(" ")[i % 10]).join(" "))}` },
    () => {},
  );

test("with every HTTP place taken, a device's request is still admitted and answered", async () => {
  const config = testConfig();
  const held: LlmReservation[] = [];
  try {
    for (;;) held.push(engines.llm.reserve());
  } catch (e) {
    expect(e).toBeInstanceOf(Busy);
  }
  try {
    expect(held.length).toBe(config.llm.sequences + config.llm.max_queue);
    await expect(ask()).rejects.toBeInstanceOf(Busy);
    const result = await ask("device");
    expect(result.completionTokens).toBeGreaterThan(0);
    const device = engines.llm.reserve({ priority: "device" });
    device.release();
  } finally {
    for (const place of held) place.release();
  }
}, 60_000);

test("a device's request waiting for a sequence goes ahead of the HTTP requests that queued before it", async () => {
  const order: string[] = [];
  const run = (name: string, priority?: "device", words = 10) => ask(priority, words).then(() => order.push(name));
  // both sequences busy with HTTP replies (one short, one long), then three HTTP requests queue, then a toy's
  const busy = [run("http-short", undefined, 20), run("http-long", undefined, 150)];
  await Bun.sleep(30);
  const queued = [run("http-a"), run("http-b"), run("http-c")];
  await Bun.sleep(10);
  const toy = run("toy", "device");
  await Promise.all([...busy, ...queued, toy]);
  // the sequence the short reply frees goes to the toy, not to the HTTP requests queued before it
  expect(order.indexOf("toy")).toBeLessThan(order.indexOf("http-a"));
  expect(order.indexOf("toy")).toBeLessThan(order.indexOf("http-long"));
}, 60_000);

test("toys come first without shutting HTTP out: after 4 toys' turns in a row, a waiting HTTP request gets a sequence", async () => {
  const order: string[] = [];
  const run = (name: string, priority?: "device", words = 10) => ask(priority, words).then(() => order.push(name));
  const busy = [run("http-long-1", undefined, 60), run("http-long-2", undefined, 60)];
  await Bun.sleep(30);
  const http = run("http-a");
  await Bun.sleep(10);
  const toys = Array.from({ length: 8 }, (_, i) => run(`toy-${i + 1}`, "device"));
  await Promise.all([...busy, http, ...toys]);
  expect(order.indexOf("http-a")).toBeLessThan(order.indexOf("toy-8"));
  expect(order.indexOf("http-a")).toBeGreaterThan(order.indexOf("toy-1"));
}, 60_000);
