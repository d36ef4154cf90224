// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core.
import { expect } from "bun:test";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = process.env.HEARTH_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = process.env.HEARTH_SCREENSHOTS ?? "/tmp/hearth-console-screenshots";

const BASE_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...BASE_ARGS, ...extraArgs] });
}

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 860 };

/** Whole-page screenshots of `page` at desktop and phone width (SCREENSHOTS/<name>-desktop.png, -phone.png); the phone layout must not scroll sideways. */
export async function screenshotBoth(page: Page, name: string) {
  for (const [size, label] of [
    [DESKTOP, "desktop"],
    [PHONE, "phone"],
  ] as const) {
    await page.setViewportSize(size);
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: size.width, height: Math.max(size.height, height) });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${label}.png`) });
    if (label === "phone") expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
  }
  await page.setViewportSize(DESKTOP);
}
