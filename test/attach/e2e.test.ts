// Issue 5's end-to-end test on a real tgtd: attach, mkfs.ext4, mount, 1000 small files and one 1 GiB file,
// fsync, unmount, detach, attach again, every checksum verified, and the raw LUN read by an independent initiator
// (qemu-img) and its filesystem read with debugfs. Then: tgtd killed and restarted during fsync'd writes loses
// nothing; detach while the target is down finishes in bounded time and leaves no FUSE mount or loop device.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { Attachment } from "../../src/attach/attachment.ts";
import { isMountPoint } from "../../src/attach/loop.ts";
import type { Session } from "../../src/session/session.ts";
import { CROSSCHECK_INITIATOR } from "../harness/initiators.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { openSession } from "../interop/_util.ts";
import { cleanup, fuseMounts, loopDevices, made, ok, sh, TMP } from "./_util.ts";

let work: string;
const targets: TgtdTarget[] = [];
const sessions: Session[] = [];

beforeAll(() => {
  work = mkdtempSync(join(TMP, "iscsi-attach-e2e-"));
});

afterEach(async () => {
  await cleanup();
  for (const s of sessions.splice(0)) s.close();
  for (const t of targets.splice(0)) await t.stop();
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

async function target(sizeMiB: number): Promise<{ t: TgtdTarget; session: Session }> {
  const t = await startTgtd({ luns: [{ sizeMiB }] });
  targets.push(t);
  const session = await openSession(t.port, t.targets[0]!.iqn);
  sessions.push(session);
  return { t, session };
}

async function attach(session: Session, opts: { mountDir?: string } = {}): Promise<Attachment> {
  const a = await Attachment.attach(session, 1, opts);
  made.add(a);
  return a;
}

async function detach(a: Attachment, force = false): Promise<void> {
  await a.detach({ force });
  made.delete(a);
}

/** A fresh ext4 on the LUN (full inode tables and journal now, so nothing is written lazily later). */
async function mkfs(session: Session): Promise<void> {
  const a = await attach(session);
  await ok(`mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 ${a.device}`);
  await detach(a);
}

test("1000 small files and a 1 GiB file on ext4 survive unmount, detach and attach; qemu-img and debugfs read the same", async () => {
  const { t, session } = await target(1536);
  await mkfs(session);
  const mnt = join(work, "mnt");
  const sums = join(work, "SHA256SUMS");
  let a = await attach(session, { mountDir: mnt });
  expect(isMountPoint(mnt)).toBe(true);
  await ok(
    [
      "set -e",
      `cd ${mnt}`,
      "mkdir small",
      "for i in $(seq 1 1000); do head -c $(( (i * 7919) % 20000 + 1 )) /dev/urandom > small/f$i; done",
      "head -c 1G /dev/urandom > big",
      "sync big small/* .", // fsync every file and the directory
      `sha256sum big small/* > ${sums}`,
    ].join("\n"),
    { timeoutMs: 300_000 },
  );
  expect(readFileSync(sums, "utf8").trim().split("\n")).toHaveLength(1001);
  const written = a.stats;
  expect(written.bytesWritten).toBeGreaterThan(2 ** 30);
  expect(written.flushes).toBeGreaterThan(0);
  expect(written.errors).toBe(0);
  await detach(a);
  expect(isMountPoint(mnt)).toBe(false);

  // An independent initiator reads the raw LUN; debugfs reads files out of that image without mounting it.
  const raw = join(work, "lun.raw");
  await ok(
    `qemu-img convert -O raw --image-opts driver=iscsi,transport=tcp,portal=${t.portal},target=${t.targets[0]!.iqn},lun=1,initiator-name=${CROSSCHECK_INITIATOR} ${raw}`,
    { timeoutMs: 300_000 },
  );
  const expected = new Map(
    readFileSync(sums, "utf8")
      .trim()
      .split("\n")
      .map((l) => [l.slice(66), l.slice(0, 64)] as const),
  );
  for (const name of ["big", "small/f1", "small/f500", "small/f1000"]) {
    const got = (await ok(`debugfs -R "cat /${name}" ${raw} 2>/dev/null | sha256sum`)).slice(0, 64);
    expect(`${name} ${got}`).toBe(`${name} ${expected.get(name)}`);
  }
  rmSync(raw);

  a = await attach(session, { mountDir: mnt });
  const check = await sh(`cd ${mnt} && sha256sum --quiet -c ${sums}`, { timeoutMs: 300_000 });
  expect(check.stdout + check.stderr).toBe("");
  expect(check.code).toBe(0);
  expect(a.stats.bytesRead).toBeGreaterThan(2 ** 30);
  await detach(a);
}, 600_000);

test("tgtd killed (SIGKILL) and back 3 s later during fsync'd writes: every fsync'd file is intact, the filesystem clean", async () => {
  const { t, session } = await target(256);
  await mkfs(session);
  const mnt = join(work, "mnt-kill");
  const log = join(work, "fsynced");
  let a = await attach(session, { mountDir: mnt });
  // Each file is written and fsync'd (conv=fsync) before its checksum goes to the log outside the mount.
  const writer = sh(
    [
      "set -e",
      `: > ${log}`,
      "for i in $(seq 1 120); do",
      `  dd if=/dev/urandom of=${mnt}/f$i bs=256k count=4 conv=fsync status=none`,
      `  sha256sum ${mnt}/f$i >> ${log}`,
      "done",
    ].join("\n"),
    { timeoutMs: 120_000 },
  );
  await Bun.sleep(800);
  await t.kill9();
  // The kill lands in the middle of the run: some files are done, most are not.
  const doneAtKill = readFileSync(log, "utf8").split("\n").filter(Boolean).length;
  expect(doneAtKill).toBeGreaterThan(0);
  expect(doneAtKill).toBeLessThan(100);
  await Bun.sleep(3000);
  await t.restart();
  const r = await writer;
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(session.stats.reinstatements).toBeGreaterThanOrEqual(1);
  expect(a.stats.errors).toBe(0);
  await detach(a);

  a = await attach(session);
  const fsck = await sh(`e2fsck -fn ${a.device} 2>&1`);
  expect(fsck.code).toBe(0);
  await detach(a);
  a = await attach(session, { mountDir: mnt });
  const lines = readFileSync(log, "utf8").trim().split("\n");
  expect(lines).toHaveLength(120);
  const check = await sh(`sha256sum --quiet -c ${log}`);
  expect(check.stdout + check.stderr).toBe("");
  expect(check.code).toBe(0);
  await detach(a);
}, 300_000);

test("target down longer than the replacement timeout: a waiting write fails with EIO, never success; reads too", async () => {
  const { t, session } = await target(32);
  session.recoveryOptions.replacementTimeoutMs = 2000;
  const a = await attach(session);
  await ok(`dd if=/dev/urandom of=${a.device} bs=64k count=4 oflag=direct status=none`);
  await t.kill9();
  const started = performance.now();
  const w = await sh(`dd if=/dev/zero of=${a.device} bs=64k count=1 seek=100 oflag=direct status=none`, {
    timeoutMs: 30_000,
  });
  const seconds = (performance.now() - started) / 1000;
  expect(w.code).not.toBe(0);
  expect(w.stderr).toMatch(/Input\/output error/);
  expect(seconds).toBeGreaterThan(1); // it waited for the session first
  expect(seconds).toBeLessThan(15);
  const r = await sh(`dd if=${a.device} of=/dev/null bs=64k count=1 iflag=direct status=none`, { timeoutMs: 30_000 });
  expect(r.code).not.toBe(0);
  expect(a.stats.errors).toBeGreaterThanOrEqual(2);
  expect(a.state).toBe("recovering");
  await detach(a, true);
}, 120_000);

test("detach while the target is down: refused unless forced; forced it takes seconds, fails the stuck writer, leaves nothing", async () => {
  const { t, session } = await target(64);
  await mkfs(session);
  const mnt = join(work, "mnt-down");
  const a = await attach(session, { mountDir: mnt });
  await ok(`dd if=/dev/urandom of=${mnt}/before bs=1M count=2 conv=fsync status=none`);
  await t.kill9();
  // A writer that can only hang: the session waits for the target (replacement timeout 120 s).
  const writer = sh(`dd if=/dev/zero of=${mnt}/stuck bs=1M count=8 oflag=direct status=none`, { timeoutMs: 60_000 });
  await Bun.sleep(1500);
  expect(["recovering"]).toContain(a.state);
  await expect(a.detach()).rejects.toThrow(/recovering.*--force/);
  expect(isMountPoint(mnt)).toBe(true);

  const started = performance.now();
  const { file, device } = a;
  await detach(a, true);
  const seconds = (performance.now() - started) / 1000;
  expect(seconds).toBeLessThan(15);
  expect(isMountPoint(mnt)).toBe(false);
  expect(fuseMounts(dirname(file))).toEqual([]);
  expect(loopDevices(file)).toEqual([]);
  expect((await sh(`losetup ${device} 2>&1 | grep -F ${file}`)).code).toBe(1);
  const w = await writer;
  expect(w.code).not.toBe(0); // an error, never a silent success

  // The abandoned commands still wait in the session; once it gives up on them, the buffers are freed.
  session.close();
  let freed = false;
  await Promise.race([a.released.then(() => (freed = true)), Bun.sleep(10_000)]);
  expect(freed).toBe(true);
}, 120_000);
