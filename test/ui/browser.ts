// Debian's chromium driven by playwright-core for the dashboard tests: headless, no sandbox (we run as root),
// nothing fetched from the network by the browser itself; screenshots kept under test/artifacts/ui/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = process.env.ISCSI_CHROMIUM ?? "/usr/bin/chromium";
export const ARTIFACTS = join(import.meta.dir, "../artifacts/ui");

const FLAGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--disable-dev-shm-usage",
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 60_000 });
}

export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Saves a screenshot (the viewport, or the whole page) as test/artifacts/ui/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  // A passing notice would cover part of the page (and the CSP rightly refuses an injected style sheet).
  await page.evaluate("document.getElementById('toast')?.classList.remove('show'); window.scrollTo(0, 0)");
  await page.screenshot({ path, fullPage, animations: "disabled" });
  return path;
}

/** True when the page is wider than its viewport (it would scroll sideways). */
export function scrollsSideways(page: Page): Promise<boolean> {
  // A string, since the suite is type-checked without the DOM library.
  return page.evaluate<boolean>("document.documentElement.scrollWidth > document.documentElement.clientWidth");
}
