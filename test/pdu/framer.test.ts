// Incoming framing (RFC 7143 §11.2, §13.1, §13.12): streams split at every offset, digests, and every error rule.

import { describe, expect, test } from "bun:test";
import {
  Opcode,
  PduError,
  PduFramer,
  crc32c,
  decodePdu,
  encodeAsyncMessage,
  encodeDataIn,
  encodeDataOut,
  encodeExtendedCdbAhs,
  encodeLoginRequest,
  encodeLoginResponse,
  encodeNopIn,
  encodeNopOut,
  encodeR2T,
  encodeReject,
  encodeLogoutResponse,
  encodeScsiCommand,
  encodeScsiResponse,
  encodeTaskMgmtResponse,
  encodeTextResponse,
  framePdu,
  writeDigest,
  type DigestOptions,
  type FramerOptions,
  type Frame,
} from "../../src/pdu/index.ts";
import { concat } from "../support/bytes.ts";

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + seed) & 0xff);

interface Sent {
  bhs: Uint8Array;
  ahs: Uint8Array;
  data: Uint8Array;
}
const wire = (sent: Sent[], opts: DigestOptions) =>
  concat(sent.flatMap((s) => framePdu(s.bhs, s.data, opts, s.ahs.length ? s.ahs : undefined)));

const tgt = { statSN: 0x10, expCmdSN: 0x20, maxCmdSN: 0x30 };
const dataIn = (data: Uint8Array, dataSN: number, final: boolean) =>
  encodeDataIn({
    dataSegmentLength: data.length,
    final,
    acknowledge: false,
    residualOverflow: false,
    residualUnderflow: false,
    statusPresent: final,
    status: 0,
    lun: 0n,
    itt: 9,
    ttt: 0xffffffff,
    ...tgt,
    dataSN,
    bufferOffset: dataSN * 8,
    residualCount: 0,
  });

/** Target PDUs with no data, data needing 1–3 bytes of padding, and data needing none. */
function targetPdus(): Sent[] {
  const none = new Uint8Array(0);
  const sense = bytes(22, 1),
    asyncData = bytes(4, 2),
    rejected = bytes(48, 3),
    text = bytes(2, 4),
    d5 = bytes(5, 5),
    d1 = bytes(1, 6);
  return [
    { bhs: encodeNopIn({ lun: 0n, itt: 0xffffffff, ttt: 0x77, ...tgt }), ahs: none, data: none },
    { bhs: dataIn(d5, 0, false), ahs: none, data: d5 },
    {
      bhs: encodeScsiResponse({
        dataSegmentLength: 22,
        bidiReadResidualOverflow: false,
        bidiReadResidualUnderflow: false,
        residualOverflow: false,
        residualUnderflow: false,
        response: 0,
        status: 2,
        itt: 3,
        snackTag: 0,
        ...tgt,
        expDataSN: 0,
        bidirectionalReadResidualCount: 0,
        residualCount: 0,
      }),
      ahs: none,
      data: sense,
    },
    {
      bhs: encodeR2T({ lun: 0n, itt: 4, ttt: 5, ...tgt, r2tSN: 0, bufferOffset: 0, desiredDataTransferLength: 4096 }),
      ahs: none,
      data: none,
    },
    {
      bhs: encodeAsyncMessage({
        dataSegmentLength: 4,
        lun: 0n,
        itt: 0xffffffff,
        ...tgt,
        asyncEvent: 4,
        asyncVCode: 0,
        parameter1: 0,
        parameter2: 0,
        parameter3: 0,
      }),
      ahs: none,
      data: asyncData,
    },
    {
      bhs: encodeReject({ dataSegmentLength: 48, reason: 9, itt: 0xffffffff, ...tgt, dataSNOrR2TSN: 0 }),
      ahs: none,
      data: rejected,
    },
    { bhs: dataIn(d1, 1, true), ahs: none, data: d1 },
    {
      bhs: encodeTextResponse({
        dataSegmentLength: 2,
        final: true,
        continue: false,
        lun: 0n,
        itt: 6,
        ttt: 0xffffffff,
        ...tgt,
      }),
      ahs: none,
      data: text,
    },
  ];
}

