// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core.
import { chromium, type Browser } from "playwright-core";

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
