// The talk page end to end: Chromium's fake microphone plays utt01.wav ("Hello, can you tell me
// a story about a brave little rabbit?") into the page, which records it as WAV, and a real
// Hearth on the test profile transcribes it (Whisper tiny.en), streams a reply (random tiny
// LLM: gibberish, but streamed for real), synthesizes each sentence (tone voice) and the page
// plays it. Needs the console mounted by startHearth (src/app.ts) at "/".
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import type { Hearth } from "../../src/app.ts";
import { AUDIO, startTestHearth } from "../support/hearth.ts";
import { DESKTOP, launchChromium, PHONE, SCREENSHOTS } from "./browser.ts";

let hearth: Hearth;
let browser: Browser;

beforeAll(async () => {
  hearth = await startTestHearth({ HEARTH_LLM_MAX_TOKENS: "48" });
  browser = await launchChromium([
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    `--use-file-for-fake-audio-capture=${join(AUDIO, "utt01.wav")}`,
    "--autoplay-policy=no-user-gesture-required",
  ]);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await hearth?.stop();
});

test("speaking into the talk page shows the transcript, streams the reply and plays it", async () => {
  const home = await fetch(`${hearth.url}/`);
  if (!(home.headers.get("content-type") ?? "").startsWith("text/html")) {
    throw new Error(`startHearth does not serve the console at / (GET / -> ${home.status}): src/app.ts must mount webRoutes()`);
  }
  const page = await browser.newPage({ viewport: PHONE });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${hearth.url}/#talk`);
  await page.waitForFunction(() => (document.getElementById("talk-voice") as HTMLSelectElement).options.length > 0);

  await page.click("#talk-button");
  await page.waitForFunction(() => document.getElementById("talk-status")!.dataset.state === "recording");
  await page.waitForTimeout(4200); // utt01.wav is 3.6 s long
  await page.click("#talk-button");

  const transcript = page.locator('.bubble.user[data-role="transcript"]');
  await transcript.waitFor({ timeout: 60_000 });
  expect((await transcript.innerText()).toLowerCase()).toMatch(/brave little rabbit/);

  const reply = page.locator('.bubble.assistant[data-done="true"]');
  await reply.waitFor({ timeout: 120_000 });
  expect((await reply.locator(".text").innerText()).trim().length).toBeGreaterThan(0);
  expect(await page.locator("#talk-status").getAttribute("data-state")).toBe("idle");
  // every sentence was synthesized as MP3 and played to its end
  const sentences = await reply.locator("button.play").count();
  expect(sentences).toBeGreaterThan(0);
  const player = page.locator("#talk-player");
  expect(Number(await player.getAttribute("data-played"))).toBe(sentences);
  expect(await player.getAttribute("data-failed")).toBeNull();
  const timings = await reply.locator(".timings").innerText();
  for (const label of ["STT", "first token", "first audio", "total"]) expect(timings).toContain(label);
  expect(errors).toEqual([]);
  await page.screenshot({ path: join(SCREENSHOTS, "talk-conversation-phone.png"), fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(SCREENSHOTS, "talk-conversation-desktop.png"), fullPage: true });
  await page.close();
}, 240_000);
