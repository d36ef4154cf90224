import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { appendLineDurable, readJsonLines, writeFileDurable } from "../../../src/util/durable.ts";

const DURABLE_TS = resolve(import.meta.dir, "../../../src/util/durable.ts");

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-durable-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("writeFileDurable", () => {
  test("creates missing folders (0700) and the file (0600), and leaves no temporary file", () => {
    const file = join(dir, "a", "b", "state.json");
    writeFileDurable(file, '{"x":1}\n');
    expect(readFileSync(file, "utf8")).toBe('{"x":1}\n');
    expect(statSync(join(dir, "a")).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, "a", "b"))).toEqual(["state.json"]);
  });

  test("replaces an existing file; unicode round-trips", () => {
    const file = join(dir, "f.txt");
    writeFileDurable(file, "old");
    writeFileDurable(file, "nouveau 新しい 🐇");
    expect(readFileSync(file, "utf8")).toBe("nouveau 新しい 🐇");
    expect(readdirSync(dir)).toEqual(["f.txt"]);
  });

  test("an error between the temporary write and the rename leaves the old file and no temporary file", () => {
    const file = join(dir, "f.txt");
    writeFileDurable(file, "old content");
    let tmpSeen = "";
    expect(() =>
      writeFileDurable(file, "new content", {
        beforeRename(tmp) {
          tmpSeen = tmp;
          expect(readFileSync(tmp, "utf8")).toBe("new content");
          throw new Error("simulated failure");
        },
      }),
    ).toThrow("simulated failure");
    expect(tmpSeen.startsWith(file + ".tmp-")).toBe(true);
    expect(readFileSync(file, "utf8")).toBe("old content");
    expect(readdirSync(dir)).toEqual(["f.txt"]);
  });

  test("a process killed between the temporary write and the rename leaves the old file intact", () => {
    const file = join(dir, "f.txt");
    writeFileDurable(file, "old content");
    const script = `
      import { writeFileDurable } from ${JSON.stringify(DURABLE_TS)};
      writeFileDurable(${JSON.stringify(file)}, "new content", { beforeRename() { process.kill(process.pid, "SIGKILL"); } });
      console.log("not killed");`;
    const run = Bun.spawnSync({ cmd: [process.execPath, "-e", script], stdout: "pipe", stderr: "pipe" });
    expect(run.signalCode).toBe("SIGKILL");
    expect(run.stdout.toString()).not.toContain("not killed");
    expect(readFileSync(file, "utf8")).toBe("old content");
    // The crash happened after the new content was written: it is in the stale temporary file.
    const stale = readdirSync(dir).filter((n) => n !== "f.txt");
    expect(stale).toHaveLength(1);
    expect(stale[0]!.startsWith("f.txt.tmp-")).toBe(true);
    expect(readFileSync(join(dir, stale[0]!), "utf8")).toBe("new content");
  });
});

describe("appendLineDurable", () => {
  test("appends lines, creating the file and its folder", () => {
    const file = join(dir, "sub", "log.jsonl");
    appendLineDurable(file, JSON.stringify({ n: 1 }));
    appendLineDurable(file, JSON.stringify({ n: 2 }));
    expect(readFileSync(file, "utf8")).toBe('{"n":1}\n{"n":2}\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test("refuses a line with a newline, writing nothing", () => {
    const file = join(dir, "log.jsonl");
    expect(() => appendLineDurable(file, "a\nb")).toThrow("newline");
    expect(existsSync(file)).toBe(false);
  });

  test("after a torn last line, the next line starts on a line of its own", () => {
    const file = join(dir, "log.jsonl");
    appendLineDurable(file, JSON.stringify({ n: 1 }));
    appendFileSync(file, '{"n":2,"te'); // power cut mid-append
    appendLineDurable(file, JSON.stringify({ n: 3 }));
    expect(readFileSync(file, "utf8")).toBe('{"n":1}\n{"n":2,"te\n{"n":3}\n');
    expect(readJsonLines<{ n: number }>(file)).toEqual({ items: [{ n: 1 }, { n: 3 }], skipped: 1 });
  });
});

describe("readJsonLines", () => {
  test("a missing file is empty", () => {
    expect(readJsonLines(join(dir, "none.jsonl"))).toEqual({ items: [], skipped: 0 });
  });

  test("skips and counts garbled lines (torn, NUL-filled, rejected), ignores blank ones", () => {
    const file = join(dir, "log.jsonl");
    writeFileSync(file, '{"n":1}\n\n\0\0\0\0\n"just a string"\n{"n":2}\n{"n":3');
    const isN = (v: unknown): v is { n: number } => typeof (v as { n?: unknown })?.n === "number";
    expect(readJsonLines(file, isN)).toEqual({ items: [{ n: 1 }, { n: 2 }], skipped: 3 });
    expect(readJsonLines(file).items).toEqual([{ n: 1 }, "just a string", { n: 2 }]);
  });

  test("throws for something that is not a readable file", () => {
    expect(() => readJsonLines(dir)).toThrow();
  });
});
