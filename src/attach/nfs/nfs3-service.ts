// The NFSv3 procedures of the loopback server (RFC 1813 §3.3) over its exports. Data safety: a WRITE is answered
// only after the target said GOOD; FILE_SYNC and DATA_SYNC writes go with FUA; UNSTABLE writes are made durable by
// COMMIT (SYNCHRONIZE CACHE); the write verifier is new per server start (§3.3.7) so clients resend what a restart
// left uncommitted; while the session recovers, data procedures answer JUKEBOX, once it is gone IO, never success.
import { constants } from "node:os";
import * as A from "../../nfs/nfs3-args.ts";
import * as R from "../../nfs/nfs3-res.ts";
import { Access3, Nfs3Proc, Nfs3Status, StableHow, VERF_SIZE, type Fattr3 } from "../../nfs/nfs3-types.ts";
import { AcceptStat, acceptedReply, type RpcCall } from "../../nfs/rpc.ts";
import { errnoOf } from "../serve.ts";
import type { NfsExport } from "./export.ts";
import { decodeHandle, ObjectKind, type ObjectKindValue } from "./handles.ts";

const S = Nfs3Status;
const E = constants.errno;
/** Largest READ and WRITE (FSINFO rtmax/wtmax): macOS's rwsize maximum is 2 MiB; 1 MiB is what we mount with. */
export const MAX_IO = 1 << 20;
const ZERO_VERF = new Uint8Array(VERF_SIZE);

export interface Nfs3Context {
  exportById(id: bigint): NfsExport | undefined;
  /** The write verifier of this server start. */
  readonly verifier: Uint8Array;
  /** Whether a handle of an export not (yet) served is to be waited for: the grace period after a start. */
  inGrace(): boolean;
  /** A buffer for a large reply (READ), given back once sent. */
  take(n: number): Uint8Array;
}

type Resolved = { x: NfsExport; kind: ObjectKindValue } | { status: number };

function resolve(ctx: Nfs3Context, fh: Uint8Array): Resolved {
  const h = decodeHandle(fh);
  if (h === "bad") return { status: S.BadHandle };
  const x = ctx.exportById(h.exportId);
  if (x) return { x, kind: h.kind };
  // After a daemon restart its attachments come back one by one: until then their clients wait, not fail.
  return { status: ctx.inGrace() ? S.Jukebox : S.Stale };
}

const attrOf = (x: NfsExport, kind: ObjectKindValue): Fattr3 => (kind === ObjectKind.Dir ? x.dirAttr() : x.fileAttr());

/** A failed disk operation: JUKEBOX while the session may come back, else the errno's NFS status. */
function failure(x: NfsExport, err: unknown): number {
  if (x.disk.health() === "recovering") {
    x.counters.jukebox++;
    return S.Jukebox;
  }
  x.counters.errors++;
  const errno = -errnoOf(err);
  return errno === E.EROFS ? S.Rofs : errno === E.ENOSPC ? S.NoSpc : S.Io;
}

/** Before a data procedure: JUKEBOX while recovering, IO once the session is gone. */
function unavailable(x: NfsExport): number | undefined {
  const h = x.disk.health();
  if (h === "up") return undefined;
  if (h === "recovering") {
    x.counters.jukebox++;
    return S.Jukebox;
  }
  x.counters.errors++;
  return S.Io;
}

