// The first-run path a new user takes, in chromium against a real daemon and tgtd (needs root, /dev/fuse and
// loop devices): the home page offers "Add your NAS" → its disks by name and size → "Connect and mount" → the
// disk on the home page with its device, mount point, free space and state; the target killed and restarted
// while the page is open shows "reconnecting" then "connected" (with notices); Eject leaves no session, loop
// device, FUSE mount or mount behind. Also: no page shows protocol jargon on its first view, and screenshots of
// each page in light and dark.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { isMountPoint } from "../../src/attach/loop.ts";
import { fuseMounts, loopDevices, ok, TMP } from "../attach/_util.ts";
import { screenshot } from "./browser.ts";
import { startDashboard, until, visit, type Dashboard } from "./setup.ts";

let ui: Dashboard;
let work: string;
let mnt: string;
const iqn = () => ui.tgt.targets[0]!.iqn;
const name = () => iqn().split(":").pop()!;
const attachments = async () => {
  const r = await ui.d.cli(["attach", "--list", "--json"]);
  if (r.code !== 0) throw new Error(`iscsi attach --list exited ${r.code}: ${r.stderr}`);
  const out = JSON.parse(r.stdout);
  return (Array.isArray(out) ? out : out.attachments) as Array<{
    id: number;
    device: string;
    file: string;
    mountPoint?: string;
  }>;
};
const sessions = async () =>
  JSON.parse((await ui.d.cli(["sessions", "--json"])).stdout).sessions as Array<{ sid: number }>;

/**
 * Words a user should not meet on a page's first view: protocol states, session identifiers, raw setting keys
 * and error-catalogue tags. They may appear only inside a closed details panel (not rendered, so not in innerText).
 */
