// What every dashboard test starts with: a tgtd, our daemon with its dashboard on a free port, chromium with
// a page logged in through the address `iscsi ui` prints; and helpers to reach a page and wait on it.
import type { Browser, Page } from "playwright-core";
import { TestDaemon } from "../harness/iscsid.ts";
import { freePort } from "../harness/processes.ts";
import { startTgtd, type TgtdOptions, type TgtdTarget } from "../harness/tgtd.ts";
import { LAPTOP, launchBrowser } from "./browser.ts";

/** Fast failures: one login attempt, quick background retries. */
const CONFIG = [
  "iscsid.startup.retry_initial = 0.2",
  "iscsid.startup.retry_max = 1",
  "node.session.initial_login_retry_max = 0",
  "",
].join("\n");

export interface Dashboard {
  tgt: TgtdTarget;
  d: TestDaemon;
  browser: Browser;
  page: Page;
  /** http://127.0.0.1:PORT, no token. */
  base: string;
  /** The address with the token, as `iscsi ui` printed it. */
  url: string;
  stop(): Promise<void>;
}

export async function startDashboard(tgtd: TgtdOptions = { luns: [{ sizeMiB: 16 }] }): Promise<Dashboard> {
  const d = new TestDaemon({ config: CONFIG, uiPort: freePort() });
  const [tgt, browser] = await Promise.all([startTgtd(tgtd), launchBrowser(), d.start()]);
  const r = await d.cli(["ui", "--json"], { env: { DISPLAY: "", WAYLAND_DISPLAY: "" } });
  if (r.code !== 0) throw new Error(`iscsi ui exited ${r.code}: ${r.stderr}`);
  const url: string = JSON.parse(r.stdout).url;
  const page = await browser.newPage({ viewport: LAPTOP });
  page.setDefaultTimeout(20_000);
  await page.goto(url);
  const base = new URL(url).origin;
  return {
    tgt,
    d,
    browser,
    page,
    base,
    url,
    async stop() {
      await browser.close().catch(() => {});
      await d.stop();
      await tgt.stop();
    },
  };
}

/** Goes to #/route and waits for its heading. */
export async function visit(page: Page, route: string, heading: string | RegExp): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(`#/${route}`)}`);
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

/**
 * Polls `read` (e.g. a locator's text) until `ok` accepts it. From the test side, since the page's CSP rightly
 * forbids evaluating strings in it.
 */
export async function until<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value ${JSON.stringify(value)}`);
    await Bun.sleep(200);
  }
}
