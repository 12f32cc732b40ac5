// The NFS server's RPC and NFSv3 rules, call by call over an in-memory disk: RPC version, credentials and source
// port checked before any procedure; unknown programs, versions and procedures answered with their error; the
// data-safety semantics (FUA for FILE_SYNC, COMMIT as a cache flush, one verifier, JUKEBOX while recovering, IO
// once down); the file's size and the export's names never change; a read-only export refuses every write.
import { expect, test } from "bun:test";
import { NfsExport } from "../../src/attach/nfs/export.ts";
import { answer, type ProgramContext } from "../../src/attach/nfs/programs.ts";
import { MOUNT_PROGRAM, MountProc } from "../../src/nfs/mount.ts";
import { NFS_PROGRAM, Nfs3Proc, Nfs3Status as S, StableHow } from "../../src/nfs/nfs3-types.ts";
import { AuthFlavor, decodeReply, encodeAuthSys, encodeCall } from "../../src/nfs/rpc.ts";
import { XdrWriter } from "../../src/nfs/xdr.ts";
import { MemDisk } from "./_memdisk.ts";

const ROOT: { flavor: number; body: Uint8Array } = {
  flavor: AuthFlavor.Sys,
  body: encodeAuthSys({ stamp: 1, machineName: "mac", uid: 0, gid: 0, gids: [] }),
};

function setup(opts: { readOnly?: boolean; grace?: boolean } = {}) {
  const disk = new MemDisk(1 << 20);
  const x = new NfsExport("/iscsi/abc", "lun1.img", disk, opts.readOnly ?? false);
  const ctx: ProgramContext = {
    take: (n) => new Uint8Array(n),
    verifier: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
    inGrace: () => opts.grace ?? false,
    exportById: (id) => (id === x.id ? x : undefined),
    exportByPath: (p) => (p === x.path ? x : undefined),
    exportPaths: () => [x.path],
  };
  /** Calls and returns the reply's header and a reader at its results. */
  const call = async (
    proc: number,
    args: (w: XdrWriter) => unknown = () => {},
    o: { prog?: number; vers?: number; cred?: typeof ROOT; privileged?: boolean; rpcvers?: number } = {},
  ) => {
    const w = new XdrWriter();
    args(w);
    const record = encodeCall(
      { xid: 9, prog: o.prog ?? NFS_PROGRAM, vers: o.vers ?? 3, proc, cred: o.cred ?? ROOT },
      w.finish(),
    );
    if (o.rpcvers !== undefined) new DataView(record.buffer, record.byteOffset).setUint32(8, o.rpcvers);
    return decodeReply((await answer(ctx, record, o.privileged ?? true)).subarray(4));
  };
  return { disk, x, ctx, call };
}

const fh = (h: Uint8Array) => (w: XdrWriter) => w.opaque(h);
const write = (h: Uint8Array, offset: number, data: Uint8Array, stable: number) => (w: XdrWriter) =>
  w.opaque(h).u64(offset).u32(data.length).u32(stable).opaque(data);

test("RPC gatekeeping: unreserved port, RPC version, flavours, programs, versions and procedures each get their answer", async () => {
  const { x, call } = setup();
  const denied = async (r: Promise<ReturnType<typeof decodeReply>>) => {
    const d = await r;
    return [d.accepted, d.stat, d.body.u32(), d.body.remaining];
  };
  // MSG_DENIED AUTH_ERROR AUTH_TOOWEAK: an unprivileged client learns nothing, not even from NULL.
  expect(await denied(call(Nfs3Proc.GetAttr, fh(x.fileHandle), { privileged: false }))).toEqual([false, 1, 5, 0]);
  expect(await denied(call(Nfs3Proc.Null, undefined, { privileged: false }))).toEqual([false, 1, 5, 0]);
  // RPC_MISMATCH with 2..2.
  const v = await call(0, undefined, { rpcvers: 3 });
  expect([v.accepted, v.stat, v.body.u32(), v.body.u32()]).toEqual([false, 0, 2, 2]);
  // AUTH_NONE only for NULL; a broken AUTH_SYS is AUTH_BADCRED.
  expect(
    await denied(
      call(Nfs3Proc.GetAttr, fh(x.fileHandle), { cred: { flavor: AuthFlavor.None, body: new Uint8Array(0) } }),
    ),
  ).toEqual([false, 1, 5, 0]);
  expect(
    (await call(Nfs3Proc.Null, undefined, { cred: { flavor: AuthFlavor.None, body: new Uint8Array(0) } })).stat,
  ).toBe(0);
  expect(
    await denied(
      call(Nfs3Proc.GetAttr, fh(x.fileHandle), { cred: { flavor: AuthFlavor.Sys, body: Uint8Array.of(0, 0) } }),
    ),
  ).toEqual([false, 1, 1, 0]);
  expect(
    await denied(call(Nfs3Proc.GetAttr, fh(x.fileHandle), { cred: { flavor: 6, body: new Uint8Array(0) } })),
  ).toEqual([false, 1, 5, 0]);
  expect((await call(0, undefined, { prog: 100021 })).stat).toBe(1); // PROG_UNAVAIL (NLM)
  const mismatch = await call(0, undefined, { vers: 4 });
  expect([mismatch.stat, mismatch.body.u32(), mismatch.body.u32()]).toEqual([2, 3, 3]);
  expect((await call(22)).stat).toBe(3); // PROC_UNAVAIL
  expect((await call(Nfs3Proc.GetAttr, (w) => w.u32(65))).stat).toBe(4); // GARBAGE_ARGS
});

