// xiaozhi.json: tokens and approvals survive a restart; pairing codes; a bounded file.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeviceRegistry } from "../../../src/devices/xiaozhi/registry.ts";
import type { OtaRequest } from "../../../src/devices/xiaozhi/ota.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function file() {
  const dir = mkdtempSync(join(tmpdir(), "hearth-xz-reg-"));
  dirs.push(dir);
  return join(dir, "xiaozhi.json");
}
const req = (device: string, extra: Partial<OtaRequest> = {}): OtaRequest => ({ device, deviceIdHeader: device, firmware: "1.9.0", board: "esp-box-3", ...extra });

test("a device keeps its token across check-ins and restarts", () => {
  const f = file();
  const a = new DeviceRegistry(f);
  const d = a.seen(req("aabbccddeeff"), false);
  expect(d.token).toMatch(/^[0-9a-f]{32}$/);
  expect(d.approved).toBe(true);
  expect(a.seen(req("aabbccddeeff", { firmware: "1.9.1" }), false).token).toBe(d.token);
  const b = new DeviceRegistry(f);
  b.load();
  expect(b.get("aabbccddeeff")).toMatchObject({ token: d.token, firmware: "1.9.1", approved: true });
  expect(b.accepts("aabbccddeeff", d.token, false)).toBe(true);
  expect(b.accepts("aabbccddeeff", "0".repeat(32), false)).toBe(false);
  expect(b.accepts("aabbccddeeff", undefined, false)).toBe(false);
  expect(b.accepts("001122334455", d.token, false)).toBe(false);
});

test("pairing: one stable code per waiting device; approval by code, remembered", () => {
  const f = file();
  const a = new DeviceRegistry(f);
  const d = a.seen(req("aabbccddee01"), true);
  expect(d.approved).toBe(false);
  const { code, challenge } = a.pairingCode(d.device);
  expect(code).toMatch(/^\d{6}$/);
  expect(a.pairingCode(d.device)).toEqual({ code, challenge });
  expect(a.accepts(d.device, d.token, true)).toBe(false);
  expect(a.approveCode(code === "000000" ? "111111" : "000000")).toBeUndefined();
  expect(a.approveCode(code)!.device).toBe(d.device);
  expect(a.approveCode(code)).toBeUndefined(); // used
  const b = new DeviceRegistry(f);
  b.load();
  expect(b.accepts(d.device, d.token, true)).toBe(true);
  // pairing turned off later: a device that was waiting may talk
  const w = b.seen(req("aabbccddee02"), true);
  expect(b.seen(req("aabbccddee02"), false).approved).toBe(true);
  expect(b.accepts(w.device, w.token, false)).toBe(true);
});

test("a corrupt file is set aside; the file stays bounded", () => {
  const f = file();
  writeFileSync(f, "{broken");
  const a = new DeviceRegistry(f);
  a.load();
  expect(a.list()).toEqual([]);
  for (let i = 0; i < 260; i++) a.seen(req(`dev${String(i).padStart(4, "0")}`), false);
  expect(a.list().length).toBe(256);
  expect(a.get("dev0000")).toBeUndefined();
  expect(a.get("dev0259")).toBeDefined();
  expect(Object.keys(JSON.parse(readFileSync(f, "utf8")).devices).length).toBe(256);
});
