// `iscsi attach --via nfs` through a real daemon against tgtd, checked with independent NFS clients (libnfs's
// nfs-cp, nfs-cat, nfs-ls) and qemu-img on the LU: 64 MiB in and out identical; the listing shows route, export
// and counters; a client on an unreserved port and one run as a non-root user learn nothing of the export.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { MOUNT_PROGRAM, MOUNT_V3, MountProc } from "../../src/nfs/mount.ts";
import { AuthFlavor, decodeReply, encodeAuthSys, encodeCall } from "../../src/nfs/rpc.ts";
import { RecordReader } from "../../src/nfs/record.ts";
import { TestDaemon, type CliResult } from "../harness/iscsid.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { ok, sh, TMP } from "../attach/_util.ts";

let t: TgtdTarget;
let d: TestDaemon;
let work: string;
const iqn = () => t.targets[0]!.iqn;

async function json<T = any>(args: string[]): Promise<T> {
  const r: CliResult = await d.cli([...args, "--json"]);
  if (r.code !== 0) throw new Error(`iscsi ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  t = await startTgtd({ luns: [{ sizeMiB: 80 }] });
  d = new TestDaemon();
  await d.start();
  work = mkdtempSync(join(TMP, "iscsi-nfs-"));
  expect((await d.cli(["-m", "discovery", "-t", "sendtargets", "-p", t.portal])).code).toBe(0);
}, 300_000);

afterAll(async () => {
  await d?.stop();
  await t?.stop();
  rmSync(work, { recursive: true, force: true });
}, 300_000);

/** One RPC call over a fresh TCP connection from an unreserved port (any user can bind one); the decoded reply. */
async function callFromUnreservedPort(port: number, proc: number, args: Uint8Array) {
  const reader = new RecordReader(1 << 20);
  const body = encodeCall(
    {
      xid: 7,
      prog: MOUNT_PROGRAM,
      vers: MOUNT_V3,
      proc,
      cred: { flavor: AuthFlavor.Sys, body: encodeAuthSys({ stamp: 1, machineName: "x", uid: 0, gid: 0, gids: [] }) },
    },
    args,
  );
  const framed = new Uint8Array(4 + body.length);
  new DataView(framed.buffer).setUint32(0, (0x8000_0000 | body.length) >>> 0);
  framed.set(body, 4);
  const got = Promise.withResolvers<Uint8Array>();
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_s, chunk) => {
        const r = reader.push(chunk);
        if (r[0]) got.resolve(r[0]);
      },
      close: () => got.reject(new Error("closed")),
    },
  });
  expect(s.localPort).toBeGreaterThanOrEqual(1024);
  s.write(framed);
  try {
    return decodeReply(await got.promise);
  } finally {
    s.end();
  }
}

test("attach --via nfs --json gives export.url; 64 MiB through nfs-cp in and out is identical, also through qemu-img on the LU", async () => {
  const a = await json(["attach", iqn(), "1", "--via", "nfs"]);
  expect(a).toMatchObject({ backend: "nfs", state: "attached", lun: 1, sizeBytes: String(80 << 20), readOnly: false });
  expect(a.export.url).toMatch(
    /^nfs:\/\/127\.0\.0\.1\/iscsi\/[0-9a-f]{16}\/lun1\.img\?version=3&nfsport=\d+&mountport=\d+$/,
  );
  expect(a.export.url).toContain(`nfsport=${a.export.port}&mountport=${a.export.port}`);
  const src = join(work, "in.bin");
  await ok(`head -c ${64 << 20} /dev/urandom > ${src}`);
  await ok(`nfs-cp ${src} '${a.export.url}'`, { timeoutMs: 300_000 });
  await ok(`nfs-cp '${a.export.url}' ${join(work, "out.bin")}`, { timeoutMs: 300_000 });
  await ok(`cmp -n ${64 << 20} ${src} ${join(work, "out.bin")}`);
  await ok(`nfs-cat '${a.export.url}' | cmp -n ${64 << 20} - ${src}`, { timeoutMs: 300_000 });
  await ok(`qemu-img convert -f raw -O raw iscsi://${t.portal}/${iqn()}/1 ${join(work, "lu.bin")}`, {
    timeoutMs: 300_000,
  });
  await ok(`cmp -n ${64 << 20} ${src} ${join(work, "lu.bin")}`);

  const [listed] = (await json(["attach", "--list"])).attachments;
  expect(listed.export).toEqual(a.export);
  expect(listed.nfs.writes).toBeGreaterThanOrEqual(64);
  expect(listed.nfs.bytesWritten).toBe(64 << 20);
  expect(listed.nfs.bytesRead).toBeGreaterThanOrEqual(2 * (64 << 20));
  expect(listed.nfs.errors).toBe(0);
  const table = await d.cli(["attach", "--list"]);
  expect(table.stdout).toContain(a.export.url);
  expect(table.stdout).toMatch(/\d+ r \/ \d+ w \/ \d+ commit \/ 0 jukebox \/ 0 err/);
  const ls = await ok(
    `nfs-ls 'nfs://127.0.0.1${a.export.path}?version=3&nfsport=${a.export.port}&mountport=${a.export.port}'`,
  );
  expect(ls).toMatch(new RegExp(`-rw-------\\s+1\\s+0\\s+0\\s+${80 << 20} lun1\\.img`));
}, 300_000);

