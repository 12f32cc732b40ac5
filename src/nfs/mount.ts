// MOUNT version 3 (RFC 1813 appendix I): program numbers, argument decoding and result encoding for MNT,
// UMNT, EXPORT, DUMP and UMNTALL. The client gets the root file handle of an export from MNT.

import { AcceptStat, acceptedReply } from "./rpc.ts";
import type { XdrReader } from "./xdr.ts";

export const MOUNT_PROGRAM = 100005;
export const MOUNT_V3 = 3;
export const MountProc = { Null: 0, Mnt: 1, Dump: 2, Umnt: 3, UmntAll: 4, Export: 5 } as const;
/** mountstat3 (RFC 1813 appendix I). */
export const MountStat = {
  Ok: 0,
  Perm: 1,
  NoEnt: 2,
  Io: 5,
  Acces: 13,
  NotDir: 20,
  Inval: 22,
  NameTooLong: 63,
  NotSupp: 10004,
  ServerFault: 10006,
} as const;
/** MNTPATHLEN. */
export const MNT_PATH_LEN = 1024;

/** dirpath argument of MNT and UMNT. */
export function decodeDirPath(r: XdrReader): string {
  const path = r.string(MNT_PATH_LEN, "dirpath");
  r.end("MOUNT dirpath");
  return path;
}

/** MNT reply: the root handle and the one flavour we take (AUTH_SYS), or a status alone. */
export function encodeMntReply(xid: number, res: { status: number; fh?: Uint8Array; flavors?: number[] }): Uint8Array {
  const w = acceptedReply(xid, AcceptStat.Success).u32(res.status);
  if (res.status === MountStat.Ok) {
    w.opaque(res.fh!).u32(res.flavors!.length);
    for (const f of res.flavors!) w.u32(f);
  }
  return w.finish();
}

/** EXPORT reply: a linked list of (dirpath, groups) where groups is empty (no host restriction beyond loopback). */
export function encodeExportReply(xid: number, paths: string[]): Uint8Array {
  const w = acceptedReply(xid, AcceptStat.Success);
  for (const p of paths) w.bool(true).string(p).bool(false);
  return w.bool(false).finish();
}

/** A void result (NULL, UMNT, UMNTALL) or an empty list (DUMP: we keep no mount list). */
export function encodeVoidReply(xid: number, emptyList = false): Uint8Array {
  const w = acceptedReply(xid, AcceptStat.Success);
  if (emptyList) w.bool(false);
  return w.finish();
}