/** Initiator PDUs, one with an Extended CDB AHS, for a framer that accepts initiator PDUs. */
function initiatorPdus(): Sent[] {
  const cdb = bytes(32, 7);
  const ahs = encodeExtendedCdbAhs(cdb);
  const immediate = bytes(10, 8),
    out = bytes(8192, 9),
    keys = bytes(3, 10);
  return [
    {
      bhs: encodeScsiCommand({
        totalAHSLength: ahs.length / 4,
        dataSegmentLength: 10,
        final: true,
        read: false,
        write: true,
        attr: 1,
        lun: 0n,
        itt: 1,
        expectedDataTransferLength: 8202,
        cmdSN: 1,
        expStatSN: 1,
        cdb,
      }),
      ahs,
      data: immediate,
    },
    {
      bhs: encodeDataOut({
        dataSegmentLength: 8192,
        final: true,
        lun: 0n,
        itt: 1,
        ttt: 5,
        expStatSN: 1,
        dataSN: 0,
        bufferOffset: 10,
      }),
      ahs: new Uint8Array(0),
      data: out,
    },
    {
      bhs: encodeLoginRequest({
        dataSegmentLength: 3,
        transit: false,
        continue: false,
        csg: 0,
        nsg: 0,
        versionMax: 0,
        versionMin: 0,
        isid: 1,
        tsih: 0,
        itt: 2,
        cid: 0,
        cmdSN: 1,
        expStatSN: 0,
      }),
      ahs: new Uint8Array(0),
      data: keys,
    },
    {
      bhs: encodeNopOut({ lun: 0n, itt: 3, ttt: 0xffffffff, cmdSN: 2, expStatSN: 1 }),
      ahs: new Uint8Array(0),
      data: new Uint8Array(0),
    },
  ];
}

const DIGESTS: [string, DigestOptions][] = [
  ["no digests", { headerDigest: false, dataDigest: false }],
  ["header digest", { headerDigest: true, dataDigest: false }],
  ["data digest", { headerDigest: false, dataDigest: true }],
  ["both digests", { headerDigest: true, dataDigest: true }],
];

function expectFrames(frames: Frame[], sent: Sent[]): void {
  expect(frames.length).toBe(sent.length);
  frames.forEach((f, i) => {
    const s = sent[i]!;
    expect(f.bhs).toEqual(s.bhs);
    expect(f.ahs).toEqual(s.ahs);
    expect(f.data).toEqual(s.data);
    expect(f.pdu).toEqual(decodePdu(s.bhs));
  });
}

const framer = (o: Partial<FramerOptions> = {}) =>
  new PduFramer({ headerDigest: false, dataDigest: false, maxRecvDataSegmentLength: 262144, accept: "target", ...o });

describe.each(DIGESTS)("target stream, %s", (_, digests) => {
  const sent = targetPdus();
  const stream = wire(sent, digests);

  test("in one chunk, data and headers are views of the chunk", () => {
    const frames = framer(digests).push(stream);
    expectFrames(frames, sent);
    for (const f of frames) {
      expect(f.bhs.buffer).toBe(stream.buffer);
      if (f.data.length > 0) expect(f.data.buffer).toBe(stream.buffer);
    }
  });
  test("split in two at every byte offset", () => {
    for (let i = 0; i <= stream.length; i++) {
      const f = framer(digests);
      expectFrames([...f.push(stream.subarray(0, i)), ...f.push(stream.subarray(i))], sent);
    }
  });
  test("byte by byte, each spanning data segment copied once into a buffer of its exact size", () => {
    const f = framer(digests);
    const frames: Frame[] = [];
    for (let i = 0; i < stream.length; i++) frames.push(...f.push(stream.subarray(i, i + 1)));
    expectFrames(frames, sent);
    for (const fr of frames.filter((x) => x.data.length > 0)) {
      const padded = (fr.data.length + 3) & ~3;
      expect(fr.data.buffer.byteLength).toBe(padded + (digests.dataDigest ? 4 : 0));
    }
  });
  test("frames handed out earlier are not overwritten by later input", () => {
    const f = framer(digests);
    const frames: Frame[] = [];
    for (let i = 0; i < stream.length; i += 7) frames.push(...f.push(stream.slice(i, i + 7)));
    expectFrames(frames, sent);
  });
});

