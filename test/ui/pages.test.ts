// Layout and keyboard, in chromium against a real daemon and tgtd: every page fits a 390 px phone without
// sideways scrolling; the skip link, the navigation and the main actions (log out, log in, discover, save a node)
// work with the keyboard alone, with a visible focus; the preferences and log pages; and a browser
// without the token gets the refusal, not the page. Screenshots of each page go to test/artifacts/ui/.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { freePort } from "../harness/processes.ts";
import { LAPTOP, PHONE, screenshot, scrollsSideways } from "./browser.ts";
import { startDashboard, until, visit, type Dashboard } from "./setup.ts";

let ui: Dashboard;
const iqn = (i: number) => ui.tgt.targets[i]!.iqn;
const sessionCount = async () => JSON.parse((await ui.d.cli(["sessions", "--json"])).stdout).sessions.length as number;

beforeAll(async () => {
  ui = await startDashboard({ targets: 2, luns: [{ sizeMiB: 8 }] });
  expect((await ui.d.cli(["-m", "discovery", "-t", "st", "-p", ui.tgt.portal])).code).toBe(0);
  expect((await ui.d.cli(["login", iqn(0), "-p", ui.tgt.portal])).code).toBe(0);
});

afterAll(async () => {
  await ui?.stop();
});

interface Focused {
  tag: string;
  text: string;
  label: string | null;
  outline: string;
}

const focused = (page: Page) =>
  page.evaluate<Focused>(
    "(() => { const e = document.activeElement; return { tag: e.tagName, text: e.textContent.trim(), label: e.getAttribute('aria-label') ?? (e.labels?.[0]?.textContent ?? null), outline: getComputedStyle(e).outlineStyle }; })()",
  );

/** Presses Tab until `want` matches the focused element; every stop on the way must show its focus. */
async function tabTo(page: Page, want: (f: Focused) => boolean, what: string): Promise<Focused> {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    expect({ ...f, outline: f.outline === "none" ? "invisible" : "visible" }).toEqual({ ...f, outline: "visible" });
    if (want(f)) return f;
  }
  throw new Error(`Tab never reached ${what}`);
}

test("a browser without the token gets the plain refusal, not the dashboard", async () => {
  const context = await ui.browser.newContext();
  try {
    const page = await context.newPage();
    const r = await page.goto(`${ui.base}/#/sessions`);
    expect(r!.status()).toBe(401);
    expect(await page.locator("body").textContent()).toContain(
      "This dashboard needs its token: run `iscsi ui` and open the address it prints.",
    );
    expect(await page.locator("nav").count()).toBe(0);
  } finally {
    await context.close();
  }
});

test("keyboard only: skip link, navigation, log out and in from the nodes list, keeping focus", async () => {
  const { page } = ui;
  // A fresh load (not a hash change from the home page), so the first Tab is the page's first stop.
  await page.goto(`${ui.base}/#/sessions`);
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Sessions" }).waitFor();
  expect((await tabTo(page, () => true, "the first stop")).text).toBe("Skip to content");
  await page.keyboard.press("Enter");
  expect((await focused(page)).tag).toBe("H1");
  await page.keyboard.press("Shift+Tab");
  expect((await focused(page)).text).toBe("Log");
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Shift+Tab");
  expect((await focused(page)).text).toBe("Nodes");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Nodes" }).waitFor();
  expect(await focused(page)).toMatchObject({ tag: "H1", text: "Nodes" });
  await page.getByRole("button", { name: `Log out: ${iqn(0)} at ${ui.tgt.portal}` }).waitFor();
  await tabTo(page, (f) => f.label === `Log out: ${iqn(0)} at ${ui.tgt.portal}`, "the Log out button");
  await page.keyboard.press("Enter");
  await until(sessionCount, (n) => n === 0, "the logout");
  await page.getByRole("button", { name: `Log in: ${iqn(0)} at ${ui.tgt.portal}` }).waitFor();
  expect((await focused(page)).label).toBe(`Log in: ${iqn(0)} at ${ui.tgt.portal}`);
  await page.keyboard.press("Enter");
  await until(sessionCount, (n) => n === 1, "the login");
  await screenshot(page, "nodes");
});

test("keyboard only: the discovery form in tab order, submitted with Enter, a target saved with Space", async () => {
  const { page, d } = ui;
  await d.cli(["-m", "node", "-o", "delete", "-T", iqn(1), "-p", ui.tgt.portal]);
  await visit(page, "discovery", "Discovery");
  expect((await focused(page)).text).toBe("Discovery");
  await tabTo(page, (f) => f.tag === "INPUT" && f.label === "Portal", "the Portal field");
  await page.keyboard.type(ui.tgt.portal);
  expect((await tabTo(page, () => true, "the next stop")).label).toBe("User name");
  expect((await tabTo(page, () => true, "the next stop")).label).toBe("Secret");
  expect((await tabTo(page, () => true, "the next stop")).text).toBe("Discover");
  await page.keyboard.press("Enter");
  const save = `Save ${iqn(1)} at ${ui.tgt.portal} as a node`;
  await page.getByRole("button", { name: save }).waitFor();
  await tabTo(page, (f) => f.label === save, "the Save button of the second target");
  await page.keyboard.press("Space");
  await page.getByRole("link", { name: "Saved — open node" }).nth(1).waitFor();
  const nodes = JSON.parse((await d.cli(["nodes", "--json"])).stdout).nodes.map((n: { target: string }) => n.target);
  expect(nodes).toEqual([iqn(0), iqn(1)]);
});

