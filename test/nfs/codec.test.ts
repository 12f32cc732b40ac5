// The NFS codec against byte fixtures: XDR (RFC 4506), RPC calls and replies (RFC 5531 §9, AUTH_SYS appendix A),
// record marking fed at every split offset (§11), MOUNT v3 and NFSv3 (RFC 1813) arguments and results; malformed
// and oversized input refused with XdrError before anything is sized from it.
import { describe, expect, test } from "bun:test";
import { decodeDirPath, encodeExportReply, encodeMntReply, encodeVoidReply, MountStat } from "../../src/nfs/mount.ts";
import * as A from "../../src/nfs/nfs3-args.ts";
import * as R from "../../src/nfs/nfs3-res.ts";
import { FType, Nfs3Proc, Nfs3Status, writeFattr, type Fattr3 } from "../../src/nfs/nfs3-types.ts";
import { markRecord, RecordReader } from "../../src/nfs/record.ts";
import {
  AcceptStat,
  acceptedReply,
  decodeAuthSys,
  decodeCall,
  decodeReply,
  deniedReply,
  encodeAuthSys,
  encodeCall,
  progMismatch,
} from "../../src/nfs/rpc.ts";
import { XdrError, XdrReader, XdrWriter } from "../../src/nfs/xdr.ts";

const hex = (s: string) => Uint8Array.from((s.replace(/\s+/g, "").match(/../g) ?? []).map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const rd = (s: string) => new XdrReader(hex(s));
/** Reply header of xid 5, SUCCESS, with the 4 bytes left for the record mark. */
const OK5 = "00000000 00000005 00000001 00000000 00000000 00000000 00000000";
const FH = "69534333 0102030405060708 00000002";
const fhArg = `00000010 ${FH}`;

describe("XDR", () => {
  test("writes and reads every type, opaque data padded to 4 bytes", () => {
    const bytes = new XdrWriter(4)
      .u32(1)
      .u64(2n)
      .bool(true)
      .opaque(hex("010203"))
      .string("ab")
      .fixed(hex("ff"))
      .finish();
    expect(toHex(bytes)).toBe(
      toHex(hex("00000001 0000000000000002 00000001 00000003 01020300 00000002 61620000 ff000000")),
    );
    const r = new XdrReader(bytes);
    expect([r.u32(), r.u64(), r.bool(), toHex(r.opaque(3)), r.string(2), toHex(r.fixed(1))]).toEqual([
      1,
      2n,
      true,
      "010203",
      "ab",
      "ff",
    ]);
    r.end("all");
  });

  test("refuses lengths over the bound or the message, bad booleans and trailing bytes", () => {
    expect(() => rd("00000004 01020304").opaque(3, "name")).toThrow(
      new XdrError("name: length 4 exceeds the limit of 3"),
    );
    expect(() => rd("7fffffff 01020304").opaque(0x7fffffff, "data")).toThrow(
      /data: needs 2147483648 bytes at offset 4, only 4 left/,
    );
    expect(() => rd("00000002").bool("flag")).toThrow(/flag: boolean is 2/);
    expect(() => rd("000000").u32("x")).toThrow(XdrError);
    const r = rd("00000001 00000002");
    r.u32();
    expect(() => r.end("args")).toThrow(/args: 4 unexpected bytes/);
  });
});

describe("record marking (RFC 5531 §11)", () => {
  const stream = hex("80000005 0102030405  00000003 0a0b0c 80000002 0d0e  80000000");
  const expected = ["0102030405", "0a0b0c0d0e", ""];

  test("one fragment marked last", () => {
    expect(toHex(markRecord(hex("00000000 616263")))).toBe("80000003616263");
  });

  test("records come out whole and in order wherever the stream is split", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = new RecordReader(16);
      const got = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))].map(toHex);
      expect(got).toEqual(expected);
    }
    const r = new RecordReader(16);
    expect([...stream].flatMap((b) => r.push(Uint8Array.of(b))).map(toHex)).toEqual(expected);
  });

  test("a record over the limit is refused at its mark, before its bytes are stored", () => {
    expect(() => new RecordReader(16).push(hex("80000011"))).toThrow(/at least 17 bytes exceeds the limit of 16/);
    // Fragments add up: the second mark takes the record over the limit.
    expect(() => new RecordReader(16).push(hex("0000000a 00000000000000000000 80000007"))).toThrow(/at least 17 bytes/);
    expect(() => new RecordReader(1 << 20).push(hex("ffffffff"))).toThrow(XdrError);
  });
});

