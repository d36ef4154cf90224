import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { downloadFile, partPath } from "../../../src/models/download.ts";
import { ModelError } from "../../../src/models/errors.ts";
import type { ProgressFactory, ProgressTask } from "../../../src/models/progress.ts";
import { bytesOf, sha256, startServers, type FixtureServers } from "../../support/http-fixture.ts";

const data = bytesOf(600_000, 7);
const small = bytesOf(1000, 3);
let srv: FixtureServers;
let dir: string;

beforeAll(() => {
  srv = startServers({ "data.bin": data, "small.bin": small });
  dir = mkdtempSync(join(tmpdir(), "hearth-download-"));
});
afterAll(() => {
  srv.stop();
  rmSync(dir, { recursive: true, force: true });
});

const fast = { retryDelayMs: 10, stallTimeoutMs: 5000 };
const fileSha = (p: string) => sha256(readFileSync(p));

describe("downloadFile", () => {
  test("downloads a file whole and removes the .part", async () => {
    const dest = join(dir, "whole.bin");
    const r = await downloadFile(`${srv.url}/files/data.bin`, dest, fast);
    expect(r).toMatchObject({ size: data.length, attempts: 1, resumed: false });
    expect(fileSha(dest)).toBe(sha256(data));
    expect(existsSync(partPath(dest))).toBe(false);
  });

  test("follows redirects", async () => {
    const dest = join(dir, "redirected.bin");
    await downloadFile(`${srv.url}/redirect/small.bin`, dest, fast);
    expect(fileSha(dest)).toBe(sha256(small));
  });

  test("a dropped connection leaves a .part; the next call resumes it with a Range request", async () => {
    const dest = join(dir, "dropped.bin");
    const url = `${srv.dropUrl}/drop/data.bin`;
    const err = await downloadFile(url, dest, { ...fast, retries: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err.message).toContain("kept in");
    expect(existsSync(dest)).toBe(false);
    const partial = statSync(partPath(dest)).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(data.length);

    const r = await downloadFile(url, dest, fast);
    expect(r.resumed).toBe(true);
    expect(fileSha(dest)).toBe(sha256(data));
    const resumeRequest = srv.requests.filter((q) => q.path === "/drop/data.bin").at(-1)!;
    expect(resumeRequest.range).toBe(`bytes=${partial}-`);
  });

  test("with retries, a dropped connection is resumed within the same call", async () => {
    const dest = join(dir, "dropped-auto.bin");
    const r = await downloadFile(`${srv.dropUrl}/drop/small.bin`, dest, fast);
    expect(r).toMatchObject({ attempts: 2, resumed: true, size: small.length });
    expect(fileSha(dest)).toBe(sha256(small));
  });

  test("a stalled connection is abandoned and the retry resumes where it stopped", async () => {
    const dest = join(dir, "stalled.bin");
    const r = await downloadFile(`${srv.url}/stall/data.bin`, dest, { retryDelayMs: 10, stallTimeoutMs: 300 });
    expect(r.attempts).toBe(2);
    expect(r.resumed).toBe(true);
    expect(fileSha(dest)).toBe(sha256(data));
    expect(srv.requests.filter((q) => q.path === "/stall/data.bin").map((q) => q.range)).toEqual([null, `bytes=${data.length >> 1}-`]);
  });

  test("retries a 503 with backoff", async () => {
    const dest = join(dir, "flaky.bin");
    const r = await downloadFile(`${srv.url}/flaky/small.bin`, dest, fast);
    expect(r.attempts).toBe(2);
    expect(fileSha(dest)).toBe(sha256(small));
  });

  test("a server that ignores Range: starts over and still ends with the right bytes", async () => {
    const dest = join(dir, "norange.bin");
    writeFileSync(partPath(dest), data.subarray(0, 1234));
    await downloadFile(`${srv.url}/norange/data.bin`, dest, fast);
    expect(fileSha(dest)).toBe(sha256(data));
  });

  test("a .part that is already complete is accepted (416)", async () => {
    const dest = join(dir, "complete.bin");
    writeFileSync(partPath(dest), small);
    await downloadFile(`${srv.url}/files/small.bin`, dest, fast);
    expect(fileSha(dest)).toBe(sha256(small));
  });

  test("404 fails at once with the status and URL", async () => {
    const dest = join(dir, "missing.bin");
    const err = await downloadFile(`${srv.url}/files/nope.bin`, dest, fast).catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err.message).toContain("HTTP 404");
    expect(err.message).toContain("/files/nope.bin");
    expect(existsSync(dest)).toBe(false);
  });

  test("reports progress with the total from Content-Length", async () => {
    const tasks: ProgressTask[] = [];
    const updates: number[] = [];
    let finished = 0;
    const progress: ProgressFactory = (task) => {
      tasks.push(task);
      return { update: (d) => updates.push(d), finish: () => finished++, fail() {} };
    };
    await downloadFile(`${srv.url}/files/data.bin`, join(dir, "progress.bin"), { ...fast, progress, label: "data" });
    expect(tasks[0]).toMatchObject({ label: "data", verb: "downloading", total: data.length, start: 0 });
    expect(updates.at(-1)).toBe(data.length);
    expect(finished).toBe(1);
  });
});
