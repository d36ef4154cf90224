// The console's device controls against a real Hearth (test profile, xiaozhi pairing on) and a
// simulated xiaozhi device in a real headless Chromium: the device waiting for approval is listed
// on the Status page without its code; the parent types the code the device shows and approves it,
// and the device connects. On the device's page the parent switches its role: its very next turn
// talks as the chosen role (the pinned grammar of each role says which one answered), the choice
// is kept in devices.json, and giving it back returns the device to [xiaozhi] role.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { SimXiaozhi } from "../../../scripts/lib/xiaozhi-simulator.ts";
import type { Hearth } from "../../../src/app.ts";
import { startTestHearth } from "../../support/hearth.ts";
import { REPLY_SENTENCES } from "../folotoy/helpers.ts";
import { UTT, XIAOZHI_ROLES } from "../xiaozhi/helpers.ts";
import { DESKTOP, launchChromium, SCREENSHOTS, screenshotBoth } from "./browser.ts";

const MAC = "aa:bb:cc:00:00:41";
const DEVICE = "aabbcc000041";
let hearth: Hearth;
let stateDir: string;
let browser: Browser;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "hearth-devices-console-"));
  writeFileSync(join(stateDir, "roles.json"), JSON.stringify(XIAOZHI_ROLES));
  hearth = await startTestHearth({ HEARTH_STATE_DIR: stateDir, HEARTH_XIAOZHI_ROLE: "2", HEARTH_XIAOZHI_REQUIRE_PAIRING: "true" });
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await hearth?.stop();
});

test("a device waiting for approval: the parent types the code it shows, and it connects", async () => {
  const dev = new SimXiaozhi({ ota: `${hearth.url}/xiaozhi/ota/`, mac: MAC, board: "bread-compact-wifi" });
  const booted = dev.boot({ pollMs: 300, maxRounds: 200 });
  const page = await browser.newPage({ viewport: DESKTOP });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await page.goto(`${hearth.url}/#status`);
    const row = page.locator(`#waiting .waiting-device[data-device="${DEVICE}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.locator(".who").innerText()).toContain(MAC);
    // what the device shows and says (the console itself never shows it)
    const code = dev.ota!.activation!.code as string;
    expect(code).toMatch(/^\d{6}$/);
    expect(await page.locator("#waiting").innerText()).not.toContain(code);
    await screenshotBoth(page, "status-waiting-device");

    // a typo is refused in words, and nothing is approved
    const wrong = code === "000000" ? "111111" : "000000";
    await row.locator("input.code").fill(wrong);
    await row.locator("button").click();
    await page.waitForFunction((d) => /No device is waiting with that code/.test(document.querySelector(`.waiting-device[data-device="${d}"] .message`)!.textContent!), DEVICE);
    expect(((await (await fetch(`${hearth.url}/api/xiaozhi/devices`)).json()).data as any[])[0].approved).toBe(false);

    await row.locator("input.code").fill(code);
    await row.locator("button").click();
    await page.waitForFunction(() => /^Approved aa:bb:cc:00:00:41/.test(document.getElementById("waiting-message")!.textContent!));
    expect(await page.locator(".waiting-device").count()).toBe(0);
    const answer = await booted;
    expect(answer.websocket?.token).toMatch(/^[0-9a-f]{32}$/);
    await dev.connect();
    await page.locator(`#toys .toy[data-sn="${DEVICE}"] .dot.on`).waitFor();
    expect(errors).toEqual([]);
  } finally {
    dev.close();
    await page.close();
  }
}, 90_000);

test("switching a device's role in the console: its next turn talks as that role, the choice is kept, and can be given back", async () => {
  const dev = new SimXiaozhi({ ota: `${hearth.url}/xiaozhi/ota/`, mac: MAC });
  const page = await browser.newPage({ viewport: DESKTOP });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await dev.boot(); // approved by the test before
    await dev.connect();
    const first = await dev.say(UTT(1), { mode: "manual", pace: 4 });
    expect(first.sentences).toEqual(["Role two here."]); // [xiaozhi] role = "2"

    await page.goto(`${hearth.url}/#history/xiaozhi/${DEVICE}`);
    const select = page.locator("#role-select");
    await page.locator("#role-form").waitFor({ state: "visible" });
    expect(await select.inputValue()).toBe("");
    expect(await select.locator("option").allInnerTexts()).toEqual(["Its usual role (2 · You are an owl.)", "Role 1 · You are a rabbit.", "Role 2 · You are an owl."]);
    await select.selectOption("1");
    await page.waitForFunction(() => /^Switched: it talks as role 1 \(“You are a rabbit.”\) from its next question/.test(document.getElementById("role-message")!.textContent!));
    await page.waitForFunction(() => document.getElementById("history-facts")!.textContent!.includes("1 (chosen here)"));
    expect(await page.locator("#role-hint").innerText()).toContain("Chosen here: it talks as role 1");

    // the very next turn, on the same connection
    const second = await dev.say(UTT(1), { mode: "manual", pace: 4 });
    expect(second.sentences).toEqual(REPLY_SENTENCES);
    const turns = (await (await fetch(`${hearth.url}/api/turns?frontEnd=xiaozhi&device=${DEVICE}`)).json()).data as any[];
    expect(turns[0]).toMatchObject({ role: "1", key: { frontEnd: "xiaozhi", device: DEVICE, role: "1" } });
    // kept with the device's controls, for the next start
    const stored = JSON.parse(readFileSync(join(stateDir, "devices.json"), "utf8"));
    expect(stored.devices[`xiaozhi:${DEVICE}`].role).toBe("1");
    const toys = (await (await fetch(`${hearth.url}/api/toys`)).json()).data as any[];
    expect(toys.find((t) => t.sn === DEVICE)).toMatchObject({ role: 1, ownRole: 2, chosenRole: "1" });
    await page.locator(`#history-turns article`).first().waitFor();
    await screenshotBoth(page, "device-role-switched");
    await page.goto(`${hearth.url}/#status`);
    await page.waitForFunction((d) => document.querySelector(`#toys .toy[data-sn="${d}"]`)?.textContent?.includes("1 (chosen here)"), DEVICE);

    // given back: the device's own role again
    await page.goto(`${hearth.url}/#history/xiaozhi/${DEVICE}`);
    await page.locator("#role-form").waitFor({ state: "visible" });
    expect(await select.inputValue()).toBe("1");
    await select.selectOption("");
    await page.waitForFunction(() => /^Done: it follows its own role choice again/.test(document.getElementById("role-message")!.textContent!));
    const third = await dev.say(UTT(1), { mode: "manual", pace: 4 });
    expect(third.sentences).toEqual(["Role two here."]);
    expect(JSON.parse(readFileSync(join(stateDir, "devices.json"), "utf8")).devices[`xiaozhi:${DEVICE}`].role).toBeUndefined();
    expect(errors).toEqual([]);
  } finally {
    dev.close();
    await page.close();
  }
}, 120_000);