describe("RPC (RFC 5531 §9)", () => {
  const sys = { stamp: 0, machineName: "h", uid: 0, gid: 0, gids: [0] };
  const sysBody = "00000000 00000001 68000000 00000000 00000000 00000001 00000000";
  const call = `11223344 00000000 00000002 000186a3 00000003 00000001  00000001 0000001c ${sysBody}  00000000 00000000  ${fhArg}`;

  test("a GETATTR call with AUTH_SYS, encoded and decoded", () => {
    expect(toHex(encodeAuthSys(sys))).toBe(toHex(hex(sysBody)));
    expect(
      toHex(
        encodeCall(
          { xid: 0x11223344, prog: 100003, vers: 3, proc: 1, cred: { flavor: 1, body: encodeAuthSys(sys) } },
          hex(fhArg),
        ),
      ),
    ).toBe(toHex(hex(call)));
    const c = decodeCall(hex(call));
    expect({ ...c, args: undefined }).toEqual({
      xid: 0x11223344,
      rpcvers: 2,
      prog: 100003,
      vers: 3,
      proc: 1,
      credFlavor: 1,
      authSys: sys,
      args: undefined,
    });
    expect(toHex(A.decodeFhArgs(c.args).fh)).toBe(toHex(hex(FH)));
  });

  test("a REPLY, an oversized credential and a bad AUTH_SYS body are refused", () => {
    expect(() => decodeCall(hex("00000001 00000001"))).toThrow(/msg_type 1, not CALL/);
    expect(() => decodeCall(hex("00000001 00000000 00000002 000186a3 00000003 00000001 00000001 00000191"))).toThrow(
      /cred body: length 401 exceeds the limit of 400/,
    );
    expect(decodeAuthSys(hex("00000000 00000001 68000000 00000000 00000000 00000011"))).toBeUndefined(); // 17 gids
    expect(decodeAuthSys(hex(`${sysBody} 00000000`))).toBeUndefined(); // trailing bytes
  });

  test("accepted, PROG_MISMATCH and denied replies", () => {
    expect(toHex(acceptedReply(5, AcceptStat.Success).finish())).toBe(toHex(hex(OK5)));
    expect(toHex(acceptedReply(5, AcceptStat.ProcUnavail).finish())).toBe(
      toHex(hex("00000000 00000005 00000001 00000000 00000000 00000000 00000003")),
    );
    expect(toHex(progMismatch(5, 3, 3))).toBe(
      toHex(hex("00000000 00000005 00000001 00000000 00000000 00000000 00000002 00000003 00000003")),
    );
    expect(toHex(deniedReply(5, { authStat: 5 }))).toBe(
      toHex(hex("00000000 00000005 00000001 00000001 00000001 00000005")),
    );
    expect(toHex(deniedReply(5, { rpcMismatch: true }))).toBe(
      toHex(hex("00000000 00000005 00000001 00000001 00000000 00000002 00000002")),
    );
    const r = decodeReply(progMismatch(5, 3, 3).subarray(4));
    expect([r.xid, r.accepted, r.stat, r.body.u32(), r.body.u32()]).toEqual([5, true, 2, 3, 3]);
  });
});