test("preferences: the initiator name is shown; a default changed with the form lands in the config file", async () => {
  const { page, d } = ui;
  await visit(page, "preferences", "Preferences");
  const status = JSON.parse((await d.cli(["status", "--json"])).stdout).daemon;
  expect(await page.getByLabel("Name", { exact: true }).inputValue()).toBe(status.initiatorName);
  await page.getByText("Defaults for new targets (advanced)").click();
  await page.getByLabel("Setting").selectOption("node.session.queue_depth");
  expect(await page.getByLabel("Default value").inputValue()).toBe("128");
  await page.getByLabel("Default value").fill("64");
  await page.getByRole("button", { name: "Save default" }).click();
  await page.getByRole("row", { name: /node\.session\.queue_depth\s+64\s+config file/ }).waitFor();
  expect(await Bun.file(d.configPath).text()).toContain("node.session.queue_depth = 64\n");
  await page.getByLabel("Default value").fill("many");
  await page.getByRole("button", { name: "Save default" }).click();
  await page.getByRole("alert").filter({ hasText: "node.session.queue_depth: must be a whole number." }).waitFor();
  await screenshot(page, "preferences");
});

test("the log page shows the daemon's recent entries and filters them by level", async () => {
  const { page } = ui;
  await visit(page, "log", "Log");
  const login = page.locator(".log li").filter({ hasText: `logged in to ${iqn(0)}` });
  await login.first().waitFor();
  await page.getByLabel("Show").selectOption("1");
  expect(await login.first().isHidden()).toBe(true);
  await page.getByLabel("Show").selectOption("3");
  expect(await login.first().isVisible()).toBe(true);
  await screenshot(page, "log");
});

test("every page fits a 390 px phone without sideways scrolling", async () => {
  const { page } = ui;
  await page.setViewportSize(PHONE);
  try {
    const node = `node/${encodeURIComponent(iqn(0))}/127.0.0.1/${ui.tgt.port}`;
    const pages: Array<[string, string | RegExp, string]> = [
      ["disks", "Disks", "form"],
      ["add", "Add a NAS", "form"],
      ["sessions", "Sessions", "[data-sid] .figures"],
      ["nodes", "Nodes", "table.grid"],
      [node, iqn(0).split(":").pop()!, "form"],
      ["discovery", "Discovery", "form"],
      ["attachments", "Attachments", "form"],
      ["preferences", "Preferences", "form"],
      ["log", "Log", ".log li"],
    ];
    for (const [route, heading, content] of pages) {
      await visit(page, route, heading);
      await page.locator(content).first().waitFor();
      expect({ route, sideways: await scrollsSideways(page) }).toEqual({ route, sideways: false });
      await screenshot(page, `phone-${route.split("/")[0]}`, true);
    }
    await visit(page, "discovery", "Discovery");
    await page.getByLabel("Portal").fill(ui.tgt.portal);
    await page.getByRole("button", { name: "Discover", exact: true }).click();
    await page.getByRole("heading", { name: `Found at ${ui.tgt.portal}` }).waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, "phone-discovery-results", true);
  } finally {
    await page.setViewportSize(LAPTOP);
  }
});

test("after a daemon restart the page still works, and lists an automatic node it keeps retrying with the last error", async () => {
  const { page, d } = ui;
  const gone = { target: "iqn.2026-11.dev.iscsi.test:gone", portal: `127.0.0.1:${freePort()}` };
  expect((await d.cli(["-m", "node", "-o", "new", "-T", gone.target, "-p", gone.portal])).code).toBe(0);
  expect((await d.cli(["set", "node.startup", "automatic", "-T", gone.target, "-p", gone.portal])).code).toBe(0);
  await d.terminate();
  await d.start();
  await page.goto(`${ui.base}/#/sessions`);
  const row = page.getByRole("row").filter({ hasText: `${gone.target} at ${gone.portal}` });
  // The last error in words (the connection failed), not a catalogue tag.
  await row.filter({ hasText: /connect/i }).waitFor();
  expect(await row.textContent()).not.toMatch(/TRANSPORT/);
  expect(await page.getByRole("heading", { name: "Waiting to log in" }).count()).toBe(1);
  await screenshot(page, "sessions-waiting");
});