describe.each(DIGESTS)("initiator stream with AHS, %s", (_, digests) => {
  const sent = initiatorPdus();
  const stream = wire(sent, digests);
  test("split in two at every byte offset", () => {
    for (let i = 0; i <= stream.length; i++) {
      const f = framer({ ...digests, accept: "initiator" });
      expectFrames([...f.push(stream.subarray(0, i)), ...f.push(stream.subarray(i))], sent);
    }
  });
  test("byte by byte", () => {
    const f = framer({ ...digests, accept: "initiator" });
    const frames: Frame[] = [];
    for (let i = 0; i < stream.length; i++) frames.push(...f.push(stream.subarray(i, i + 1)));
    expectFrames(frames, sent);
  });
});

test("the RFC 3720 App. B.4 Read (10) PDU with its printed digest 56 3a 96 d9 is accepted", () => {
  const pdu = Uint8Array.from([
    0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x14, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0x14, 0, 0, 0, 0x18,
    0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0x56, 0x3a, 0x96, 0xd9,
  ]);
  const [frame] = framer({ headerDigest: true, accept: "initiator" }).push(pdu);
  expect(frame!.pdu.opcode).toBe(Opcode.ScsiCommand);
});

/** Run `fn` and return the PduError it throws. */
function thrown(fn: () => unknown): PduError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PduError) return e;
    throw e;
  }
  throw new Error("expected a PduError");
}

/** BHS followed by its header digest, whatever its fields say. */
const withHeaderDigest = (bhs: Uint8Array) => {
  const header = new Uint8Array(52);
  header.set(bhs);
  writeDigest(header, 48, crc32c(bhs));
  return header;
};

const withLength = (bhs: Uint8Array, n: number) => {
  bhs[5] = n >>> 16;
  bhs[6] = (n >>> 8) & 0xff;
  bhs[7] = n & 0xff;
  return bhs;
};

describe("length rules, checked on the header alone", () => {
  test("DataSegmentLength 0xFFFFFF is refused after 48 bytes", () => {
    const e = thrown(() => framer().push(withLength(dataIn(new Uint8Array(0), 0, false), 0xffffff)));
    expect(e.code).toBe("PROTOCOL");
    expect(e.message).toBe("Data-In: DataSegmentLength 16777215 > MaxRecvDataSegmentLength 262144");
  });
  test("the same with a header digest, once the digest has matched", () => {
    const header = withHeaderDigest(withLength(dataIn(new Uint8Array(0), 0, false), 0xffffff));
    const e = thrown(() => framer({ headerDigest: true }).push(header));
    expect(e.code).toBe("PROTOCOL");
    expect(e.message).toContain("DataSegmentLength 16777215");
  });
  test("exactly MaxRecvDataSegmentLength is accepted, one more is not", () => {
    const f = framer({ maxRecvDataSegmentLength: 8192 });
    expect(f.push(withLength(dataIn(new Uint8Array(0), 0, false), 8192))).toEqual([]);
    expect(
      thrown(() =>
        framer({ maxRecvDataSegmentLength: 8192 }).push(withLength(dataIn(new Uint8Array(0), 0, false), 8193)),
      ).message,
    ).toContain("8193 > MaxRecvDataSegmentLength 8192");
  });
  const small: [string, Uint8Array, FramerOptions["accept"]][] = [
    [
      "Login Response",
      encodeLoginResponse({
        transit: false,
        continue: false,
        csg: 0,
        nsg: 0,
        versionMax: 0,
        versionActive: 0,
        isid: 0,
        tsih: 0,
        itt: 0,
        ...tgt,
        statusClass: 0,
        statusDetail: 0,
      }),
      "target",
    ],
    ["Text Response", encodeTextResponse({ final: true, continue: false, lun: 0n, itt: 0, ttt: 0, ...tgt }), "target"],
    ["Reject", encodeReject({ reason: 9, itt: 0xffffffff, ...tgt, dataSNOrR2TSN: 0 }), "target"],
    [
      "Asynchronous Message",
      encodeAsyncMessage({
        lun: 0n,
        itt: 0xffffffff,
        ...tgt,
        asyncEvent: 0,
        asyncVCode: 0,
        parameter1: 0,
        parameter2: 0,
        parameter3: 0,
      }),
      "target",
    ],
    [
      "Login Request",
      encodeLoginRequest({
        transit: false,
        continue: false,
        csg: 0,
        nsg: 0,
        versionMax: 0,
        versionMin: 0,
        isid: 0,
        tsih: 0,
        itt: 0,
        cid: 0,
        cmdSN: 0,
        expStatSN: 0,
      }),
      "initiator",
    ],
  ];
  test.each(small)("%s data over 8192 bytes is refused whatever was negotiated", (name, bhs, accept) => {
    expect(framer({ accept }).push(withLength(bhs.slice(), 8192))).toEqual([]);
    const e = thrown(() => framer({ accept }).push(withLength(bhs.slice(), 8193)));
    expect(e.code).toBe("PROTOCOL");
    expect(e.message).toBe(`${name}: DataSegmentLength 8193 > 8192`);
  });
});

