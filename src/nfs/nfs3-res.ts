// NFS version 3 result encoding (RFC 1813 §3.3): one encoder per procedure we serve, each writing the status and
// the resok or resfail arm, and the failure bodies of the procedures we refuse outright.

import { AcceptStat, acceptedReply } from "./rpc.ts";
import {
  Nfs3Proc,
  Nfs3Status,
  writeFattr,
  writePostOpAttr,
  writePostOpFh,
  writeWcc,
  writeTime,
  type Fattr3,
  type NfsTime,
} from "./nfs3-types.ts";
import type { XdrWriter } from "./xdr.ts";

const OK = Nfs3Status.Ok;
const start = (xid: number, status: number, hint = 128): XdrWriter =>
  acceptedReply(xid, AcceptStat.Success, hint).u32(status);

export function encodeGetAttrRes(xid: number, status: number, attr?: Fattr3): Uint8Array {
  const w = start(xid, status);
  if (status === OK) writeFattr(w, attr!);
  return w.finish();
}

/** SETATTR, and the wcc_data answer of a refused WRITE, COMMIT or CREATE: status and wcc_data. */
export function encodeWccRes(xid: number, status: number, before?: Fattr3, after?: Fattr3): Uint8Array {
  const w = start(xid, status);
  writeWcc(w, before, after);
  return w.finish();
}

export function encodeLookupRes(
  xid: number,
  status: number,
  res: { fh?: Uint8Array; obj?: Fattr3; dir?: Fattr3 },
): Uint8Array {
  const w = start(xid, status);
  if (status === OK) {
    w.opaque(res.fh!);
    writePostOpAttr(w, res.obj);
  }
  writePostOpAttr(w, res.dir);
  return w.finish();
}

export function encodeAccessRes(xid: number, status: number, attr: Fattr3 | undefined, access = 0): Uint8Array {
  const w = start(xid, status);
  writePostOpAttr(w, attr);
  if (status === OK) w.u32(access);
  return w.finish();
}

/**
 * A successful READ with room for `count` bytes of data: the caller reads the file straight into `data`, a view
 * of `reply`, so the bytes are never copied between buffers. `into`: where to write it (a pooled buffer).
 */
export function encodeReadResRoom(
  xid: number,
  attr: Fattr3,
  count: number,
  eof: boolean,
  into?: Uint8Array,
): { reply: Uint8Array; data: Uint8Array } {
  const w = acceptedReply(xid, AcceptStat.Success, 128 + count, into).u32(OK);
  writePostOpAttr(w, attr);
  w.u32(count).bool(eof);
  const data = w.room(count);
  return { reply: w.finish(), data };
}

/** READ results with the data given (an empty read at the end of the file) or a failure. */
export function encodeReadRes(
  xid: number,
  status: number,
  attr: Fattr3 | undefined,
  data?: Uint8Array,
  eof = false,
): Uint8Array {
  const w = start(xid, status, 128 + (data?.length ?? 0));
  writePostOpAttr(w, attr);
  if (status === OK) w.u32(data!.length).bool(eof).opaque(data!);
  return w.finish();
}

export function encodeWriteRes(
  xid: number,
  status: number,
  wcc: { before?: Fattr3; after?: Fattr3 },
  ok?: { count: number; committed: number; verf: Uint8Array },
): Uint8Array {
  const w = start(xid, status);
  writeWcc(w, wcc.before, wcc.after);
  if (status === OK) w.u32(ok!.count).u32(ok!.committed).fixed(ok!.verf);
  return w.finish();
}

export function encodeCreateRes(
  xid: number,
  status: number,
  res: { fh?: Uint8Array; obj?: Fattr3; dirBefore?: Fattr3; dirAfter?: Fattr3 },
): Uint8Array {
  const w = start(xid, status);
  if (status === OK) {
    writePostOpFh(w, res.fh);
    writePostOpAttr(w, res.obj);
  }
  writeWcc(w, res.dirBefore, res.dirAfter);
  return w.finish();
}

export function encodeCommitRes(
  xid: number,
  status: number,
  wcc: { before?: Fattr3; after?: Fattr3 },
  verf?: Uint8Array,
): Uint8Array {
  const w = start(xid, status);
  writeWcc(w, wcc.before, wcc.after);
  if (status === OK) w.fixed(verf!);
  return w.finish();
}

export interface DirEntry {
  fileid: bigint;
  name: string;
  cookie: bigint;
  /** READDIRPLUS only. */
  attr?: Fattr3;
  fh?: Uint8Array;
}

