// RPC dispatch of the loopback NFS server (RFC 5531 §9): RPC version, credentials (AUTH_SYS only; AUTH_NONE for
// the NULL procedures, RFC 2623 §2.3.1), program and version, then MOUNT v3 (RFC 1813 appendix I) or NFS v3.
// Every call gets an answer: unknown programs, versions and procedures their RPC error, bad arguments
// GARBAGE_ARGS; the connection is never dropped for them.
import {
  decodeDirPath,
  encodeExportReply,
  encodeMntReply,
  encodeVoidReply,
  MOUNT_PROGRAM,
  MOUNT_V3,
  MountProc,
  MountStat,
} from "../../nfs/mount.ts";
import { NFS_PROGRAM, NFS_V3 } from "../../nfs/nfs3-types.ts";
import {
  AcceptStat,
  acceptedReply,
  AuthFlavor,
  AuthStat,
  decodeCall,
  deniedReply,
  progMismatch,
  RPC_VERSION,
  type RpcCall,
} from "../../nfs/rpc.ts";
import { XdrError } from "../../nfs/xdr.ts";
import type { NfsExport } from "./export.ts";
import { nfs3, type Nfs3Context } from "./nfs3-service.ts";

export interface ProgramContext extends Nfs3Context {
  exportByPath(path: string): NfsExport | undefined;
  exportPaths(): string[];
}

/** A record that is not even a readable call header: nothing can be answered (no xid); the connection ends. */
export class UnanswerableCall extends XdrError {}

/** Answers one RPC record. `privileged`: the client's source port is reserved; if not, every call is refused. */
export async function answer(ctx: ProgramContext, record: Uint8Array, privileged: boolean): Promise<Uint8Array> {
  let call: RpcCall;
  try {
    call = decodeCall(record);
  } catch (err) {
    throw new UnanswerableCall((err as Error).message);
  }
  const { xid } = call;
  if (call.rpcvers !== RPC_VERSION) return deniedReply(xid, { rpcMismatch: true });
  // Only root can bind a reserved port; a LUN is a raw disk, so nobody else learns anything, not even NULL.
  if (!privileged) return deniedReply(xid, { authStat: AuthStat.TooWeak });
  const isNull = call.proc === 0;
  if (call.credFlavor === AuthFlavor.Sys && !call.authSys) return deniedReply(xid, { authStat: AuthStat.BadCred });
  if (call.credFlavor !== AuthFlavor.Sys && !(isNull && call.credFlavor === AuthFlavor.None))
    return deniedReply(xid, { authStat: AuthStat.TooWeak });
  try {
    if (call.prog === NFS_PROGRAM) {
      if (call.vers !== NFS_V3) return progMismatch(xid, NFS_V3, NFS_V3);
      return (await nfs3(ctx, call)) ?? acceptedReply(xid, AcceptStat.ProcUnavail).finish();
    }
    if (call.prog === MOUNT_PROGRAM) {
      if (call.vers !== MOUNT_V3) return progMismatch(xid, MOUNT_V3, MOUNT_V3);
      return mount(ctx, call) ?? acceptedReply(xid, AcceptStat.ProcUnavail).finish();
    }
    return acceptedReply(xid, AcceptStat.ProgUnavail).finish();
  } catch (err) {
    if (err instanceof XdrError) return acceptedReply(xid, AcceptStat.GarbageArgs).finish();
    throw err;
  }
}

function mount(ctx: ProgramContext, call: RpcCall): Uint8Array | undefined {
  const { xid, args } = call;
  switch (call.proc) {
    case MountProc.Null:
    case MountProc.UmntAll:
      args.end("MOUNT void");
      return encodeVoidReply(xid);
    case MountProc.Mnt: {
      const x = ctx.exportByPath(normalize(decodeDirPath(args)));
      if (!x) return encodeMntReply(xid, { status: MountStat.NoEnt });
      return encodeMntReply(xid, { status: MountStat.Ok, fh: x.rootHandle, flavors: [AuthFlavor.Sys] });
    }
    case MountProc.Umnt:
      decodeDirPath(args);
      return encodeVoidReply(xid);
    case MountProc.Dump:
      args.end("DUMP");
      return encodeVoidReply(xid, true);
    case MountProc.Export:
      args.end("EXPORT");
      return encodeExportReply(xid, ctx.exportPaths());
    default:
      return undefined;
  }
}

/** "/a/b/" and "/a//b" name the export "/a/b". */
function normalize(path: string): string {
  const p = "/" + path.split("/").filter(Boolean).join("/");
  return p;
}
