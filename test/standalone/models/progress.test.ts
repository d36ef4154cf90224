import { describe, expect, test } from "bun:test";
import { describeProgress, formatBytes, formatDuration, progressFactory, renderBar } from "../../../src/models/progress.ts";

describe("formatting", () => {
  test("percent, MB, MB/s and ETA", () => {
    expect(describeProgress({ done: 120_500_000, total: 287_000_000, bytesPerSecond: 5_300_000 })).toBe("41% 120.5/287.0 MB 5.3 MB/s ETA 0:31");
    expect(describeProgress({ done: 1_000_000, bytesPerSecond: 0 })).toBe("1.0 MB 0.0 MB/s");
    expect(describeProgress({ done: 0, total: 10, bytesPerSecond: 0 })).toBe("0% 0.0/0.0 MB 0.0 MB/s ETA --:--");
  });

  test("durations, sizes, bars", () => {
    expect(formatDuration(75)).toBe("1:15");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatBytes(166_000_000)).toBe("166 MB");
    expect(formatBytes(2_327_524)).toBe("2.3 MB");
    expect(formatBytes(1_117_320_736)).toBe("1.12 GB");
    expect(formatBytes(921)).toBe("921 B");
    expect(renderBar(0.5, 10)).toBe("#####-----");
    expect(renderBar(2, 4)).toBe("####");
  });
});

describe("progressFactory", () => {
  test("lines mode: a start line, at most one line per interval, a done line", () => {
    let now = 0;
    const lines: string[] = [];
    const p = progressFactory("lines", { line: (l) => lines.push(l), intervalMs: 5000, now: () => now })({ label: "qwen", verb: "downloading", detail: "from https://x/q.gguf", total: 100_000_000 });
    for (let i = 1; i <= 20; i++) {
      now = i * 1000;
      p.update(i * 5_000_000);
    }
    p.finish();
    expect(lines[0]).toBe("downloading qwen from https://x/q.gguf (100 MB)");
    expect(lines.slice(1, -1)).toEqual([
      "downloading qwen: 25% 25.0/100.0 MB 5.0 MB/s ETA 0:15",
      "downloading qwen: 50% 50.0/100.0 MB 5.0 MB/s ETA 0:10",
      "downloading qwen: 75% 75.0/100.0 MB 5.0 MB/s ETA 0:05",
      "downloading qwen: 100% 100.0/100.0 MB 5.0 MB/s ETA 0:00",
    ]);
    expect(lines.at(-1)).toBe("downloading qwen: done, 100 MB in 0:20");
  });

  test("auto on a terminal draws one redrawn bar line and ends it with a newline", () => {
    let now = 0;
    let text = "";
    const out = { isTTY: true, columns: 80, write: (s: string) => (text += s) };
    const p = progressFactory("auto", { out, now: () => now })({ label: "amy", verb: "downloading", total: 1000, start: 200 });
    now = 1000;
    p.update(600);
    p.finish();
    const frames = text.split("\r\x1b[2K").filter(Boolean);
    expect(frames[0]).toStartWith("downloading amy [");
    expect(frames[0]).toContain("60% 0.0/0.0 MB");
    expect(frames.at(-1)).toContain("100%");
    expect(text).toEndWith("\n");
  });

  test("auto without a terminal writes lines; none writes nothing", () => {
    const lines: string[] = [];
    progressFactory("auto", { out: { write: () => 0 }, line: (l) => lines.push(l) })({ label: "x", verb: "copying" }).finish();
    expect(lines).toHaveLength(2);
    let wrote = false;
    const p = progressFactory("none", { out: { isTTY: true, write: () => (wrote = true) } })({ label: "x", verb: "copying", total: 5 });
    p.update(3);
    p.finish();
    expect(wrote).toBe(false);
  });
});
