// ONC RPC version 2 messages (RFC 5531 §9): the call header we decode and the replies we encode (accepted with
// an accept_stat, or denied for an RPC version or authentication reason), and AUTH_SYS credentials (RFC 5531
// appendix A). Replies are written with 4 bytes of room for the record mark (record.ts) in front.

import { XdrError, XdrReader, XdrWriter } from "./xdr.ts";

export const RPC_VERSION = 2;
export const MsgType = { Call: 0, Reply: 1 } as const;
export const AuthFlavor = { None: 0, Sys: 1 } as const;
export const AcceptStat = {
  Success: 0,
  ProgUnavail: 1,
  ProgMismatch: 2,
  ProcUnavail: 3,
  GarbageArgs: 4,
  SystemErr: 5,
} as const;
export const AuthStat = { BadCred: 1, RejectedCred: 2, BadVerf: 3, RejectedVerf: 4, TooWeak: 5 } as const;

/** RFC 5531 §8.2: an opaque_auth body is at most 400 bytes. */
const MAX_AUTH_BODY = 400;

export interface AuthSys {
  stamp: number;
  machineName: string;
  uid: number;
  gid: number;
  gids: number[];
}

export interface RpcCall {
  xid: number;
  rpcvers: number;
  prog: number;
  vers: number;
  proc: number;
  credFlavor: number;
  /** Present when the credential is AUTH_SYS and well formed. */
  authSys?: AuthSys;
  /** The procedure's arguments, read by the program's decoder. */
  args: XdrReader;
}

/** Decodes the call header (RFC 5531 §9); a REPLY or a malformed header throws XdrError. */
export function decodeCall(record: Uint8Array): RpcCall {
  const r = new XdrReader(record);
  const xid = r.u32("xid");
  const type = r.u32("msg_type");
  if (type !== MsgType.Call) throw new XdrError(`RPC message ${xid} has msg_type ${type}, not CALL`);
  const rpcvers = r.u32("rpcvers");
  const prog = r.u32("prog");
  const vers = r.u32("vers");
  const proc = r.u32("proc");
  const credFlavor = r.u32("cred flavor");
  const cred = r.opaque(MAX_AUTH_BODY, "cred body");
  r.u32("verf flavor");
  r.opaque(MAX_AUTH_BODY, "verf body");
  const call: RpcCall = { xid, rpcvers, prog, vers, proc, credFlavor, args: r };
  if (credFlavor === AuthFlavor.Sys) call.authSys = decodeAuthSys(cred);
  return call;
}

/** AUTH_SYS body (RFC 5531 appendix A): a malformed one yields undefined, answered as AUTH_BADCRED. */
export function decodeAuthSys(body: Uint8Array): AuthSys | undefined {
  try {
    const r = new XdrReader(body);
    const stamp = r.u32();
    const machineName = r.string(255, "machinename");
    const uid = r.u32();
    const gid = r.u32();
    const n = r.u32("gids count");
    if (n > 16) return undefined;
    const gids: number[] = [];
    for (let i = 0; i < n; i++) gids.push(r.u32());
    r.end("AUTH_SYS credential");
    return { stamp, machineName, uid, gid, gids };
  } catch {
    return undefined;
  }
}

export function encodeAuthSys(a: AuthSys): Uint8Array {
  const w = new XdrWriter().u32(a.stamp).string(a.machineName).u32(a.uid).u32(a.gid).u32(a.gids.length);
  for (const g of a.gids) w.u32(g);
  return w.finish();
}

/** Builds a call (for tests and fixtures): header, then `args`. */
export function encodeCall(
  c: { xid: number; prog: number; vers: number; proc: number; cred?: { flavor: number; body: Uint8Array } },
  args: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const cred = c.cred ?? { flavor: AuthFlavor.None, body: new Uint8Array(0) };
  return new XdrWriter(64 + args.length)
    .u32(c.xid)
    .u32(MsgType.Call)
    .u32(RPC_VERSION)
    .u32(c.prog)
    .u32(c.vers)
    .u32(c.proc)
    .u32(cred.flavor)
    .opaque(cred.body)
    .u32(AuthFlavor.None)
    .u32(0)
    .fixed(args)
    .finish();
}

/** A writer holding the reply header up to the accept_stat; the caller appends the results. */
export function acceptedReply(xid: number, stat: number, resultsHint = 128, into?: Uint8Array): XdrWriter {
  return new XdrWriter(4 + 24 + resultsHint, into)
    .u32(0)
    .u32(xid)
    .u32(MsgType.Reply)
    .u32(0)
    .u32(AuthFlavor.None)
    .u32(0)
    .u32(stat);
}

/** PROG_MISMATCH with the versions we serve (RFC 5531 §9). */
export function progMismatch(xid: number, low: number, high: number): Uint8Array {
  return acceptedReply(xid, AcceptStat.ProgMismatch).u32(low).u32(high).finish();
}

/** MSG_DENIED: RPC_MISMATCH (version 2 only) or AUTH_ERROR with its auth_stat. */
export function deniedReply(xid: number, why: { rpcMismatch: true } | { authStat: number }): Uint8Array {
  const w = new XdrWriter(32).u32(0).u32(xid).u32(MsgType.Reply).u32(1);
  if ("rpcMismatch" in why) w.u32(0).u32(RPC_VERSION).u32(RPC_VERSION);
  else w.u32(1).u32(why.authStat);
  return w.finish();
}

/** Reads a reply header (for tests and the fixtures): xid, reply_stat, accept_stat or reject detail, and the rest. */
export function decodeReply(record: Uint8Array): { xid: number; accepted: boolean; stat: number; body: XdrReader } {
  const r = new XdrReader(record);
  const xid = r.u32("xid");
  if (r.u32("msg_type") !== MsgType.Reply) throw new XdrError(`message ${xid} is not a REPLY`);
  const replyStat = r.u32("reply_stat");
  if (replyStat === 0) {
    r.u32("verf flavor");
    r.opaque(MAX_AUTH_BODY, "verf body");
    return { xid, accepted: true, stat: r.u32("accept_stat"), body: r };
  }
  return { xid, accepted: false, stat: r.u32("reject_stat"), body: r };
}