describe("PDUs without a data segment", () => {
  const none: [string, Uint8Array][] = [
    ["R2T", encodeR2T({ lun: 0n, itt: 1, ttt: 2, ...tgt, r2tSN: 0, bufferOffset: 0, desiredDataTransferLength: 512 })],
    ["Task Management Function Response", encodeTaskMgmtResponse({ response: 0, itt: 1, ...tgt })],
    ["Logout Response", encodeLogoutResponse({ response: 0, itt: 1, ...tgt, time2Wait: 0, time2Retain: 0 })],
  ];
  test.each(none)("%s with a data segment is refused before it is read", (name, bhs) => {
    expect(framer().push(bhs.slice()).length).toBe(1);
    const e = thrown(() => framer().push(withLength(bhs.slice(), 4)));
    expect(e.code).toBe("PROTOCOL");
    expect(e.message).toBe(`${name}: DataSegmentLength 4 != 0`);
  });
});

describe("direction and AHS rules", () => {
  test("a target PDU with an AHS is refused before the AHS is read", () => {
    const bhs = encodeNopIn({ totalAHSLength: 1, lun: 0n, itt: 0xffffffff, ttt: 1, ...tgt });
    const e = thrown(() => framer().push(bhs));
    expect(e.code).toBe("PROTOCOL");
    expect(e.message).toBe("NOP-In: TotalAHSLength 1 != 0 from a target");
    expect(thrown(() => framer({ headerDigest: true }).push(withHeaderDigest(bhs))).message).toContain(
      "TotalAHSLength 1 != 0",
    );
  });
  test("an initiator may send up to 255 AHS words", () => {
    const ahs = bytes(1020, 11);
    const bhs = encodeNopOut({ totalAHSLength: 255, lun: 0n, itt: 1, ttt: 0xffffffff, cmdSN: 0, expStatSN: 0 });
    const [frame] = framer({ accept: "initiator", headerDigest: true }).push(
      concat(framePdu(bhs, undefined, { headerDigest: true, dataDigest: false }, ahs)),
    );
    expect(frame!.ahs).toEqual(ahs);
  });
  test.each([Opcode.NopOut, Opcode.ScsiCommand, Opcode.LoginRequest, Opcode.DataOut, Opcode.SnackRequest])(
    "initiator opcode %d from a target is refused",
    (opcode) => {
      const bhs = new Uint8Array(48);
      bhs[0] = opcode;
      const e = thrown(() => framer().push(bhs));
      expect(e.code).toBe("PROTOCOL");
      expect(e.message).toContain("is not one a target may send");
    },
  );
  test.each([Opcode.NopIn, Opcode.DataIn, Opcode.LoginResponse, Opcode.R2T, Opcode.Reject])(
    "target opcode %d from an initiator is refused",
    (opcode) => {
      const bhs = new Uint8Array(48);
      bhs[0] = opcode;
      expect(thrown(() => framer({ accept: "initiator" }).push(bhs)).message).toContain(
        "is not one an initiator may send",
      );
    },
  );
  test.each([
    ["target", 0x3e],
    ["target", 0x28],
    ["initiator", 0x07],
    ["initiator", 0x1f],
  ] as const)("unknown opcode on a framer accepting %s PDUs is refused", (accept, opcode) => {
    const bhs = new Uint8Array(48);
    bhs[0] = opcode;
    const e = thrown(() => framer({ accept }).push(bhs));
    expect(e.code).toBe("PROTOCOL");
    expect(e.message).toContain("unknown opcode");
  });
});