describe("MOUNT v3", () => {
  test("dirpath, MNT, EXPORT and void replies", () => {
    expect(decodeDirPath(rd("00000002 2f610000"))).toBe("/a");
    expect(() => decodeDirPath(rd("00000401"))).toThrow(/dirpath: length 1025 exceeds the limit of 1024/);
    expect(toHex(encodeMntReply(5, { status: MountStat.Ok, fh: hex(FH), flavors: [1] }))).toBe(
      toHex(hex(`${OK5} 00000000 00000010 ${FH} 00000001 00000001`)),
    );
    expect(toHex(encodeMntReply(5, { status: MountStat.NoEnt }))).toBe(toHex(hex(`${OK5} 00000002`)));
    expect(toHex(encodeExportReply(5, ["/a"]))).toBe(toHex(hex(`${OK5} 00000001 00000002 2f610000 00000000 00000000`)));
    expect(toHex(encodeVoidReply(5))).toBe(toHex(hex(OK5)));
    expect(toHex(encodeVoidReply(5, true))).toBe(toHex(hex(`${OK5} 00000000`)));
  });
});

describe("NFSv3 arguments (RFC 1813 §3.3)", () => {
  test("READ, WRITE, COMMIT, ACCESS, LOOKUP", () => {
    const read = A.decodeReadArgs(rd(`${fhArg} 0000000100000000 00100000`));
    expect([toHex(read.fh), read.offset, read.count]).toEqual([toHex(hex(FH)), 1n << 32n, 1 << 20]);
    const write = A.decodeWriteArgs(rd(`${fhArg} 0000000000000200 00000003 00000002 00000003 61626300`), 16);
    expect([write.offset, write.stable, toHex(write.data)]).toEqual([512n, 2, "616263"]);
    expect(A.decodeCommitArgs(rd(`${fhArg} 0000000000000000 00000000`)).count).toBe(0);
    expect(A.decodeAccessArgs(rd(`${fhArg} 0000001f`)).access).toBe(0x1f);
    expect(A.decodeDirOpArgs(rd(`${fhArg} 00000008 6c756e302e696d67`)).name).toBe("lun0.img");
  });

  test("SETATTR, CREATE, READDIRPLUS", () => {
    const set = A.decodeSetAttrArgs(
      rd(
        `${fhArg} 00000001 000001a4 00000000 00000000 00000001 0000000000000000 00000001 00000002 0000000500000006 00000001 00000007 00000008`,
      ),
    );
    expect(set).toMatchObject({
      attrs: { mode: 0o644, size: 0n, atime: 1, mtime: 2 },
      guard: { seconds: 7, nseconds: 8 },
    });
    const guarded = A.decodeCreateArgs(
      rd(`${fhArg} 00000001 61000000 00000001 00000001 000001b0 00000000 00000000 00000000 00000000 00000000`),
    );
    expect(guarded).toMatchObject({ name: "a", mode: A.CreateMode.Guarded, attrs: { mode: 0o660 } });
    expect(A.decodeCreateArgs(rd(`${fhArg} 00000001 61000000 00000002 0102030405060708`)).mode).toBe(
      A.CreateMode.Exclusive,
    );
    const dir = A.decodeReadDirArgs(rd(`${fhArg} 0000000000000002 0000000000000000 00001000 00008000`), true);
    expect([dir.cookie, dir.count]).toEqual([2n, 0x8000]);
  });

  test("refused: long handles and names, empty names, data over the limit or unlike its count, bad enums", () => {
    expect(() => A.decodeFhArgs(rd("00000041"))).toThrow(/nfs_fh3: length 65 exceeds the limit of 64/);
    expect(() => A.decodeDirOpArgs(rd(`${fhArg} 00000100`))).toThrow(/filename3: length 256/);
    expect(() => A.decodeDirOpArgs(rd(`${fhArg} 00000000`))).toThrow(/filename3 is empty/);
    expect(() => A.decodeWriteArgs(rd(`${fhArg} 0000000000000000 00000011 00000000 00000011`), 16)).toThrow(
      /WRITE data: length 17 exceeds the limit of 16/,
    );
    expect(() => A.decodeWriteArgs(rd(`${fhArg} 0000000000000000 00000004 00000000 00000003 61626300`), 16)).toThrow(
      /WRITE count 4 differs from its 3 bytes/,
    );
    expect(() => A.decodeWriteArgs(rd(`${fhArg} 0000000000000000 00000000 00000003 00000000`), 16)).toThrow(
      /stable_how 3/,
    );
    expect(() => A.decodeCreateArgs(rd(`${fhArg} 00000001 61000000 00000003`))).toThrow(/CREATE mode 3/);
    expect(() => A.decodeSetAttrArgs(rd(`${fhArg} 00000000 00000000 00000000 00000000 00000003`))).toThrow(
      /time_how 3/,
    );
    expect(() => A.decodeFhArgs(rd(`${fhArg} 00000000`))).toThrow(/4 unexpected bytes/);
  });
});

