// NFS version 3 constants and the attribute structures (RFC 1813 §2.5, §2.6): procedure numbers, nfsstat3,
// stable_how, ACCESS bits, fattr3, wcc_data and post_op_attr encoders.

import type { XdrWriter } from "./xdr.ts";

export const NFS_PROGRAM = 100003;
export const NFS_V3 = 3;
/** RFC 1813 §3: procedure numbers. */
export const Nfs3Proc = {
  Null: 0,
  GetAttr: 1,
  SetAttr: 2,
  Lookup: 3,
  Access: 4,
  ReadLink: 5,
  Read: 6,
  Write: 7,
  Create: 8,
  MkDir: 9,
  SymLink: 10,
  MkNod: 11,
  Remove: 12,
  RmDir: 13,
  Rename: 14,
  Link: 15,
  ReadDir: 16,
  ReadDirPlus: 17,
  FsStat: 18,
  FsInfo: 19,
  PathConf: 20,
  Commit: 21,
} as const;
/** nfsstat3 (RFC 1813 §2.6). */
export const Nfs3Status = {
  Ok: 0,
  Perm: 1,
  NoEnt: 2,
  Io: 5,
  NxIo: 6,
  Acces: 13,
  Exist: 17,
  NotDir: 20,
  IsDir: 21,
  Inval: 22,
  FBig: 27,
  NoSpc: 28,
  Rofs: 30,
  NameTooLong: 63,
  Stale: 70,
  BadHandle: 10001,
  NotSync: 10002,
  BadCookie: 10003,
  NotSupp: 10004,
  TooSmall: 10005,
  ServerFault: 10006,
  BadType: 10007,
  Jukebox: 10008,
} as const;
/** stable_how (RFC 1813 §3.3.7). */
export const StableHow = { Unstable: 0, DataSync: 1, FileSync: 2 } as const;
/** ACCESS3_* bits (RFC 1813 §3.3.4). */
export const Access3 = { Read: 0x01, Lookup: 0x02, Modify: 0x04, Extend: 0x08, Delete: 0x10, Execute: 0x20 } as const;
/** ftype3 (RFC 1813 §2.6). */
export const FType = { Reg: 1, Dir: 2 } as const;
/** NFS3_FHSIZE: the largest file handle. */
export const NFS3_FHSIZE = 64;
/** Write verifier and cookie verifier size (NFS3_WRITEVERFSIZE, NFS3_COOKIEVERFSIZE). */
export const VERF_SIZE = 8;

export interface NfsTime {
  seconds: number;
  nseconds: number;
}

/** fattr3 (RFC 1813 §2.6). */
export interface Fattr3 {
  type: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: bigint;
  used: bigint;
  fsid: bigint;
  fileid: bigint;
  atime: NfsTime;
  mtime: NfsTime;
  ctime: NfsTime;
}

export function writeTime(w: XdrWriter, t: NfsTime): void {
  w.u32(t.seconds).u32(t.nseconds);
}

export function writeFattr(w: XdrWriter, a: Fattr3): void {
  w.u32(a.type)
    .u32(a.mode)
    .u32(a.nlink)
    .u32(a.uid)
    .u32(a.gid)
    .u64(a.size)
    .u64(a.used)
    .u32(0)
    .u32(0)
    .u64(a.fsid)
    .u64(a.fileid);
  writeTime(w, a.atime);
  writeTime(w, a.mtime);
  writeTime(w, a.ctime);
}

/** post_op_attr: attributes when known. */
export function writePostOpAttr(w: XdrWriter, a: Fattr3 | undefined): void {
  w.bool(a !== undefined);
  if (a) writeFattr(w, a);
}

/** wcc_data: size and times before (pre_op_attr), full attributes after. */
export function writeWcc(w: XdrWriter, before: Fattr3 | undefined, after: Fattr3 | undefined): void {
  w.bool(before !== undefined);
  if (before) {
    w.u64(before.size);
    writeTime(w, before.mtime);
    writeTime(w, before.ctime);
  }
  writePostOpAttr(w, after);
}

/** post_op_fh3: a handle when given. */
export function writePostOpFh(w: XdrWriter, fh: Uint8Array | undefined): void {
  w.bool(fh !== undefined);
  if (fh) w.opaque(fh);
}