test("a client on an unreserved port and nfs-ls run as nobody are refused and learn nothing of the export", async () => {
  const [a] = (await json(["attach", "--list"])).attachments;
  const port = a.export.port;
  for (const proc of [MountProc.Null, MountProc.Export]) {
    const r = await callFromUnreservedPort(port, proc, new Uint8Array(0));
    // MSG_DENIED, AUTH_ERROR, AUTH_TOOWEAK: no procedure ran.
    expect({ accepted: r.accepted, stat: r.stat, why: r.body.u32(), left: r.body.remaining }).toEqual({
      accepted: false,
      stat: 1,
      why: 5,
      left: 0,
    });
  }
  const user = await sh(
    `setpriv --reuid=65534 --regid=65534 --clear-groups nfs-ls 'nfs://127.0.0.1${a.export.path}?version=3&nfsport=${port}&mountport=${port}'`,
    { timeoutMs: 30_000 },
  );
  expect(user.code).not.toBe(0);
  expect(user.stdout + user.stderr).not.toContain("lun1.img");
  const cat = await sh(`setpriv --reuid=65534 --regid=65534 --clear-groups nfs-cat '${a.export.url}' | wc -c`, {
    timeoutMs: 30_000,
  });
  expect(cat.stdout.trim()).toBe("0");
}, 300_000);

test("bad routes are refused before anything is attached: an unknown --via, and --mount on Linux's NFS route", async () => {
  const before = (await json(["attach", "--list"])).attachments;
  const bogus = await d.cli(["attach", iqn(), "1", "--via", "smb"]);
  expect([bogus.code, bogus.stderr.trim()]).toEqual([
    7,
    expect.stringContaining('--via must be fuse or nfs, not "smb"'),
  ]);
  const mount = await d.cli(["attach", iqn(), "1", "--via", "nfs", "--mount", work]);
  expect(mount.code).toBe(7);
  expect(mount.stderr).toContain("on Linux the NFS route only serves the export");
  expect((await json(["attach", "--list"])).attachments).toEqual(before);
}, 300_000);

test("detach removes the export: clients get nothing more", async () => {
  const [a] = (await json(["attach", "--list"])).attachments;
  expect((await json(["detach", String(a.id)])).detached[0].nfs.errors).toBe(0);
  const gone = await sh(
    `nfs-ls 'nfs://127.0.0.1${a.export.path}?version=3&nfsport=${a.export.port}&mountport=${a.export.port}'`,
    { timeoutMs: 30_000 },
  );
  expect(gone.code).not.toBe(0);
  expect((await json(["attach", "--list"])).attachments).toEqual([]);
}, 300_000);
