// The attachments page end to end, in chromium against a real daemon and tgtd (needs root, /dev/fuse and loop
// devices): attach a LUN of a logged-in session, write to the loop device and watch the session's write
// throughput and the attachment's counters move, logout refused while attached, detach; ext4 mounted through
// the form; a mount that cannot work is a clear error and leaves nothing attached; an NFS attachment shows its
// route, export URL and NFS counters.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { isMountPoint } from "../../src/attach/loop.ts";
import { loopDevices, ok, sh, TMP } from "../attach/_util.ts";
import { screenshot } from "./browser.ts";
import { startDashboard, until, visit, type Dashboard } from "./setup.ts";

let ui: Dashboard;
let work: string;
const iqn = () => ui.tgt.targets[0]!.iqn;
const attachments = async () =>
  (
    JSON.parse((await ui.d.cli(["attach", "--list", "--json"])).stdout) as {
      attachments: Array<{ id: number; device: string; file: string; mountPoint?: string; mpath: string }>;
    }
  ).attachments;
const choice = (lun: number, size: string) => `${iqn()} at ${ui.tgt.portal}, LUN ${lun} (${size})`;

beforeAll(async () => {
  ui = await startDashboard({ luns: [{ sizeMiB: 32 }, { sizeMiB: 48 }] });
  work = mkdtempSync(join(TMP, "iscsi-ui-attach-"));
  expect((await ui.d.cli(["-m", "discovery", "-t", "st", "-p", ui.tgt.portal])).code).toBe(0);
  expect((await ui.d.cli(["login", iqn(), "-p", ui.tgt.portal])).code).toBe(0);
});

afterAll(async () => {
  for (const a of (await attachments().catch(() => [])) ?? []) await ui.d.cli(["detach", String(a.id), "--force"]);
  await ui?.stop();
  rmSync(work, { recursive: true, force: true });
});

test("attach a LUN from the page; writes to its loop device move the session's figures and the attachment's counters", async () => {
  const { page } = ui;
  await visit(page, "attachments", "Attachments");
  await page.getByText("Nothing attached.").waitFor();
  await page.getByLabel("LUN").selectOption({ label: choice(1, "32.0 MiB") });
  await page.getByRole("button", { name: "Attach", exact: true }).click();
  const [a] = await until(attachments, (l) => l.length === 1, "one attachment");
  expect(a!.device).toMatch(/^\/dev\/loop\d+$/);
  const row = page.getByRole("row").filter({ hasText: a!.device });
  await row.getByText("attached").waitFor();
  // The LU's multipath device: one path, the session's, up and active.
  await page
    .getByRole("table", { name: `Paths of ${a!.mpath}`, exact: true })
    .getByText("up (active)")
    .waitFor();

  await visit(page, "sessions", "Sessions");
  const card = page.locator("[data-sid]");
  // dd in a child process, direct I/O, for a few seconds: every write goes through the daemon's session.
  const dd = sh(
    `end=$((SECONDS+8)); while [ $SECONDS -lt $end ]; do dd if=/dev/zero of=${a!.device} bs=1M count=8 oflag=direct status=none || exit 1; done`,
  );
  try {
    await until(
      async () => (await card.locator('[data-figure="write"]').textContent()) ?? "",
      (t) => /^\d+(\.\d+)? (MiB|GiB)\/s$/.test(t),
      "a write rate in MiB/s",
    );
    await until(
      async () => (await card.locator(".spark polyline").getAttribute("points"))?.split(" ").length ?? 0,
      (n) => n >= 6,
      "six trend points",
    );
    await screenshot(page, "sessions-io");
  } finally {
    expect((await dd).code).toBe(0);
  }

  await card.getByRole("button", { name: "Log out" }).click();
  await card
    .getByRole("alert")
    .filter({ hasText: `has LUN 1 as ${a!.device} (attachment ${a!.id}) attached; detach first` })
    .waitFor();
  expect((await card.getByRole("alert").textContent())!).toMatch(
    / A disk of this connection is still in use: eject it first\.$/,
  );
  // The page offers the safe way out as a button instead of telling the user to type a command.
  expect(await card.getByRole("button", { name: "Eject its disks and log out" }).count()).toBe(1);

  await visit(page, "attachments", "Attachments");
  await until(
    async () => (await row.textContent()) ?? "",
    (t) => /[1-9][\d,]* writes \([\d.]+ (MiB|GiB)\), 0 errors/.test(t),
    "the write counter",
  );
  // An attached LUN is no longer offered.
  await until(
    () => page.getByLabel("LUN").locator("option").allTextContents(),
    (o) => o.length === 1 && o[0] === choice(2, "48.0 MiB"),
    "only LUN 2 offered",
  );
  await screenshot(page, "attachments");
});

