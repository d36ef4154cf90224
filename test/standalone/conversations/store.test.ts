import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, spyOn, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conversationFileStem, type ConversationKey } from "../../../src/conversations/key.ts";
import { ConversationStore, type ConversationStoreOptions, type StoredTurn } from "../../../src/conversations/store.ts";
import { setLogLevel } from "../../../src/log.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

let root: string;
let dir: string;
let clock: number;

beforeAll(() => setLogLevel("warn"));
afterAll(() => setLogLevel("info"));
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "hearth-conversations-"));
  dir = join(root, "conversations");
  clock = T0;
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function open(opts: Partial<ConversationStoreOptions> = {}): ConversationStore {
  const store = new ConversationStore({ dir, retentionDays: 30, maxExchanges: 200, maxTurns: 2000, now: () => clock, ...opts });
  store.load();
  return store;
}

const toy = (device: string, role = "1"): ConversationKey => ({ frontEnd: "folotoy", device, role });

function turn(id: string, key: ConversationKey, at = clock, extra: Record<string, unknown> = {}): StoredTurn {
  return { id, at, key, transcript: `heard ${id}`, reply: `said ${id}`, ...extra };
}

function fileOf(key: ConversationKey) {
  return join(dir, conversationFileStem(key) + ".jsonl");
}

function lines(file: string): string[] {
  return readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
}

