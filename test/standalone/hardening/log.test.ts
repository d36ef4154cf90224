// Logs carry values from outside (a toy's JSON, a client's text): a line stays short and on one
// line whatever it is given, and a warning repeated in a flood is logged a few times, then counted.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { formatLine, logger, MAX_LINE_CHARS, MAX_VALUE_CHARS, REPEAT_LIMIT, resetLogRepeats, setLogLevel } from "../../../src/log.ts";

let lines: string[] = [];
const original = { log: console.log, error: console.error };
beforeEach(() => {
  lines = [];
  resetLogRepeats();
  setLogLevel("info"); // other test files in the same run quiet the log; these tests read it
  console.log = (line: string) => lines.push(line);
  console.error = (line: string) => lines.push(line);
});
afterEach(() => {
  console.log = original.log;
  console.error = original.error;
  setLogLevel("warn");
});

test("a huge untrusted value is cut, and a line never grows past MAX_LINE_CHARS", () => {
  const huge = "x".repeat(1_000_000);
  const line = formatLine("info", "toy", "toy event not handled", { sn: "e465b82b9ec8", params: { blob: huge }, identifier: huge });
  expect(line.length).toBeLessThanOrEqual(MAX_LINE_CHARS + 40);
  expect(line).toContain("more chars]");
  expect(line.startsWith("info toy: toy event not handled sn=e465b82b9ec8 params=")).toBe(true);
  const one = formatLine("warn", "toy", "m", { v: huge });
  expect(one.length).toBeLessThan(MAX_VALUE_CHARS + 60);
});

test("newlines and terminal escapes in a value cannot forge a log line", () => {
  const line = formatLine("info", "toy", "heard", { text: "hi\nerror hearth: fake line\u001b[2J" });
  expect(line.split("\n")).toHaveLength(1);
  expect(line).not.toContain("\u001b");
  expect(line).toContain("\\n");
  // plain words stay bare (journald greps keep working)
  expect(formatLine("info", "toy", "m", { sn: "e465b82b9ec8", n: 3 })).toBe("info toy: m sn=e465b82b9ec8 n=3");
});

test("a repeated warning is logged REPEAT_LIMIT times, then suppressed and counted once", async () => {
  const log = logger("toy");
  for (let i = 0; i < 500; i++) log.warn("ignored an MQTT message", { i });
  expect(lines.filter((l) => l.startsWith("warn toy: ignored an MQTT message"))).toHaveLength(REPEAT_LIMIT);
  // other messages are not affected
  log.warn("something else");
  log.info("info is never rate-limited");
  log.info("info is never rate-limited");
  expect(lines.filter((l) => l.includes("something else"))).toHaveLength(1);
  expect(lines.filter((l) => l.includes("info is never"))).toHaveLength(2);
});