/** Answers one NFSv3 call; undefined means the procedure number is unknown (PROC_UNAVAIL). Throws XdrError on bad args. */
export async function nfs3(ctx: Nfs3Context, call: RpcCall): Promise<Uint8Array | undefined> {
  const { xid, args } = call;
  switch (call.proc) {
    case Nfs3Proc.Null:
      args.end("NULL");
      return acceptedReply(xid, AcceptStat.Success).finish();
    case Nfs3Proc.GetAttr: {
      const r = resolve(ctx, A.decodeFhArgs(args).fh);
      return "status" in r ? R.encodeGetAttrRes(xid, r.status) : R.encodeGetAttrRes(xid, S.Ok, attrOf(r.x, r.kind));
    }
    case Nfs3Proc.SetAttr:
      return setAttr(ctx, xid, A.decodeSetAttrArgs(args));
    case Nfs3Proc.Lookup:
      return lookup(ctx, xid, A.decodeDirOpArgs(args));
    case Nfs3Proc.Access: {
      const a = A.decodeAccessArgs(args);
      const r = resolve(ctx, a.fh);
      if ("status" in r) return R.encodeAccessRes(xid, r.status, undefined);
      return R.encodeAccessRes(xid, S.Ok, attrOf(r.x, r.kind), a.access & allowed(r.x, r.kind, call.authSys?.uid));
    }
    case Nfs3Proc.Read:
      return read(ctx, xid, A.decodeReadArgs(args));
    case Nfs3Proc.Write:
      return write(ctx, xid, A.decodeWriteArgs(args, MAX_IO));
    case Nfs3Proc.Create:
      return create(ctx, xid, A.decodeCreateArgs(args));
    case Nfs3Proc.Commit:
      return commit(ctx, xid, A.decodeCommitArgs(args));
    case Nfs3Proc.ReadDir:
    case Nfs3Proc.ReadDirPlus:
      return readDir(
        ctx,
        xid,
        call.proc === Nfs3Proc.ReadDirPlus,
        A.decodeReadDirArgs(args, call.proc === Nfs3Proc.ReadDirPlus),
      );
    case Nfs3Proc.FsStat:
    case Nfs3Proc.FsInfo:
    case Nfs3Proc.PathConf:
      return fsQuery(ctx, xid, call.proc, A.decodeFhArgs(args).fh);
    case Nfs3Proc.ReadLink:
      return R.encodeRefusedRes(xid, call.proc, S.Inval);
    case Nfs3Proc.SymLink:
    case Nfs3Proc.MkNod:
    case Nfs3Proc.Link:
      return R.encodeRefusedRes(xid, call.proc, S.NotSupp);
    case Nfs3Proc.MkDir:
    case Nfs3Proc.Remove:
    case Nfs3Proc.RmDir:
    case Nfs3Proc.Rename:
      // Nothing in an export may be created, removed or renamed: the file is the disk.
      return R.encodeRefusedRes(xid, call.proc, S.Acces);
    default:
      return undefined;
  }
}

/** ACCESS3 bits granted: root only (the file is a raw disk); never DELETE; no MODIFY/EXTEND on a read-only export. */
function allowed(x: NfsExport, kind: ObjectKindValue, uid: number | undefined): number {
  if (uid !== 0) return 0;
  if (kind === ObjectKind.Dir) return Access3.Read | Access3.Lookup | Access3.Execute;
  return x.readOnly ? Access3.Read : Access3.Read | Access3.Modify;
}

function setAttr(ctx: Nfs3Context, xid: number, a: ReturnType<typeof A.decodeSetAttrArgs>): Uint8Array {
  const r = resolve(ctx, a.fh);
  if ("status" in r) return R.encodeWccRes(xid, r.status);
  const attr = attrOf(r.x, r.kind);
  if (a.guard && (a.guard.seconds !== attr.ctime.seconds || a.guard.nseconds !== attr.ctime.nseconds))
    return R.encodeWccRes(xid, S.NotSync, attr, attr);
  const s = a.attrs;
  const changesOwner =
    (s.mode !== undefined && s.mode !== (attr.mode & 0o7777)) ||
    (s.uid !== undefined && s.uid !== attr.uid) ||
    (s.gid !== undefined && s.gid !== attr.gid);
  const changesSize = s.size !== undefined && s.size !== attr.size;
  if (r.x.readOnly && (changesOwner || changesSize)) return R.encodeWccRes(xid, S.Rofs, attr, attr);
  if (changesOwner) return R.encodeWccRes(xid, S.Perm, attr, attr);
  // The file is a disk of fixed size: truncating or growing it is refused, setting the same size is a no-op.
  // QUIRK(libnfs 4.0): its creat() is CREATE then SETATTR size 0 (O_TRUNC); right after a CREATE of the served
  // file that truncation is answered without effect, the unchanged size in the attributes returned.
  if (changesSize && !(s.size === 0n && r.x.justOpened())) return R.encodeWccRes(xid, S.Acces, attr, attr);
  // Times are ours (stable attributes): a request to set them is answered without changing them.
  return R.encodeWccRes(xid, S.Ok, attr, attr);
}

function lookup(ctx: Nfs3Context, xid: number, a: { dir: Uint8Array; name: string }): Uint8Array {
  const r = resolve(ctx, a.dir);
  if ("status" in r) return R.encodeLookupRes(xid, r.status, {});
  if (r.kind !== ObjectKind.Dir) return R.encodeLookupRes(xid, S.NotDir, { dir: r.x.fileAttr() });
  const dir = r.x.dirAttr();
  if (a.name === "." || a.name === "..") return R.encodeLookupRes(xid, S.Ok, { fh: r.x.rootHandle, obj: dir, dir });
  if (a.name === r.x.fileName) return R.encodeLookupRes(xid, S.Ok, { fh: r.x.fileHandle, obj: r.x.fileAttr(), dir });
  return R.encodeLookupRes(xid, S.NoEnt, { dir });
}