describe("ConversationStore", () => {
  test("a new store on the same folder sees the history and the turns (restart)", () => {
    const a = open();
    const k1 = toy("e465b82b9ec8", "1");
    const k2: ConversationKey = { frontEnd: "api", device: "default", role: "3" };
    a.append(k1, { user: "hello", assistant: "hi there" }, "t1");
    clock += 1000;
    a.append(k1, { user: "a story?", assistant: "Once upon a time." }, "t2");
    a.append(k2, { user: "2+2", assistant: "4" });
    a.recordTurn(turn("t1", k1, T0, { timings: { sttMs: 120 }, sentences: [{ order: 1, text: "hi there" }] }));
    a.recordTurn(turn("t2", k1, T0 + 1000));
    a.recordTurn(turn("t3", k2, T0 + 1000));

    const b = open();
    expect(b.history(k1)).toEqual([
      { at: T0, user: "hello", assistant: "hi there", turnId: "t1" },
      { at: T0 + 1000, user: "a story?", assistant: "Once upon a time.", turnId: "t2" },
    ]);
    expect(b.history(k2)).toEqual([{ at: T0 + 1000, user: "2+2", assistant: "4" }]);
    expect(b.history(toy("e465b82b9ec8", "2"))).toEqual([]);
    expect(b.turns().map((t) => t.id)).toEqual(["t3", "t2", "t1"]);
    expect(b.turn("t1")).toEqual(turn("t1", k1, T0, { timings: { sttMs: 120 }, sentences: [{ order: 1, text: "hi there" }] }));
    expect(b.turn("nope")).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual(["api.default.3.jsonl", "folotoy.e465b82b9ec8.1.jsonl", "turns.jsonl"]);
  });

  test("history() returns copies: changing them changes nothing stored", () => {
    const s = open();
    s.append(toy("a"), { user: "u", assistant: "a" });
    s.history(toy("a"))[0]!.user = "changed";
    expect(s.history(toy("a"))[0]!.user).toBe("u");
  });

  test("a torn last line is skipped with a warning, later appends work, and the file is cleaned", () => {
    const a = open();
    const k = toy("sn1");
    a.append(k, { user: "one", assistant: "1" });
    a.append(k, { user: "two", assistant: "2" });
    a.recordTurn(turn("t1", k));
    appendFileSync(fileOf(k), '{"at":1,"user":"thr'); // power cut mid-append
    appendFileSync(join(dir, "turns.jsonl"), '{"id":"t2","at":');

    const warnings: string[] = [];
    const spy = spyOn(console, "error").mockImplementation((line: string) => void warnings.push(line));
    let b: ConversationStore;
    try {
      b = open();
    } finally {
      spy.mockRestore();
    }
    expect(warnings.some((w) => w.includes("torn") && w.includes(fileOf(k)) && w.includes("count=1"))).toBe(true);
    expect(warnings.some((w) => w.includes("torn") && w.includes("turns.jsonl") && w.includes("count=1"))).toBe(true);
    expect(b.history(k).map((e) => e.user)).toEqual(["one", "two"]);
    expect(b.turns().map((t) => t.id)).toEqual(["t1"]);
    // load rewrote the files without the garbage
    expect(readFileSync(fileOf(k), "utf8")).not.toContain("thr");
    expect(lines(join(dir, "turns.jsonl"))).toHaveLength(1);

    b.append(k, { user: "three", assistant: "3" });
    b.recordTurn(turn("t3", k));
    const c = open();
    expect(c.history(k).map((e) => e.user)).toEqual(["one", "two", "three"]);
    expect(c.turns().map((t) => t.id)).toEqual(["t3", "t1"]);
  });

  test("an append after a torn line that was never cleaned is intact", () => {
    const a = open();
    const k = toy("sn1");
    a.append(k, { user: "one", assistant: "1" });
    appendFileSync(fileOf(k), '{"at":1,"us'); // torn while this store still runs
    a.append(k, { user: "two", assistant: "2" });
    expect(open().history(k).map((e) => e.user)).toEqual(["one", "two"]);
  });

  test("an unreadable file is set aside, never thrown; the rest loads and the conversation works again", () => {
    const good = toy("good");
    const garbled = toy("garbled");
    const folder = toy("folder");
    open().append(good, { user: "kept", assistant: "yes" });
    writeFileSync(fileOf(garbled), "not json at all\n");
    mkdirSync(fileOf(folder)); // a folder where a file should be: reading it fails
    writeFileSync(join(dir, "turns.jsonl"), "\0\0\0\n");

    const s = open();
    expect(s.history(good).map((e) => e.user)).toEqual(["kept"]);
    expect(s.history(garbled)).toEqual([]);
    const names = readdirSync(dir).sort();
    expect(names.filter((n) => n.startsWith(conversationFileStem(garbled) + ".jsonl.corrupt-"))).toHaveLength(1);
    expect(names.filter((n) => n.startsWith(conversationFileStem(folder) + ".jsonl.corrupt-"))).toHaveLength(1);
    expect(names).not.toContain(conversationFileStem(garbled) + ".jsonl");
    // the turn log of garbage lines only is emptied (no turn survives), not kept as is
    expect(existsSync(join(dir, "turns.jsonl"))).toBe(false);

    s.append(garbled, { user: "again", assistant: "ok" });
    expect(open().history(garbled).map((e) => e.user)).toEqual(["again"]);
  });

  test("a header naming another conversation is set aside", () => {
    open().append(toy("a"), { user: "for a", assistant: "x" });
    writeFileSync(fileOf(toy("b")), readFileSync(fileOf(toy("a"))));
    const s = open();
    expect(s.history(toy("b"))).toEqual([]);
    expect(s.history(toy("a")).map((e) => e.user)).toEqual(["for a"]);
    expect(readdirSync(dir).some((n) => n.startsWith("folotoy.b.1.jsonl.corrupt-"))).toBe(true);
  });

  test("stale temporary files from a crash are removed on load", () => {
    const s = open();
    s.append(toy("a"), { user: "u", assistant: "a" });
    writeFileSync(fileOf(toy("a")) + ".tmp-123-abc", "half");
    open();
    expect(readdirSync(dir).sort()).toEqual(["folotoy.a.1.jsonl"]);
  });

  test("clear deletes that conversation's file and nothing else", () => {
    const s = open();
    s.append(toy("a", "1"), { user: "u1", assistant: "a1" });
    s.append(toy("a", "2"), { user: "u2", assistant: "a2" });
    s.clear(toy("a", "1"));
    expect(s.history(toy("a", "1"))).toEqual([]);
    expect(existsSync(fileOf(toy("a", "1")))).toBe(false);
    expect(existsSync(fileOf(toy("a", "2")))).toBe(true);
    expect(open().history(toy("a", "1"))).toEqual([]);
    expect(open().history(toy("a", "2")).map((e) => e.user)).toEqual(["u2"]);
  });

  test("eraseDevice removes every role and every turn of that device from disk", () => {
    const s = open();
    s.append(toy("A", "1"), { user: "secret-A1", assistant: "x" }, "ta1");
    s.append(toy("A", "1"), { user: "secret-A1b", assistant: "x" }, "ta2");
    s.append(toy("A", "2"), { user: "secret-A2", assistant: "x" }, "ta3");
    s.append(toy("B", "1"), { user: "kept-B", assistant: "x" }, "tb1");
    s.append({ frontEnd: "xiaozhi", device: "A", role: "1" }, { user: "other front end", assistant: "x" });
    s.recordTurn(turn("ta1", toy("A", "1")));
    s.recordTurn(turn("ta3", toy("A", "2")));
    s.recordTurn(turn("tb1", toy("B", "1")));
    writeFileSync(fileOf(toy("A", "3")) + ".corrupt-1", "secret-A3 set aside earlier");

    expect(s.eraseDevice("folotoy", "A")).toBe(3 + 2);
    expect(s.history(toy("A", "1"))).toEqual([]);
    expect(s.history(toy("A", "2"))).toEqual([]);
    expect(s.turns().map((t) => t.id)).toEqual(["tb1"]);

    const names = readdirSync(dir).sort();
    expect(names).toEqual(["folotoy.B.1.jsonl", "turns.jsonl", "xiaozhi.A.1.jsonl"]);
    for (const name of names) expect(readFileSync(join(dir, name), "utf8")).not.toMatch(/secret-A|ta1|ta3/);

    const again = open();
    expect(again.history(toy("A", "1"))).toEqual([]);
    expect(again.history(toy("B", "1")).map((e) => e.user)).toEqual(["kept-B"]);
    expect(again.turns().map((t) => t.id)).toEqual(["tb1"]);
    expect(again.eraseDevice("folotoy", "A")).toBe(0);
  });

  test("eraseAll leaves no file behind", () => {
    const s = open();
    s.append(toy("A"), { user: "u", assistant: "a" });
    s.append({ frontEnd: "api", device: "x", role: "1" }, { user: "u", assistant: "a" });
    s.recordTurn(turn("t1", toy("A")));
    writeFileSync(join(dir, "turns.jsonl.corrupt-5"), "old");
    s.eraseAll();
    expect(readdirSync(dir)).toEqual([]);
    expect(s.turns()).toEqual([]);
    expect(s.history(toy("A"))).toEqual([]);
    const again = open();
    expect(again.turns()).toEqual([]);
    expect(again.history(toy("A"))).toEqual([]);
  });

  test("deleteTurn removes the turn from disk", () => {
    const s = open();
    s.recordTurn(turn("t1", toy("A"), T0, { transcript: "private words" }));
    s.recordTurn(turn("t2", toy("A"), T0 + 1));
    expect(s.deleteTurn("t1")).toBe(true);
    expect(s.deleteTurn("t1")).toBe(false);
    expect(s.turn("t1")).toBeUndefined();
    expect(readFileSync(join(dir, "turns.jsonl"), "utf8")).not.toContain("private words");
    expect(open().turns().map((t) => t.id)).toEqual(["t2"]);
    expect(s.deleteTurn("t2")).toBe(true);
    expect(existsSync(join(dir, "turns.jsonl"))).toBe(false);
  });

  test("recording a turn again replaces it, in memory and after a restart", () => {
    const s = open();
    s.recordTurn(turn("t1", toy("A"), T0, { reply: "first" }));
    s.recordTurn(turn("t2", toy("A"), T0 + 5));
    s.recordTurn(turn("t1", toy("A"), T0, { reply: "second", flagged: true }));
    expect(s.turns().map((t) => [t.id, t.reply])).toEqual([["t2", "said t2"], ["t1", "second"]]);
    expect(open().turns().map((t) => [t.id, t.reply])).toEqual([["t2", "said t2"], ["t1", "second"]]);
  });

  test("turns() is newest first and filters by front end, device, flag and limit", () => {
    const s = open();
    s.recordTurn(turn("old", toy("A"), T0 + 1));
    s.recordTurn(turn("new", toy("B"), T0 + 3));
    s.recordTurn(turn("mid", toy("A"), T0 + 2, { flagged: true })); // recorded late, placed by time
    s.recordTurn(turn("api", { frontEnd: "api", device: "A", role: "1" }, T0 + 4));
    expect(s.turns().map((t) => t.id)).toEqual(["api", "new", "mid", "old"]);
    expect(s.turns({ limit: 2 }).map((t) => t.id)).toEqual(["api", "new"]);
    expect(s.turns({ frontEnd: "folotoy" }).map((t) => t.id)).toEqual(["new", "mid", "old"]);
    expect(s.turns({ frontEnd: "folotoy", device: "A" }).map((t) => t.id)).toEqual(["mid", "old"]);
    expect(s.turns({ device: "A", limit: 1 }).map((t) => t.id)).toEqual(["api"]);
    expect(s.turns({ flaggedOnly: (t) => t.flagged === true }).map((t) => t.id)).toEqual(["mid"]);
  });

  test("retention: sweep(now) drops old exchanges and turns from memory and from the files", () => {
    const s = open({ retentionDays: 30 });
    const k = toy("A");
    s.append(k, { user: "from day 0", assistant: "x" });
    s.recordTurn(turn("t-old", k, T0));
    clock = T0 + 20 * DAY;
    s.append(k, { user: "from day 20", assistant: "y" });
    s.recordTurn(turn("t-new", k, clock));
    s.append(toy("B"), { user: "B too", assistant: "z" });

    s.sweep(T0 + 31 * DAY);
    expect(s.history(k).map((e) => e.user)).toEqual(["from day 20"]);
    expect(s.turns().map((t) => t.id)).toEqual(["t-new"]);
    expect(readFileSync(fileOf(k), "utf8")).not.toContain("from day 0");
    expect(readFileSync(join(dir, "turns.jsonl"), "utf8")).not.toContain("t-old");

    s.sweep(T0 + 51 * DAY);
    expect(readdirSync(dir)).toEqual([]);
    expect(s.history(k)).toEqual([]);
  });

  test("retention applies to reads before a sweep, and to set-aside files", () => {
    const s = open({ retentionDays: 1 });
    s.append(toy("A"), { user: "u", assistant: "a" });
    s.recordTurn(turn("t1", toy("A")));
    writeFileSync(join(dir, "folotoy.C.1.jsonl.corrupt-" + T0), "old unreadable data");
    clock = T0 + 2 * DAY;
    expect(s.history(toy("A"))).toEqual([]);
    expect(s.turns()).toEqual([]);
    expect(s.turn("t1")).toBeUndefined();
    s.recordTurn(turn("too-old", toy("A"), T0)); // already past the retention: not stored
    expect(readFileSync(join(dir, "turns.jsonl"), "utf8")).not.toContain("too-old");
    s.sweep();
    expect(readdirSync(dir)).toEqual([]);
  });

  test("retentionDays 0 stores nothing and deletes what an earlier run stored", () => {
    const before = open({ retentionDays: 30 });
    before.append(toy("A"), { user: "u", assistant: "a" });
    before.recordTurn(turn("t1", toy("A")));
    expect(readdirSync(dir)).toHaveLength(2);

    const s = open({ retentionDays: 0 });
    expect(readdirSync(dir)).toEqual([]);
    s.append(toy("A"), { user: "u2", assistant: "a2" });
    s.recordTurn(turn("t2", toy("A")));
    expect(s.history(toy("A"))).toEqual([]);
    expect(s.turns()).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("bounds: exchanges per conversation, and the file stays under 2 x maxExchanges + 1 lines", () => {
    const s = open({ maxExchanges: 3 });
    const k = toy("A");
    let most = 0;
    for (let i = 1; i <= 20; i++) {
      s.append(k, { user: `u${i}`, assistant: `a${i}` });
      most = Math.max(most, lines(fileOf(k)).length);
    }
    expect(s.history(k).map((e) => e.user)).toEqual(["u18", "u19", "u20"]);
    expect(most).toBeLessThanOrEqual(2 * 3 + 1);
    expect(most).toBeGreaterThan(4); // appends, not a rewrite per exchange
    s.sweep();
    expect(lines(fileOf(k))).toHaveLength(4); // header + 3
    expect(open({ maxExchanges: 3 }).history(k).map((e) => e.user)).toEqual(["u18", "u19", "u20"]);
    // a smaller bound on restart trims the file
    open({ maxExchanges: 2 });
    expect(lines(fileOf(k))).toHaveLength(3);
  });

  test("bounds: turns overall, and the turn log stays under 2 x maxTurns lines", () => {
    const s = open({ maxTurns: 5 });
    let most = 0;
    for (let i = 1; i <= 30; i++) {
      s.recordTurn(turn(`t${i}`, toy(i % 2 ? "A" : "B"), T0 + i));
      most = Math.max(most, lines(join(dir, "turns.jsonl")).length);
    }
    expect(s.turns().map((t) => t.id)).toEqual(["t30", "t29", "t28", "t27", "t26"]);
    expect(most).toBeLessThanOrEqual(10);
    expect(open({ maxTurns: 5 }).turns()).toHaveLength(5);
    expect(lines(join(dir, "turns.jsonl"))).toHaveLength(5);
  });

  test("bounds: conversations; the least recently touched one is deleted", () => {
    const s = open({ maxConversations: 3 });
    for (const d of ["A", "B", "C"]) {
      clock += 1000;
      s.append(toy(d), { user: d, assistant: d });
    }
    clock += 1000;
    s.append(toy("A"), { user: "A again", assistant: "A" }); // A is now the most recent
    clock += 1000;
    s.append(toy("D"), { user: "D", assistant: "D" });
    expect(readdirSync(dir).sort()).toEqual(["folotoy.A.1.jsonl", "folotoy.C.1.jsonl", "folotoy.D.1.jsonl"]);
    expect(s.history(toy("B"))).toEqual([]);
    // after a restart, the same order holds
    const again = open({ maxConversations: 3 });
    clock += 1000;
    again.append(toy("E"), { user: "E", assistant: "E" });
    expect(readdirSync(dir).sort()).toEqual(["folotoy.A.1.jsonl", "folotoy.D.1.jsonl", "folotoy.E.1.jsonl"]);
  });

  test("long strings are cut to maxChars", () => {
    const s = open({ maxChars: 10 });
    s.append(toy("A"), { user: "x".repeat(50), assistant: "short" });
    s.recordTurn(turn("t1", toy("A"), T0, { reply: "y".repeat(50), sentences: [{ text: "z".repeat(50) }] }));
    const again = open({ maxChars: 10 });
    expect(again.history(toy("A"))[0]).toMatchObject({ user: "x".repeat(10), assistant: "short" });
    expect(again.turn("t1")).toMatchObject({ reply: "y".repeat(10), sentences: [{ text: "z".repeat(10) }] });
  });

  test("keys with '/', '..', unicode and huge strings cannot leave the folder, and round-trip", () => {
    const keys: ConversationKey[] = [
      { frontEnd: "api", device: "../../escaped", role: "1" },
      { frontEnd: "api", device: "..", role: ".." },
      { frontEnd: "..", device: "/", role: "/etc/passwd" },
      { frontEnd: "api", device: "a/b", role: "1" },
      { frontEnd: "api", device: "a:b", role: "1" },
      { frontEnd: "api", device: "a", role: "b:1" },
      { frontEnd: "api", device: "小明的玩具 🐇", role: "1" },
      { frontEnd: "api", device: "\0nul", role: "1" },
      { frontEnd: "api", device: "../".repeat(200), role: "2" },
      { frontEnd: "web", device: "", role: "" },
    ];
    const s = open();
    keys.forEach((k, i) => s.append(k, { user: `user ${i}`, assistant: `reply ${i}` }));
    expect(readdirSync(root)).toEqual(["conversations"]);
    const names = readdirSync(dir);
    expect(names).toHaveLength(keys.length);
    for (const name of names) {
      expect(name).toMatch(/^[A-Za-z0-9_%~-]+\.[A-Za-z0-9_%~-]+\.[A-Za-z0-9_%~-]+\.jsonl$/);
      expect(statSync(join(dir, name)).isFile()).toBe(true);
    }
    const again = open();
    keys.forEach((k, i) => expect(again.history(k).map((e) => e.user)).toEqual([`user ${i}`]));
    expect(again.eraseDevice("api", "..")).toBe(1);
    expect(readdirSync(dir)).toHaveLength(keys.length - 1);
    expect(readdirSync(root)).toEqual(["conversations"]);
  });

  test("startSweeping applies the retention periodically; stop() ends it", async () => {
    const s = open({ retentionDays: 1 });
    s.append(toy("A"), { user: "u", assistant: "a" });
    s.startSweeping(10);
    clock = T0 + 2 * DAY;
    for (let waited = 0; existsSync(fileOf(toy("A"))) && waited < 2000; waited += 10) await Bun.sleep(10);
    expect(existsSync(fileOf(toy("A")))).toBe(false);
    s.stop();
    s.append(toy("A"), { user: "u2", assistant: "a2" });
    clock += 2 * DAY;
    await Bun.sleep(40);
    expect(existsSync(fileOf(toy("A")))).toBe(true);
  });

  test("methods load on first use when load() was not called", () => {
    open().append(toy("A"), { user: "u", assistant: "a" });
    const s = new ConversationStore({ dir, retentionDays: 30, maxExchanges: 200, maxTurns: 2000, now: () => clock });
    expect(s.history(toy("A")).map((e) => e.user)).toEqual(["u"]);
  });

  test("bad options are refused", () => {
    expect(() => new ConversationStore({ dir, retentionDays: -1, maxExchanges: 1, maxTurns: 1 })).toThrow("retentionDays");
    expect(() => new ConversationStore({ dir, retentionDays: 1, maxExchanges: 0, maxTurns: 1 })).toThrow("maxExchanges");
    expect(() => new ConversationStore({ dir, retentionDays: 1, maxExchanges: 1, maxTurns: 1.5 })).toThrow("maxTurns");
  });
});
