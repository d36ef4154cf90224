// The talk page end to end: Chromium's fake microphone plays utt01.wav ("Hello, can you tell me
// a story about a brave little rabbit?") into the page, which records it as WAV, and a real
// Hearth on the test profile transcribes it (Whisper tiny.en), runs the turn of the chosen role
// (`"model": "role:2"`: the role's persona, history kept by Hearth; random tiny LLM: gibberish,
// but streamed for real), synthesizes each sentence in the role's voice and the chosen speaker
// (the 4-speaker tone voice) and the page plays it. The turns land in the turn log, on the
// status page and on the Talk page's own history page. Needs the console mounted by startHearth
// (src/app.ts) at "/".
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import type { Hearth } from "../../../src/app.ts";
import { AUDIO, startTestHearth } from "../../support/hearth.ts";
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

test("speaking to a role on the talk page: transcript, the role's turn streamed and spoken by the chosen speaker, logged", async () => {
  const home = await fetch(`${hearth.url}/`);
  if (!(home.headers.get("content-type") ?? "").startsWith("text/html")) {
    throw new Error(`startHearth does not serve the console at / (GET / -> ${home.status}): src/app.ts must mount webRoutes()`);
  }
  const page = await browser.newPage({ viewport: PHONE });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const sent: { chat: any[]; speech: any[] } = { chat: [], speech: [] };
  page.on("request", (r) => {
    if (r.method() !== "POST") return;
    if (r.url().endsWith("/v1/chat/completions")) sent.chat.push(r.postDataJSON());
    if (r.url().endsWith("/v1/audio/speech")) sent.speech.push(r.postDataJSON());
  });
  await page.goto(`${hearth.url}/#talk`);
  // the default roles.json has roles 1..7; role 2 (English) speaks with the English voice, which has 4 speakers
  await page.waitForFunction(() => (document.getElementById("talk-role") as HTMLSelectElement).options.length === 7);
  await page.selectOption("#talk-role", "2");
  expect(await page.locator("#talk-voice").inputValue()).toBe("fixture-piper-tone");
  await page.locator("#talk-speaker").waitFor({ state: "visible" });
  expect(await page.locator("#talk-speaker option").count()).toBe(4);
  await page.selectOption("#talk-speaker", "3");

  await page.click("#talk-button");
  await page.waitForFunction(() => document.getElementById("talk-status")!.dataset.state === "recording");
  await page.waitForTimeout(4200); // utt01.wav is 3.6 s long
  await page.click("#talk-button");

  const transcript = page.locator('.bubble.user[data-role="transcript"]');
  await transcript.waitFor({ timeout: 60_000 });
  const heard = await transcript.innerText();
  expect(heard.toLowerCase()).toMatch(/brave little rabbit/);

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

  // the role's turn, with only the new message (Hearth keeps the history), spoken by the chosen speaker
  expect(sent.chat).toEqual([{ model: "role:2", messages: [{ role: "user", content: heard }], stream: true, user: "console" }]);
  expect(sent.speech.length).toBe(sentences);
  expect(new Set(sent.speech.map((b) => b.voice))).toEqual(new Set(["fixture-piper-tone:3"]));
  // it is in the turn log, under the completion's id
  const turnId = await reply.getAttribute("data-turn");
  expect(turnId).toBeTruthy();
  const logged = (await (await fetch(`${hearth.url}/api/turns?frontEnd=api&device=console`)).json()).data as any[];
  expect(logged[0]).toMatchObject({ id: turnId, key: { frontEnd: "api", device: "console", role: "2" }, outcome: "replied", transcript: heard });
  expect(errors).toEqual([]);
  await page.screenshot({ path: join(SCREENSHOTS, "talk-conversation-phone.png"), fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(SCREENSHOTS, "talk-conversation-desktop.png"), fullPage: true });

  // a typed follow-up continues the same conversation on Hearth's side
  await page.fill("#talk-text", "And then what happened?");
  await page.click("#talk-form button");
  await page.locator('.bubble.assistant[data-done="true"]').nth(1).waitFor({ timeout: 120_000 });
  expect(sent.chat[1].messages).toEqual([{ role: "user", content: "And then what happened?" }]);
  expect(hearth.pipeline.conversations.history({ frontEnd: "api", device: "console", role: "2" }).map((e) => e.user)).toEqual([heard, "And then what happened?"]);

  // both turns are on the status page (as the Talk page's) and on its own history page
  await page.goto(`${hearth.url}/#status`);
  const group = page.locator('#turns .group[data-group="api/console"]');
  await group.waitFor();
  expect(await group.locator("h3").innerText()).toBe("Talk page");
  expect(await group.locator("article").count()).toBe(2);
  await group.locator("h3 a").click();
  await page.locator("#history-turns article").nth(1).waitFor();
  expect(await page.locator("#history-title").innerText()).toBe("Talk page");
  expect(await page.locator("#history-turns article").first().getAttribute("data-turn")).not.toBe(turnId);
  expect(await page.locator(`#history-turns article[data-turn="${turnId}"] .meta`).innerText()).toContain("role 2 · Talk page");
  expect(errors).toEqual([]);
  await page.screenshot({ path: join(SCREENSHOTS, "talk-history-desktop.png"), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: join(SCREENSHOTS, "talk-history-phone.png"), fullPage: true });
  await page.close();
}, 300_000);