test("MOUNT: MNT of the export gives the root handle and AUTH_SYS; other paths NOENT; EXPORT lists it", async () => {
  const { x, call } = setup();
  const m = await call(MountProc.Mnt, (w) => w.string("/iscsi/abc/"), { prog: MOUNT_PROGRAM });
  expect([
    m.stat,
    m.body.u32(),
    Buffer.from(m.body.opaque(64)).equals(x.rootHandle),
    m.body.u32(),
    m.body.u32(),
  ]).toEqual([0, 0, true, 1, AuthFlavor.Sys]);
  expect((await call(MountProc.Mnt, (w) => w.string("/iscsi"), { prog: MOUNT_PROGRAM })).body.u32()).toBe(2);
  const e = await call(MountProc.Export, undefined, { prog: MOUNT_PROGRAM });
  expect([e.body.bool(), e.body.string(1024), e.body.bool(), e.body.bool()]).toEqual([
    true,
    "/iscsi/abc",
    false,
    false,
  ]);
});

test("WRITE FILE_SYNC goes with FUA, UNSTABLE without; COMMIT flushes; one verifier; reads return what was written", async () => {
  const { disk, x, call } = setup();
  const data = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
  const w1 = await call(Nfs3Proc.Write, write(x.fileHandle, 513, data, StableHow.FileSync));
  const w1Status = w1.body.u32();
  w1.body.pos += 4 + 8 + 16 + 4 + 84; // wcc_data: pre_op_attr, post_op_attr
  expect([w1Status, w1.body.u32(), w1.body.u32(), [...w1.body.fixed(8)]]).toEqual([
    S.Ok,
    1000,
    StableHow.FileSync,
    [1, 2, 3, 4, 5, 6, 7, 8],
  ]);
  expect(disk.fuaWrites).toBe(1);
  await call(Nfs3Proc.Write, write(x.fileHandle, 4096, data, StableHow.Unstable));
  expect(disk.fuaWrites).toBe(1);
  const c = await call(Nfs3Proc.Commit, (w) => w.opaque(x.fileHandle).u64(0).u32(0));
  expect(c.body.u32()).toBe(S.Ok);
  expect(disk.flushes).toBe(1);
  const r = await call(Nfs3Proc.Read, (w) => w.opaque(x.fileHandle).u64(513).u32(1000));
  expect(r.body.u32()).toBe(S.Ok);
  r.body.pos += 4 + 84;
  expect([r.body.u32(), r.body.bool(), Buffer.from(r.body.opaque(1000)).equals(Buffer.from(data))]).toEqual([
    1000,
    false,
    true,
  ]);
  expect(x.counters).toMatchObject({
    writes: 2,
    commits: 1,
    reads: 1,
    bytesWritten: 2000,
    bytesRead: 1000,
    jukebox: 0,
  });
});

test("while the session recovers data calls get JUKEBOX; once it is gone IO; never success", async () => {
  const { disk, x, call } = setup();
  disk.state = "recovering";
  for (const [proc, args] of [
    [Nfs3Proc.Read, (w: XdrWriter) => w.opaque(x.fileHandle).u64(0).u32(10)],
    [Nfs3Proc.Write, write(x.fileHandle, 0, Uint8Array.of(1), 0)],
    [Nfs3Proc.Commit, (w: XdrWriter) => w.opaque(x.fileHandle).u64(0).u32(0)],
  ] as const) {
    expect((await call(proc, args)).body.u32()).toBe(S.Jukebox);
  }
  disk.state = "down";
  expect((await call(Nfs3Proc.Write, write(x.fileHandle, 0, Uint8Array.of(1), 0))).body.u32()).toBe(S.Io);
  expect(x.counters).toMatchObject({ jukebox: 3, errors: 1, writes: 0, commits: 0 });
  expect(disk.bytes[0]).toBe(0);
});