async function read(
  ctx: Nfs3Context,
  xid: number,
  a: { fh: Uint8Array; offset: bigint; count: number },
): Promise<Uint8Array> {
  const r = resolve(ctx, a.fh);
  if ("status" in r) return R.encodeReadRes(xid, r.status, undefined);
  const { x } = r;
  if (r.kind !== ObjectKind.File) return R.encodeReadRes(xid, S.IsDir, x.dirAttr());
  const size = BigInt(x.disk.sizeBytes);
  if (a.offset >= size) return R.encodeReadRes(xid, S.Ok, x.fileAttr(), new Uint8Array(0), true);
  const offset = Number(a.offset);
  const count = Math.min(a.count, MAX_IO, x.disk.sizeBytes - offset);
  const busy = unavailable(x);
  if (busy !== undefined) return R.encodeReadRes(xid, busy, x.fileAttr());
  // Attributes as before the read: a read changes none of them.
  const { reply, data } = R.encodeReadResRoom(
    xid,
    x.fileAttr(),
    count,
    offset + count >= x.disk.sizeBytes,
    ctx.take(count + 256),
  );
  try {
    await x.disk.read(offset, data);
  } catch (err) {
    return R.encodeReadRes(xid, failure(x, err), x.fileAttr());
  }
  x.counters.reads++;
  x.counters.bytesRead += count;
  return reply;
}

async function write(ctx: Nfs3Context, xid: number, a: ReturnType<typeof A.decodeWriteArgs>): Promise<Uint8Array> {
  const r = resolve(ctx, a.fh);
  if ("status" in r) return R.encodeWriteRes(xid, r.status, {});
  const { x } = r;
  const before = attrOf(x, r.kind);
  if (r.kind !== ObjectKind.File) return R.encodeWriteRes(xid, S.IsDir, { before, after: before });
  if (x.readOnly) return R.encodeWriteRes(xid, S.Rofs, { before, after: before });
  // The file cannot grow: a write past its end is refused whole, nothing written.
  if (a.offset + BigInt(a.data.length) > BigInt(x.disk.sizeBytes))
    return R.encodeWriteRes(xid, S.FBig, { before, after: before });
  const busy = unavailable(x);
  if (busy !== undefined) return R.encodeWriteRes(xid, busy, { before, after: before });
  const stable = a.stable !== StableHow.Unstable;
  try {
    await x.disk.write(Number(a.offset), a.data, stable);
  } catch (err) {
    return R.encodeWriteRes(xid, failure(x, err), { before, after: x.fileAttr() });
  }
  x.touched();
  x.counters.writes++;
  x.counters.bytesWritten += a.data.length;
  return R.encodeWriteRes(
    xid,
    S.Ok,
    { before, after: x.fileAttr() },
    { count: a.data.length, committed: stable ? StableHow.FileSync : StableHow.Unstable, verf: ctx.verifier },
  );
}

function create(ctx: Nfs3Context, xid: number, a: ReturnType<typeof A.decodeCreateArgs>): Uint8Array {
  const r = resolve(ctx, a.dir);
  if ("status" in r) return R.encodeCreateRes(xid, r.status, {});
  const { x } = r;
  if (r.kind !== ObjectKind.Dir) return R.encodeCreateRes(xid, S.NotDir, {});
  const dir = x.dirAttr();
  const wcc = { dirBefore: dir, dirAfter: dir };
  if (x.readOnly) return R.encodeCreateRes(xid, S.Rofs, wcc);
  if (a.name !== x.fileName) return R.encodeCreateRes(xid, S.Acces, wcc);
  if (a.mode === A.CreateMode.Exclusive) return R.encodeCreateRes(xid, S.Exist, wcc);
  // RFC 1813 §3.3.8 lets an UNCHECKED CREATE of an existing name return that file; it is how clients open the disk
  // for writing. QUIRK(libnfs 4.0): nfs-cp creates its destination with a GUARDED CREATE, so a GUARDED one of the
  // served name is answered the same way instead of with EXIST. Either way the file is returned unchanged, and only
  // when the request asks for no other size: the disk is never truncated or grown.
  if (a.attrs.size !== undefined && a.attrs.size !== BigInt(x.disk.sizeBytes))
    return R.encodeCreateRes(xid, S.Acces, wcc);
  x.opened();
  return R.encodeCreateRes(xid, S.Ok, { fh: x.fileHandle, obj: x.fileAttr(), ...wcc });
}

