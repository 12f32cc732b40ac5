// File handles of the loopback NFS server (RFC 1813 §2.3.3 nfs_fh3): a magic, the export's id and which of its two
// objects (the export's directory, the disk file). The id is a hash of the export path, so handles stay valid
// across daemon restarts and a client can resend what a restart left uncommitted.
import { createHash } from "node:crypto";

const MAGIC = 0x69534333; // "iSC3"
export const HANDLE_BYTES = 16;
export const ObjectKind = { Dir: 1, File: 2 } as const;
export type ObjectKindValue = (typeof ObjectKind)[keyof typeof ObjectKind];

/** An 8-byte id for an export path, as a hex string (a Map key) and as fsid. */
export function exportIdOf(path: string): bigint {
  return createHash("sha256").update(path).digest().readBigUInt64BE(0);
}

export function encodeHandle(exportId: bigint, kind: ObjectKindValue): Uint8Array {
  const h = new Uint8Array(HANDLE_BYTES);
  const v = new DataView(h.buffer);
  v.setUint32(0, MAGIC);
  v.setBigUint64(4, exportId);
  v.setUint32(12, kind);
  return h;
}

/** The export id and object of a handle, or "bad" when the handle is not one of ours (NFS3ERR_BADHANDLE). */
export function decodeHandle(h: Uint8Array): { exportId: bigint; kind: ObjectKindValue } | "bad" {
  if (h.length !== HANDLE_BYTES) return "bad";
  const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
  const kind = v.getUint32(12);
  if (v.getUint32(0) !== MAGIC || (kind !== ObjectKind.Dir && kind !== ObjectKind.File)) return "bad";
  return { exportId: v.getBigUint64(4), kind };
}
