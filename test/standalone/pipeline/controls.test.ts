// Parental controls: quiet hours (across midnight too), the daily talk-time limit, AI off; and the
// turn they stop: nothing is transcribed, the child hears a kind line in the role's language.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { setLogLevel } from "../../../src/log.ts";
import { DeviceControlsStore, inQuietHours } from "../../../src/pipeline/controls.ts";
import type { TurnEvent } from "../../../src/pipeline/types.ts";
import { someAudio } from "../../support/fake-engines.ts";
import { fakePipeline } from "../../support/fake-pipeline.ts";

setLogLevel("error");
const at = (day: number, hhmm: string) => new Date(2026, 10, 22 + day, Number(hhmm.slice(0, 2)), Number(hhmm.slice(3))); // 2026-11-22 is a Sunday

describe("quiet hours", () => {
  test("a time inside, outside, and past midnight belongs to the evening it started", () => {
    const night = [{ from: "20:00", to: "07:00" }];
    expect(inQuietHours(night, at(1, "19:59"))).toBe(false);
    expect(inQuietHours(night, at(1, "20:00"))).toBe(true);
    expect(inQuietHours(night, at(2, "06:59"))).toBe(true);
    expect(inQuietHours(night, at(2, "07:00"))).toBe(false);
    const schoolNights = [{ days: [0, 1, 2, 3, 4], from: "20:00", to: "07:00" }]; // Sunday..Thursday evenings
    expect(inQuietHours(schoolNights, at(5, "21:00"))).toBe(false); // Friday evening
    expect(inQuietHours(schoolNights, at(5, "06:00"))).toBe(true); // Friday morning: Thursday's night
    expect(inQuietHours(schoolNights, at(6, "06:00"))).toBe(false); // Saturday morning: Friday's night is free
    expect(inQuietHours([{ days: [6], from: "13:00", to: "15:00" }], at(6, "14:00"))).toBe(true);
  });
});

describe("a device's controls", () => {
  const fake = fakePipeline();
  afterAll(() => fake.cleanup());
  const file = join(fake.stateDir, "devices.json");

  test("settings and today's talk time persist; the limit pauses the device until tomorrow", () => {
    const store = new DeviceControlsStore(file, { quietHours: [], dailyLimitMinutes: 0 });
    store.set("folotoy", "aabbccdd0001", { nickname: "Bunny", dailyLimitMinutes: 2 });
    store.addUsage("folotoy", "aabbccdd0001", 90, at(1, "10:00"));
    expect(store.pause("folotoy", "aabbccdd0001", at(1, "10:05"))).toBeUndefined();
    store.addUsage("folotoy", "aabbccdd0001", 40, at(1, "10:10"));
    const again = new DeviceControlsStore(file, { quietHours: [], dailyLimitMinutes: 0 });
    again.load();
    expect(again.get("folotoy", "aabbccdd0001").nickname).toBe("Bunny");
    expect(again.pause("folotoy", "aabbccdd0001", at(1, "10:11"))).toBe("daily_limit");
    expect(again.pause("folotoy", "aabbccdd0001", at(2, "08:00"))).toBeUndefined();
    expect(again.pause("folotoy", "aabbccdd0002", at(1, "10:11"))).toBeUndefined(); // another toy
  });

  test("defaults from config.toml apply where the parent set nothing; AI off wins", () => {
    const store = new DeviceControlsStore(join(fake.stateDir, "d2.json"), { quietHours: [{ from: "20:00", to: "07:00" }], dailyLimitMinutes: 0 });
    expect(store.pause("folotoy", "x1", at(1, "21:00"))).toBe("quiet_hours");
    store.set("folotoy", "x1", { quietHours: [] });
    expect(store.pause("folotoy", "x1", at(1, "21:00"))).toBeUndefined();
    store.set("folotoy", "x1", { aiEnabled: false });
    expect(store.pause("folotoy", "x1", at(1, "12:00"))).toBe("resting");
  });

  test("a paused toy's turn: nothing transcribed, the model never runs, a kind line in the role's language", async () => {
    fake.pipeline.controls.set("folotoy", "aabbccdd0009", { aiEnabled: false });
    const sttCalls = fake.stt.calls;
    const llmCalls = fake.llm.seen.length;
    const turn = fake.pipeline.turns.start({ key: { frontEnd: "folotoy", device: "aabbccdd0009", role: "2" }, input: { kind: "audio", ...someAudio() }, endedAt: Date.now() });
    const events: TurnEvent[] = [];
    for await (const e of turn.events) events.push(e);
    expect(events.map((e) => e.type)).toEqual(["sentence", "done"]);
    expect(events[0]).toMatchObject({ text: "我现在在休息哦，我们等一下再聊吧！" });
    const record = await turn.finished;
    expect(record).toMatchObject({ outcome: "paused", transcript: "" });
    expect(record.explanation).toContain("switched off");
    expect(fake.stt.calls).toBe(sttCalls);
    expect(fake.llm.seen.length).toBe(llmCalls);
  });

  test("talk time is counted from the child's speech and the spoken reply", async () => {
    const device = "aabbccdd0010";
    const turn = fake.pipeline.turns.start({ key: { frontEnd: "folotoy", device, role: "1" }, input: { kind: "audio", ...someAudio() }, endedAt: Date.now() });
    let replySeconds = 0;
    for await (const e of turn.events) if (e.type === "sentence" && e.audio) replySeconds += e.audio.samples.length / e.audio.sampleRate;
    await turn.finished;
    expect(fake.pipeline.controls.usedToday("folotoy", device) * 60).toBeCloseTo(1 + replySeconds, 3); // someAudio() is 1 s
  });
});