async function commit(ctx: Nfs3Context, xid: number, a: { fh: Uint8Array }): Promise<Uint8Array> {
  const r = resolve(ctx, a.fh);
  if ("status" in r) return R.encodeCommitRes(xid, r.status, {});
  const { x } = r;
  const attr = attrOf(x, r.kind);
  if (r.kind !== ObjectKind.File) return R.encodeCommitRes(xid, S.IsDir, { before: attr, after: attr });
  const busy = unavailable(x);
  if (busy !== undefined) return R.encodeCommitRes(xid, busy, { before: attr, after: attr });
  try {
    // The whole LU's cache: SYNCHRONIZE CACHE of a range buys nothing on the targets we know.
    await x.disk.synchronizeCache();
  } catch (err) {
    return R.encodeCommitRes(xid, failure(x, err), { before: attr, after: attr });
  }
  x.counters.commits++;
  return R.encodeCommitRes(xid, S.Ok, { before: attr, after: attr }, ctx.verifier);
}

/** Smallest count for which the whole directory (".", "..", the file) fits in one answer. */
const DIR_REPLY_MIN = { plain: 256, plus: 768 };

function readDir(ctx: Nfs3Context, xid: number, plus: boolean, a: ReturnType<typeof A.decodeReadDirArgs>): Uint8Array {
  const r = resolve(ctx, a.dir);
  if ("status" in r) return R.encodeReadDirRes(xid, r.status, plus, {});
  const { x } = r;
  if (r.kind !== ObjectKind.Dir) return R.encodeReadDirRes(xid, S.NotDir, plus, { dir: x.fileAttr() });
  const dir = x.dirAttr();
  if (a.count < (plus ? DIR_REPLY_MIN.plus : DIR_REPLY_MIN.plain))
    return R.encodeReadDirRes(xid, S.TooSmall, plus, { dir });
  const all: R.DirEntry[] = [
    { fileid: dir.fileid, name: ".", cookie: 1n, attr: dir, fh: x.rootHandle },
    { fileid: dir.fileid, name: "..", cookie: 2n, attr: dir, fh: x.rootHandle },
    { fileid: x.fileAttr().fileid, name: x.fileName, cookie: 3n, attr: x.fileAttr(), fh: x.fileHandle },
  ];
  if (a.cookie > BigInt(all.length)) return R.encodeReadDirRes(xid, S.BadCookie, plus, { dir });
  const entries = all.slice(Number(a.cookie));
  return R.encodeReadDirRes(xid, S.Ok, plus, { dir, cookieVerf: ZERO_VERF, entries, eof: true });
}

function fsQuery(ctx: Nfs3Context, xid: number, proc: number, fh: Uint8Array): Uint8Array {
  const r = resolve(ctx, fh);
  const encode =
    proc === Nfs3Proc.FsStat ? R.encodeFsStatRes : proc === Nfs3Proc.FsInfo ? R.encodeFsInfoRes : R.encodePathConfRes;
  if ("status" in r) return encode(xid, r.status, undefined);
  const { x } = r;
  const attr = attrOf(x, r.kind);
  const size = BigInt(x.disk.sizeBytes);
  if (proc === Nfs3Proc.FsStat) {
    return R.encodeFsStatRes(xid, S.Ok, attr, {
      tbytes: size,
      fbytes: 0n,
      abytes: 0n,
      tfiles: 2n,
      ffiles: 0n,
      afiles: 0n,
      invarsec: 0,
    });
  }
  if (proc === Nfs3Proc.FsInfo) {
    const bs = x.disk.blockSize;
    return R.encodeFsInfoRes(xid, S.Ok, attr, {
      rtmax: MAX_IO,
      rtpref: MAX_IO,
      rtmult: bs,
      wtmax: MAX_IO,
      wtpref: MAX_IO,
      wtmult: bs,
      dtpref: 4096,
      maxFileSize: size,
      timeDelta: { seconds: 0, nseconds: 1 },
      properties: R.FsfProps.Homogeneous,
    });
  }
  return R.encodePathConfRes(xid, S.Ok, attr, {
    linkMax: 1,
    nameMax: A.NAME_MAX,
    noTrunc: true,
    chownRestricted: true,
    caseInsensitive: false,
    casePreserving: true,
  });
}