describe("digest checks", () => {
  const both = { headerDigest: true, dataDigest: true };
  const d5 = bytes(5, 12);
  const stream = wire([{ bhs: dataIn(d5, 0, false), ahs: new Uint8Array(0), data: d5 }], both);
  test("corrupting any byte of BHS or header digest is a DIGEST error, even where the header would be refused", () => {
    for (let i = 0; i < 52; i++) {
      const bad = stream.slice();
      bad[i]! ^= i === 0 ? 0x3f : 0xff; // byte 0 becomes an unknown opcode, byte 5 an oversize length
      const e = thrown(() => framer(both).push(bad));
      expect(e.code).toBe("DIGEST");
      expect(e.message).toContain("header digest mismatch");
    }
  });
  test("corrupting data, padding or data digest is a DIGEST error", () => {
    for (let i = 52; i < stream.length; i++) {
      const bad = stream.slice();
      bad[i]! ^= 0x01;
      const e = thrown(() => framer(both).push(bad));
      expect(e.code).toBe("DIGEST");
      expect(e.message).toStartWith("Data-In: data digest mismatch");
    }
  });
  test("an intact stream passes, so the above fail for the corruption alone", () => {
    expect(framer(both).push(stream)).toHaveLength(1);
  });
  test("a header digest written big-endian is refused", () => {
    const bhs = encodeNopIn({ lun: 0n, itt: 1, ttt: 2, ...tgt });
    const header = new Uint8Array(52);
    header.set(bhs);
    new DataView(header.buffer).setUint32(48, crc32c(bhs));
    expect(thrown(() => framer({ headerDigest: true }).push(header)).code).toBe("DIGEST");
    writeDigest(header, 48, crc32c(bhs));
    expect(framer({ headerDigest: true }).push(header)).toHaveLength(1);
  });
});

describe("after an error", () => {
  test("every later call throws the same error", () => {
    const f = framer();
    const bad = withLength(dataIn(new Uint8Array(0), 0, false), 0xffffff);
    const first = thrown(() => f.push(bad));
    const good = wire(targetPdus(), { headerDigest: false, dataDigest: false });
    expect(thrown(() => f.push(good))).toBe(first);
    expect(thrown(() => f.next())).toBe(first);
    expect(thrown(() => f.feed(good))).toBe(first);
  });
});

describe("options", () => {
  test("feed/next lets digests start right after the final Login Response in the same chunk", () => {
    const login = encodeLoginResponse({
      transit: true,
      continue: false,
      csg: 1,
      nsg: 3,
      versionMax: 0,
      versionActive: 0,
      isid: 0,
      tsih: 1,
      itt: 0,
      ...tgt,
      statusClass: 0,
      statusDetail: 0,
    });
    const nopIn = encodeNopIn({ lun: 0n, itt: 0xffffffff, ttt: 8, ...tgt });
    const chunk = concat([login, ...framePdu(nopIn, undefined, { headerDigest: true, dataDigest: true })]);
    const f = framer();
    f.feed(chunk);
    expect(f.next()!.pdu.opcode).toBe(Opcode.LoginResponse);
    f.setOptions({ headerDigest: true, dataDigest: true });
    expect(f.next()!.bhs).toEqual(nopIn);
    expect(f.next()).toBeUndefined();
  });
  test("options changed while a PDU is half read apply from the next PDU", () => {
    const none = { headerDigest: false, dataDigest: false };
    const d5 = bytes(5, 14);
    const first = concat(framePdu(dataIn(d5, 0, false), d5, none));
    const second = concat(framePdu(dataIn(d5, 1, true), d5, { headerDigest: true, dataDigest: true }));
    for (const cut of [30, 50]) {
      const f = framer();
      expect(f.push(first.subarray(0, cut))).toEqual([]);
      f.setOptions({ headerDigest: true, dataDigest: true });
      const frames = [...f.push(first.subarray(cut)), ...f.push(second)];
      expect(frames.map((x) => x.data)).toEqual([d5, d5]);
    }
  });
  test("a raised MaxRecvDataSegmentLength applies to the next PDU", () => {
    const data = bytes(16384, 13);
    const f = framer({ maxRecvDataSegmentLength: 8192 });
    f.setOptions({ maxRecvDataSegmentLength: 65536 });
    expect(
      f.push(concat(framePdu(dataIn(data, 0, true), data, { headerDigest: false, dataDigest: false })))[0]!.data,
    ).toEqual(data);
  });
  test("nonsense options are refused", () => {
    expect(() => framer({ maxRecvDataSegmentLength: 0x1000000 })).toThrow(RangeError);
    expect(() => framer().setOptions({ accept: "both" as never })).toThrow(RangeError);
  });
});