/** READDIR (`plus` false) or READDIRPLUS: entry3 / entryplus3 as a linked list, then eof. */
export function encodeReadDirRes(
  xid: number,
  status: number,
  plus: boolean,
  res: { dir?: Fattr3; cookieVerf?: Uint8Array; entries?: DirEntry[]; eof?: boolean },
): Uint8Array {
  const w = start(xid, status, 512);
  writePostOpAttr(w, res.dir);
  if (status !== OK) return w.finish();
  w.fixed(res.cookieVerf!);
  for (const e of res.entries!) {
    w.bool(true).u64(e.fileid).string(e.name).u64(e.cookie);
    if (plus) {
      writePostOpAttr(w, e.attr);
      writePostOpFh(w, e.fh);
    }
  }
  return w.bool(false).bool(res.eof!).finish();
}

export interface FsStat {
  tbytes: bigint;
  fbytes: bigint;
  abytes: bigint;
  tfiles: bigint;
  ffiles: bigint;
  afiles: bigint;
  invarsec: number;
}

export function encodeFsStatRes(xid: number, status: number, attr: Fattr3 | undefined, s?: FsStat): Uint8Array {
  const w = start(xid, status);
  writePostOpAttr(w, attr);
  if (status === OK)
    w.u64(s!.tbytes).u64(s!.fbytes).u64(s!.abytes).u64(s!.tfiles).u64(s!.ffiles).u64(s!.afiles).u32(s!.invarsec);
  return w.finish();
}

export interface FsInfo {
  rtmax: number;
  rtpref: number;
  rtmult: number;
  wtmax: number;
  wtpref: number;
  wtmult: number;
  dtpref: number;
  maxFileSize: bigint;
  timeDelta: NfsTime;
  properties: number;
}

/** FSINFO properties bits (RFC 1813 §3.3.19). */
export const FsfProps = { Link: 0x01, SymLink: 0x02, Homogeneous: 0x08, CanSetTime: 0x10 } as const;

export function encodeFsInfoRes(xid: number, status: number, attr: Fattr3 | undefined, i?: FsInfo): Uint8Array {
  const w = start(xid, status);
  writePostOpAttr(w, attr);
  if (status !== OK) return w.finish();
  w.u32(i!.rtmax)
    .u32(i!.rtpref)
    .u32(i!.rtmult)
    .u32(i!.wtmax)
    .u32(i!.wtpref)
    .u32(i!.wtmult)
    .u32(i!.dtpref)
    .u64(i!.maxFileSize);
  writeTime(w, i!.timeDelta);
  return w.u32(i!.properties).finish();
}

export interface PathConf {
  linkMax: number;
  nameMax: number;
  noTrunc: boolean;
  chownRestricted: boolean;
  caseInsensitive: boolean;
  casePreserving: boolean;
}

export function encodePathConfRes(xid: number, status: number, attr: Fattr3 | undefined, p?: PathConf): Uint8Array {
  const w = start(xid, status);
  writePostOpAttr(w, attr);
  if (status === OK)
    w.u32(p!.linkMax)
      .u32(p!.nameMax)
      .bool(p!.noTrunc)
      .bool(p!.chownRestricted)
      .bool(p!.caseInsensitive)
      .bool(p!.casePreserving);
  return w.finish();
}

/** How many empty attribute words (post_op_attr / pre_op_attr "false") each refused procedure's resfail holds. */
const EMPTY_FAIL_WORDS: Record<number, number> = {
  [Nfs3Proc.ReadLink]: 1, // post_op_attr symlink_attributes
  [Nfs3Proc.MkDir]: 2, // wcc_data dir_wcc
  [Nfs3Proc.SymLink]: 2,
  [Nfs3Proc.MkNod]: 2,
  [Nfs3Proc.Remove]: 2,
  [Nfs3Proc.RmDir]: 2,
  [Nfs3Proc.Rename]: 4, // fromdir_wcc, todir_wcc
  [Nfs3Proc.Link]: 3, // post_op_attr file_attributes, wcc_data linkdir_wcc
};

/** The resfail of a procedure we refuse whatever its arguments (READLINK, MKDIR, SYMLINK, MKNOD, REMOVE, RMDIR, RENAME, LINK). */
export function encodeRefusedRes(xid: number, proc: number, status: number): Uint8Array | undefined {
  const words = EMPTY_FAIL_WORDS[proc];
  if (words === undefined) return undefined;
  const w = start(xid, status);
  for (let i = 0; i < words; i++) w.bool(false);
  return w.finish();
}