const JARGON = [
  /full-feature/,
  /\bTPGT\b/,
  /\bISID\b/,
  /\bTSIH\b/,
  /node\.conn\[/,
  /node\.session\./,
  /\b[A-Z]+_[A-Z_]+\b/,
  /\bGENERIC\b/,
  / — [A-Z]+: /,
];

async function jargonOn(page: Page): Promise<string[]> {
  // One snapshot of the rendered text; the log page's entries are the daemon's log, verbatim (as `journalctl`
  // would show it), not page text. Read together, so an entry logged meanwhile cannot count as page text.
  const text = await page.evaluate<string>(
    "document.body.innerText.replace(document.querySelector('ol.log')?.innerText ?? '', '')",
  );
  return JARGON.filter((re) => re.test(text)).map((re) => `${re} in: ${text.match(re)![0]}`);
}

beforeAll(async () => {
  ui = await startDashboard({ luns: [{ sizeMiB: 64 }] });
  work = mkdtempSync(join(TMP, "iscsi-ui-first-"));
  mnt = join(work, "nas");
  // A NAS disk usually comes with a filesystem: put one on the backing file before anyone logs in.
  await ok(`mkfs.ext4 -q -F -E nodiscard ${ui.tgt.targets[0]!.luns[0]!.path}`);
});

afterAll(async () => {
  for (const a of (await attachments().catch(() => [])) ?? []) await ui.d.cli(["detach", String(a.id), "--force"]);
  await ui?.stop();
  rmSync(work, { recursive: true, force: true });
});

test("first run: add the NAS, see its disk by name and size, connect and mount it; the home page shows it", async () => {
  const { page } = ui;
  await page.goto(`${ui.base}/`);
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Disks" }).waitFor();
  await page.getByText("No disk is connected yet. Add your NAS to see its disks here.").waitFor();
  expect(await jargonOn(page)).toEqual([]);
  await screenshot(page, "first-run-empty");

  await page.getByLabel("NAS address").fill(ui.tgt.portal);
  await page.getByRole("button", { name: "Find disks" }).click();
  await page.getByRole("heading", { name: `Disks on ${ui.tgt.portal}` }).waitFor();
  const row = page.locator("li.disk").filter({ hasText: name() });
  expect(await row.textContent()).toContain("64.0 MiB");
  expect(await jargonOn(page)).toEqual([]);
  await screenshot(page, "first-run-disks");

  await row.getByLabel("Mount it at").fill(mnt);
  await row.getByRole("button", { name: `Connect and mount ${name()}` }).click();
  const card = page.locator("[data-disk]");
  await card.getByText(mnt).waitFor();
  await card.getByText("connected", { exact: true }).waitFor();
  const [a] = await attachments();
  expect(a!.mountPoint).toBe(mnt);
  expect(isMountPoint(mnt)).toBe(true);
  expect(await card.textContent()).toContain(a!.device);
  await until(
    async () => (await card.textContent()) ?? "",
    (t) => /free of \d/.test(t),
    "the free space",
  );
  // Only the session of the connected disk stays; the home page lost its first-run form.
  expect((await sessions()).length).toBe(1);
  expect(await page.getByRole("button", { name: "Find disks" }).count()).toBe(0);

  await ok(`dd if=/dev/urandom of=${mnt}/file bs=1M count=4 status=none conv=fsync`);
  await until(
    async () => (await card.textContent()) ?? "",
    (t) => /writing [\d.]+ (KiB|MiB)\/s/.test(t),
    "a write rate",
  );
  expect(await jargonOn(page)).toEqual([]);
  await screenshot(page, "home");
});

test("the target killed and restarted while the page is open: 'reconnecting since', then 'connected', with notices", async () => {
  const { page } = ui;
  const card = page.locator("[data-disk]");
  const sum = await ok(`sha256sum ${mnt}/file`);
  await ui.tgt.kill9();
  try {
    await card.getByText(/^reconnecting since \d/).waitFor();
    await page.locator("#notices").getByText(`The connection to ${name()} was lost: reconnecting…`).waitFor();
    await screenshot(page, "home-reconnecting");
  } finally {
    await ui.tgt.restart();
  }
  await card.getByText("connected", { exact: true }).waitFor({ timeout: 60_000 });
  await page.locator("#notices").getByText(`${name()} is connected again.`).waitFor();
  expect(await ok(`sha256sum ${mnt}/file`)).toBe(sum);
});

test("every page, on its first view, speaks without protocol jargon; screenshots light and dark", async () => {
  const { page } = ui;
  const pages: Array<[string, string | RegExp]> = [
    ["disks", "Disks"],
    ["add", "Add a NAS"],
    ["discovery", "Discovery"],
    ["nodes", "Nodes"],
    [`node/${encodeURIComponent(iqn())}/127.0.0.1/${ui.tgt.port}`, name()],
    ["sessions", "Sessions"],
    ["attachments", "Attachments"],
    ["preferences", "Preferences"],
    ["log", "Log"],
  ];
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [route, heading] of pages) {
      await visit(page, route, heading);
      await page.locator("main :is(form, section.card, details.card, table, .log):visible").first().waitFor();
      expect({ route, jargon: await jargonOn(page) }).toEqual({ route, jargon: [] });
      await screenshot(page, `${scheme}-${route.split("/")[0]}`);
    }
  }
  await page.emulateMedia({ colorScheme: "light" });
});

test("Eject unmounts, detaches and logs out, in that order: nothing is left behind", async () => {
  const { page } = ui;
  await visit(page, "disks", "Disks");
  const [a] = await attachments();
  await page.getByRole("button", { name: `Eject ${name()}`, exact: true }).click();
  await page.getByText("No disk is connected yet. Add your NAS to see its disks here.").waitFor();
  expect(await attachments()).toEqual([]);
  expect(await sessions()).toEqual([]);
  expect(isMountPoint(mnt)).toBe(false);
  expect(loopDevices(a!.file)).toEqual([]);
  expect(fuseMounts(a!.file)).toEqual([]);
  expect(existsSync(mnt)).toBe(true);
});