test("the file never changes size, the export never gains or loses names; unknown handles are STALE, or JUKEBOX in the grace period", async () => {
  const { x, call } = setup();
  const size = (w: XdrWriter, n: number) =>
    w.opaque(x.fileHandle).bool(false).bool(false).bool(false).bool(true).u64(n).u32(0).u32(0).bool(false);
  expect((await call(Nfs3Proc.SetAttr, (w) => size(w, 4096))).body.u32()).toBe(S.Acces);
  expect((await call(Nfs3Proc.SetAttr, (w) => size(w, 1 << 20))).body.u32()).toBe(S.Ok);
  expect(
    (
      await call(Nfs3Proc.SetAttr, (w) =>
        w.opaque(x.fileHandle).bool(true).u32(0o777).bool(false).bool(false).bool(false).u32(0).u32(0).bool(false),
      )
    ).body.u32(),
  ).toBe(S.Perm);
  // Truncation to 0 is refused, except as the O_TRUNC right after a CREATE of the file (QUIRK(libnfs 4.0)).
  expect((await call(Nfs3Proc.SetAttr, (w) => size(w, 0))).body.u32()).toBe(S.Acces);
  const create = (name: string, mode: number) => (w: XdrWriter) =>
    w.opaque(x.rootHandle).string(name).u32(mode).bool(false).bool(false).bool(false).bool(false).u32(0).u32(0);
  expect((await call(Nfs3Proc.Create, create("other.img", 0))).body.u32()).toBe(S.Acces);
  expect((await call(Nfs3Proc.Create, create("lun1.img", 0))).body.u32()).toBe(S.Ok);
  expect((await call(Nfs3Proc.SetAttr, (w) => size(w, 0))).body.u32()).toBe(S.Ok);
  expect(x.fileAttr().size).toBe(1n << 20n);
  expect((await call(Nfs3Proc.Create, (w) => w.opaque(x.rootHandle).string("lun1.img").u32(2).u64(1))).body.u32()).toBe(
    S.Exist,
  );
  expect((await call(Nfs3Proc.Remove, (w) => w.opaque(x.rootHandle).string("lun1.img"))).body.u32()).toBe(S.Acces);
  expect(
    (
      await call(Nfs3Proc.MkDir, (w) =>
        w.opaque(x.rootHandle).string("d").bool(false).bool(false).bool(false).bool(false).u32(0).u32(0),
      )
    ).body.u32(),
  ).toBe(S.Acces);
  expect((await call(Nfs3Proc.Write, write(x.fileHandle, (1 << 20) - 1, Uint8Array.of(1, 2), 0))).body.u32()).toBe(
    S.FBig,
  );
  const stranger = x.fileHandle.slice();
  stranger[4]! ^= 1;
  expect((await call(Nfs3Proc.GetAttr, fh(stranger))).body.u32()).toBe(S.Stale);
  expect((await setup({ grace: true }).call(Nfs3Proc.GetAttr, fh(stranger))).body.u32()).toBe(S.Jukebox);
  expect((await call(Nfs3Proc.GetAttr, fh(new Uint8Array(8)))).body.u32()).toBe(S.BadHandle);
  const look = await call(Nfs3Proc.Lookup, (w) => w.opaque(x.rootHandle).string("lun1.img"));
  expect([look.body.u32(), Buffer.from(look.body.opaque(64)).equals(x.fileHandle)]).toEqual([S.Ok, true]);
  expect((await call(Nfs3Proc.Lookup, (w) => w.opaque(x.rootHandle).string("nope"))).body.u32()).toBe(S.NoEnt);
});

test("a read-only export refuses writes, creates and size changes with ROFS, and grants no MODIFY", async () => {
  const { disk, x, call } = setup({ readOnly: true });
  expect((await call(Nfs3Proc.Write, write(x.fileHandle, 0, Uint8Array.of(1), 2))).body.u32()).toBe(S.Rofs);
  expect(
    (
      await call(Nfs3Proc.Create, (w) =>
        w.opaque(x.rootHandle).string("lun1.img").u32(0).bool(false).bool(false).bool(false).bool(false).u32(0).u32(0),
      )
    ).body.u32(),
  ).toBe(S.Rofs);
  expect(
    (
      await call(Nfs3Proc.SetAttr, (w) =>
        w.opaque(x.fileHandle).bool(false).bool(false).bool(false).bool(true).u64(0).u32(0).u32(0).bool(false),
      )
    ).body.u32(),
  ).toBe(S.Rofs);
  const acc = await call(Nfs3Proc.Access, (w) => w.opaque(x.fileHandle).u32(0x3f));
  expect(acc.body.u32()).toBe(S.Ok);
  acc.body.pos += 4 + 84;
  expect(acc.body.u32()).toBe(0x01);
  expect(disk.bytes.every((b) => b === 0)).toBe(true);
});
