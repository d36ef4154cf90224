// A parent switches a device's role (Pipeline.switchRole): the device's next turn talks as it,
// whatever role the device itself names; the running turn ends; the conversation being left keeps
// its history but not its cached LLM context; the choice survives a restart (devices.json) and
// saving the other controls; giving the choice back lets the device's own role count again.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { conversationFileStem } from "../../../src/conversations/key.ts";
import { setLogLevel } from "../../../src/log.ts";
import { DeviceControlsStore } from "../../../src/pipeline/controls.ts";
import { someAudio } from "../../support/fake-engines.ts";
import { fakePipeline } from "../../support/fake-pipeline.ts";

setLogLevel("error");
const fake = fakePipeline();
afterAll(() => fake.cleanup());
const SN = "aabbccdd0042";

async function turnOf(role: string) {
  const turn = fake.pipeline.turns.start({ key: { frontEnd: "folotoy", device: SN, role }, input: { kind: "text", text: "Hello" }, endedAt: Date.now() });
  for await (const _ of turn.events);
  return turn.finished;
}

test("the chosen role wins over the toy's own button from the next turn; giving it back restores the button", async () => {
  expect((await turnOf("1")).role).toBe("1");
  const change = fake.pipeline.switchRole("folotoy", SN, "2");
  expect(change).toEqual({ frontEnd: "folotoy", device: SN, role: "2", previous: "1" });
  // the toy still says its button is 1: the parent's choice wins, in the record and the prompt
  const record = await turnOf("1");
  expect(record.role).toBe("2");
  expect(record.key).toEqual({ frontEnd: "folotoy", device: SN, role: "2" });
  expect(JSON.stringify(fake.llm.seen.at(-1))).toContain("你是一只熊猫");
  // the conversation left keeps its history, but its cached context is dropped
  expect(fake.llm.forgotten).toContain(conversationFileStem({ frontEnd: "folotoy", device: SN, role: "1" }));
  expect(fake.pipeline.conversations.history({ frontEnd: "folotoy", device: SN, role: "1" }).length).toBe(1);
  // another device is not affected
  const other = fake.pipeline.turns.start({ key: { frontEnd: "folotoy", device: "aabbccdd0043", role: "1" }, input: { kind: "text", text: "Hi" }, endedAt: Date.now() });
  for await (const _ of other.events);
  expect((await other.finished).role).toBe("1");

  fake.pipeline.switchRole("folotoy", SN, undefined);
  expect((await turnOf("1")).role).toBe("1");
});

test("a switch ends the device's running turn", async () => {
  fake.llm.tokenDelayMs = 200;
  try {
    const turn = fake.pipeline.turns.start({ key: { frontEnd: "folotoy", device: SN, role: "1" }, input: { kind: "audio", ...someAudio() }, endedAt: Date.now() });
    const reading = (async () => {
      for await (const _ of turn.events);
    })();
    await Bun.sleep(100);
    fake.pipeline.switchRole("folotoy", SN, "2");
    await reading;
    const record = await turn.finished;
    expect(record.outcome).toBe("cancelled");
    expect(record.error).toContain("a parent switched its role");
  } finally {
    fake.llm.tokenDelayMs = 0;
    fake.pipeline.switchRole("folotoy", SN, undefined);
  }
});

test("a role roles.json does not have is refused in words; the choice persists across a restart and a save of the other controls", () => {
  expect(() => fake.pipeline.switchRole("folotoy", SN, "9")).toThrow("roles.json has no role 9: choose one of 1, 2.");
  fake.pipeline.switchRole("xiaozhi", "aabbcc000042", "2");
  fake.pipeline.controls.set("xiaozhi", "aabbcc000042", { nickname: "Owl" });
  const again = new DeviceControlsStore(join(fake.stateDir, "devices.json"), { quietHours: [], dailyLimitMinutes: 0 });
  again.load();
  expect(again.role("xiaozhi", "aabbcc000042")).toBe("2");
  expect(again.get("xiaozhi", "aabbcc000042").nickname).toBe("Owl");
  expect(again.role("folotoy", SN)).toBeUndefined();
});