describe("NFSv3 results", () => {
  const t = { seconds: 0x10, nseconds: 0x20 };
  const attr: Fattr3 = {
    type: FType.Reg,
    mode: 0o600,
    nlink: 1,
    uid: 0,
    gid: 0,
    size: 0x1000n,
    used: 0x1000n,
    fsid: 0x0102030405060708n,
    fileid: 2n,
    atime: t,
    mtime: t,
    ctime: t,
  };
  const fattr =
    "00000001 00000180 00000001 00000000 00000000 0000000000001000 0000000000001000 00000000 00000000 0102030405060708 0000000000000002 00000010 00000020 00000010 00000020 00000010 00000020";
  const S = Nfs3Status;

  test("fattr3 is 84 bytes in RFC 1813 §2.6 order; GETATTR and LOOKUP carry it", () => {
    const w = new XdrWriter();
    writeFattr(w, attr);
    expect(toHex(w.finish())).toBe(toHex(hex(fattr)));
    expect(toHex(R.encodeGetAttrRes(5, S.Ok, attr))).toBe(toHex(hex(`${OK5} 00000000 ${fattr}`)));
    expect(toHex(R.encodeGetAttrRes(5, S.Stale))).toBe(toHex(hex(`${OK5} 00000046`)));
    expect(toHex(R.encodeLookupRes(5, S.Ok, { fh: hex(FH), obj: attr }))).toBe(
      toHex(hex(`${OK5} 00000000 00000010 ${FH} 00000001 ${fattr} 00000000`)),
    );
    expect(toHex(R.encodeLookupRes(5, S.NoEnt, {}))).toBe(toHex(hex(`${OK5} 00000002 00000000`)));
  });

  test("READ, WRITE, COMMIT, CREATE, ACCESS, SETATTR with wcc_data", () => {
    expect(toHex(R.encodeReadRes(5, S.Ok, undefined, hex("616263"), true))).toBe(
      toHex(hex(`${OK5} 00000000 00000000 00000003 00000001 00000003 61626300`)),
    );
    expect(toHex(R.encodeReadRes(5, S.Jukebox, undefined))).toBe(toHex(hex(`${OK5} 00002718 00000000`)));
    // The READ reply with room: data read into it later, padding zeroed even in a reused buffer.
    const { reply, data } = R.encodeReadResRoom(5, attr, 3, false, new Uint8Array(256).fill(0xee));
    data.set(hex("616263"));
    expect(toHex(reply)).toBe(toHex(hex(`${OK5} 00000000 00000001 ${fattr} 00000003 00000000 00000003 61626300`)));
    const verf = hex("0102030405060708");
    expect(toHex(R.encodeWriteRes(5, S.Ok, { before: attr }, { count: 3, committed: 0, verf }))).toBe(
      toHex(
        hex(
          `${OK5} 00000000 00000001 0000000000001000 00000010 00000020 00000010 00000020 00000000 00000003 00000000 0102030405060708`,
        ),
      ),
    );
    expect(toHex(R.encodeWriteRes(5, S.Rofs, {}))).toBe(toHex(hex(`${OK5} 0000001e 00000000 00000000`)));
    expect(toHex(R.encodeCommitRes(5, S.Ok, {}, verf))).toBe(
      toHex(hex(`${OK5} 00000000 00000000 00000000 0102030405060708`)),
    );
    expect(toHex(R.encodeCreateRes(5, S.Ok, { fh: hex(FH) }))).toBe(
      toHex(hex(`${OK5} 00000000 00000001 00000010 ${FH} 00000000 00000000 00000000`)),
    );
    expect(toHex(R.encodeCreateRes(5, S.Acces, {}))).toBe(toHex(hex(`${OK5} 0000000d 00000000 00000000`)));
    expect(toHex(R.encodeAccessRes(5, S.Ok, undefined, 3))).toBe(toHex(hex(`${OK5} 00000000 00000000 00000003`)));
    expect(toHex(R.encodeWccRes(5, S.Perm))).toBe(toHex(hex(`${OK5} 00000001 00000000 00000000`)));
  });

  test("READDIR and READDIRPLUS entry lists", () => {
    const cv = hex("0000000000000000");
    expect(
      toHex(
        R.encodeReadDirRes(5, S.Ok, false, {
          cookieVerf: cv,
          entries: [{ fileid: 2n, name: "a", cookie: 3n }],
          eof: true,
        }),
      ),
    ).toBe(
      toHex(
        hex(
          `${OK5} 00000000 00000000 0000000000000000 00000001 0000000000000002 00000001 61000000 0000000000000003 00000000 00000001`,
        ),
      ),
    );
    expect(
      toHex(
        R.encodeReadDirRes(5, S.Ok, true, {
          cookieVerf: cv,
          entries: [{ fileid: 2n, name: "a", cookie: 3n, fh: hex(FH) }],
          eof: false,
        }),
      ),
    ).toBe(
      toHex(
        hex(
          `${OK5} 00000000 00000000 0000000000000000 00000001 0000000000000002 00000001 61000000 0000000000000003 00000000 00000001 00000010 ${FH} 00000000 00000000`,
        ),
      ),
    );
  });

  test("FSSTAT, FSINFO, PATHCONF, and the refusals of procedures we do not serve", () => {
    expect(
      toHex(
        R.encodeFsStatRes(5, S.Ok, undefined, {
          tbytes: 1n,
          fbytes: 2n,
          abytes: 3n,
          tfiles: 4n,
          ffiles: 5n,
          afiles: 6n,
          invarsec: 7,
        }),
      ),
    ).toBe(
      toHex(hex(`${OK5} 00000000 00000000 ${[1, 2, 3, 4, 5, 6].map((n) => `000000000000000${n}`).join(" ")} 00000007`)),
    );
    expect(
      toHex(
        R.encodeFsInfoRes(5, S.Ok, undefined, {
          rtmax: 1,
          rtpref: 2,
          rtmult: 3,
          wtmax: 4,
          wtpref: 5,
          wtmult: 6,
          dtpref: 7,
          maxFileSize: 8n,
          timeDelta: { seconds: 0, nseconds: 1 },
          properties: 8,
        }),
      ),
    ).toBe(
      toHex(
        hex(
          `${OK5} 00000000 00000000 00000001 00000002 00000003 00000004 00000005 00000006 00000007 0000000000000008 00000000 00000001 00000008`,
        ),
      ),
    );
    expect(
      toHex(
        R.encodePathConfRes(5, S.Ok, undefined, {
          linkMax: 1,
          nameMax: 255,
          noTrunc: true,
          chownRestricted: true,
          caseInsensitive: false,
          casePreserving: true,
        }),
      ),
    ).toBe(toHex(hex(`${OK5} 00000000 00000000 00000001 000000ff 00000001 00000001 00000000 00000001`)));
    expect(toHex(R.encodeRefusedRes(5, Nfs3Proc.Rename, S.Acces)!)).toBe(
      toHex(hex(`${OK5} 0000000d 00000000 00000000 00000000 00000000`)),
    );
    expect(toHex(R.encodeRefusedRes(5, Nfs3Proc.ReadLink, S.Inval)!)).toBe(toHex(hex(`${OK5} 00000016 00000000`)));
    expect(R.encodeRefusedRes(5, Nfs3Proc.Read, S.Acces)).toBeUndefined();
  });
});
