// NFS version 3 argument decoding (RFC 1813 §3.3): one decoder per procedure we serve. Each checks every length
// (handle, name, data) against its bound and the message before use, and refuses trailing bytes.

import { NFS3_FHSIZE, VERF_SIZE, type NfsTime } from "./nfs3-types.ts";
import { XdrError, type XdrReader } from "./xdr.ts";

/** Longest file name we take (our PATHCONF name_max). */
export const NAME_MAX = 255;

/** time_how (RFC 1813 §3.3.2). */
export const TimeHow = { DontChange: 0, ServerTime: 1, ClientTime: 2 } as const;

/** sattr3: the attributes a SETATTR or CREATE asks to set (undefined = leave alone). */
export interface Sattr3 {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: bigint;
  atime?: number;
  mtime?: number;
}

export const fh = (r: XdrReader) => r.opaque(NFS3_FHSIZE, "nfs_fh3");

function setTime(r: XdrReader, what: string): number | undefined {
  const how = r.u32(what);
  if (how > TimeHow.ClientTime) throw new XdrError(`${what}: time_how ${how} is not 0, 1 or 2`);
  if (how === TimeHow.ClientTime) r.u64(what);
  return how === TimeHow.DontChange ? undefined : how;
}

export function decodeSattr(r: XdrReader): Sattr3 {
  const s: Sattr3 = {};
  if (r.bool("set_mode")) s.mode = r.u32("mode");
  if (r.bool("set_uid")) s.uid = r.u32("uid");
  if (r.bool("set_gid")) s.gid = r.u32("gid");
  if (r.bool("set_size")) s.size = r.u64("size");
  const atime = setTime(r, "set_atime");
  if (atime !== undefined) s.atime = atime;
  const mtime = setTime(r, "set_mtime");
  if (mtime !== undefined) s.mtime = mtime;
  return s;
}

function name(r: XdrReader): string {
  const n = r.string(NAME_MAX, "filename3");
  if (n.length === 0) throw new XdrError("filename3 is empty");
  return n;
}

/** GETATTR, FSSTAT, FSINFO, PATHCONF, READLINK: a handle alone. */
export function decodeFhArgs(r: XdrReader): { fh: Uint8Array } {
  const h = fh(r);
  r.end("NFS handle argument");
  return { fh: h };
}

export function decodeSetAttrArgs(r: XdrReader): { fh: Uint8Array; attrs: Sattr3; guard?: NfsTime } {
  const h = fh(r);
  const attrs = decodeSattr(r);
  const guarded = r.bool("sattrguard3");
  const guard = guarded ? { seconds: r.u32("guard seconds"), nseconds: r.u32("guard nseconds") } : undefined;
  r.end("SETATTR3args");
  return { fh: h, attrs, ...(guard ? { guard } : {}) };
}

/** LOOKUP (and REMOVE, RMDIR): diropargs3. */
export function decodeDirOpArgs(r: XdrReader): { dir: Uint8Array; name: string } {
  const dir = fh(r);
  const n = name(r);
  r.end("diropargs3");
  return { dir, name: n };
}

export function decodeAccessArgs(r: XdrReader): { fh: Uint8Array; access: number } {
  const h = fh(r);
  const access = r.u32("access");
  r.end("ACCESS3args");
  return { fh: h, access };
}

export function decodeReadArgs(r: XdrReader): { fh: Uint8Array; offset: bigint; count: number } {
  const h = fh(r);
  const offset = r.u64("offset");
  const count = r.u32("count");
  r.end("READ3args");
  return { fh: h, offset, count };
}

/** WRITE: `maxData` bounds the data before a view is made; count must equal the data's length. */
export function decodeWriteArgs(
  r: XdrReader,
  maxData: number,
): { fh: Uint8Array; offset: bigint; stable: number; data: Uint8Array } {
  const h = fh(r);
  const offset = r.u64("offset");
  const count = r.u32("count");
  const stable = r.u32("stable");
  if (stable > 2) throw new XdrError(`WRITE stable_how ${stable} is not 0, 1 or 2`);
  const data = r.opaque(maxData, "WRITE data");
  if (count !== data.length) throw new XdrError(`WRITE count ${count} differs from its ${data.length} bytes of data`);
  r.end("WRITE3args");
  return { fh: h, offset, stable, data };
}

export const CreateMode = { Unchecked: 0, Guarded: 1, Exclusive: 2 } as const;

export function decodeCreateArgs(r: XdrReader): { dir: Uint8Array; name: string; mode: number; attrs: Sattr3 } {
  const dir = fh(r);
  const n = name(r);
  const mode = r.u32("createmode3");
  let attrs: Sattr3 = {};
  if (mode === CreateMode.Exclusive) r.fixed(VERF_SIZE, "createverf3");
  else if (mode <= CreateMode.Guarded) attrs = decodeSattr(r);
  else throw new XdrError(`CREATE mode ${mode} is not 0, 1 or 2`);
  r.end("CREATE3args");
  return { dir, name: n, mode, attrs };
}

export function decodeCommitArgs(r: XdrReader): { fh: Uint8Array; offset: bigint; count: number } {
  const h = fh(r);
  const offset = r.u64("offset");
  const count = r.u32("count");
  r.end("COMMIT3args");
  return { fh: h, offset, count };
}

/** READDIR (`plus` false) and READDIRPLUS (`plus` true: dircount, then maxcount). */
export function decodeReadDirArgs(
  r: XdrReader,
  plus: boolean,
): { dir: Uint8Array; cookie: bigint; cookieVerf: Uint8Array; count: number } {
  const dir = fh(r);
  const cookie = r.u64("cookie");
  const cookieVerf = r.fixed(VERF_SIZE, "cookieverf3");
  const first = r.u32("count");
  const count = plus ? r.u32("maxcount") : first;
  r.end(plus ? "READDIRPLUS3args" : "READDIR3args");
  return { dir, cookie, cookieVerf, count };
}