test("detach from the page: the row goes, and so does the loop device", async () => {
  const { page } = ui;
  const [a] = await attachments();
  await page.getByRole("button", { name: `Detach ${a!.device}` }).click();
  await page.getByText("Nothing attached.").waitFor();
  expect(await attachments()).toEqual([]);
  expect(loopDevices(a!.file)).toEqual([]);
});

test("mounting: a LUN without a filesystem is a clear error leaving nothing; with ext4 it mounts and detach unmounts", async () => {
  const { page, d } = ui;
  const mnt = join(work, "mnt");
  await ok(`mkdir -p ${mnt}`);
  await page.getByLabel("LUN").selectOption({ label: choice(2, "48.0 MiB") });
  await page.getByLabel("Mount point (optional)").fill(mnt);
  await page.getByRole("button", { name: "Attach", exact: true }).click();
  const failure = page.getByRole("alert").filter({ hasText: /mount/ });
  await failure.waitFor();
  // The daemon's words, without a catalogue tag.
  expect(await failure.textContent()).toMatch(/wrong fs type/);
  expect(await failure.textContent()).not.toMatch(/ — [A-Z_]+: /);
  expect(await attachments()).toEqual([]);

  const plain = JSON.parse((await d.cli(["attach", iqn(), "2", "--json"])).stdout);
  await ok(`mkfs.ext4 -q -F -E nodiscard ${plain.device}`);
  expect((await d.cli(["detach", String(plain.id)])).code).toBe(0);

  // The page rebuilds the form when the attachments change (LUN 2 was attached meanwhile): fill in the one
  // shown once the list is empty again and LUN 2 is offered again.
  await page.getByText("Nothing attached.").waitFor();
  await page.getByLabel("LUN").locator("option", { hasText: "LUN 2" }).waitFor({ state: "attached" });
  await page.getByLabel("LUN").selectOption({ label: choice(2, "48.0 MiB") });
  await page.getByLabel("Mount point (optional)").fill(mnt);
  await page.getByRole("button", { name: "Attach", exact: true }).click();
  const row = page.getByRole("row").filter({ hasText: mnt });
  await row.waitFor().catch(async (e) => {
    throw new Error(`${e}; page says: ${await page.locator("main").innerText()}`);
  });
  expect(isMountPoint(mnt)).toBe(true);
  await screenshot(page, "attachments-mounted");
  await row.getByRole("button", { name: /^Detach / }).click();
  await page.getByText("Nothing attached.").waitFor();
  expect(isMountPoint(mnt)).toBe(false);
});

test("an NFS attachment shows its route, export URL and NFS counters; written through nfs-cp, they move", async () => {
  const { page, d } = ui;
  const a = JSON.parse((await d.cli(["attach", iqn(), "1", "--via", "nfs", "--json"])).stdout);
  const src = join(work, "nfs.bin");
  await ok(`head -c ${1 << 20} /dev/urandom > ${src} && nfs-cp ${src} '${a.export.url}'`);
  await visit(page, "attachments", "Attachments");
  const row = page.getByRole("row").filter({ hasText: a.export.url });
  await row.waitFor();
  await until(
    async () => (await row.textContent()) ?? "",
    (t) => t.includes("nfs") && /[1-9][\d,]* writes \(1\.0 MiB\), 0 errors, \d+ COMMITs, 0 JUKEBOX/.test(t),
    "the NFS counters",
  );
  await screenshot(page, "attachments-nfs");
  expect((await d.cli(["detach", String(a.id)])).code).toBe(0);
  await page.getByText("Nothing attached.").waitFor();
});
