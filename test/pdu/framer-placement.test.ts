// Data placement in the framer: a DataPlacer names the buffer a data segment is copied into (a read's
// destination), at every split of the stream; with a data digest nothing is placed before it matched.

import { describe, expect, test } from "bun:test";
import {
  encodeDataIn,
  encodeNopIn,
  framePdu,
  PduFramer,
  type DataPlacer,
  type DigestOptions,
  type Frame,
} from "../../src/pdu/index.ts";
import { concat } from "../support/bytes.ts";

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const tgt = { statSN: 1, expCmdSN: 2, maxCmdSN: 3 };
const dataIn = (length: number, dataSN: number, bufferOffset: number, final: boolean) =>
  encodeDataIn({
    dataSegmentLength: length,
    final,
    acknowledge: false,
    residualOverflow: false,
    residualUnderflow: false,
    statusPresent: final,
    status: 0,
    lun: 0n,
    itt: 5,
    ttt: 0xffffffff,
    ...tgt,
    dataSN,
    bufferOffset,
    residualCount: 0,
  });

/** A read of 1 + 4 + 7 + 64 bytes in four Data-In PDUs (padding 3, 0, 1, 0), with a NOP-In between. */
function readStream(digests: DigestOptions) {
  const payload = bytes(76, 3);
  const cuts = [
    [0, 1],
    [1, 5],
    [5, 12],
    [12, 76],
  ] as const;
  const parts = cuts.map(([from, to], i) =>
    concat(framePdu(dataIn(to - from, i, from, i === cuts.length - 1), payload.subarray(from, to), digests)),
  );
  parts.splice(
    2,
    0,
    concat(framePdu(encodeNopIn({ lun: 0n, itt: 0xffffffff, ttt: 0x77, ...tgt }), undefined, digests)),
  );
  return { payload, stream: concat(parts) };
}

/** Places Data-In data into `dest` at its BufferOffset; everything else is left to the framer. */
const intoBuffer =
  (dest: Uint8Array): DataPlacer =>
  (f) =>
    f.pdu.opcode === 0x25 ? dest.subarray(f.pdu.bufferOffset, f.pdu.bufferOffset + f.pdu.dataSegmentLength) : undefined;

const DIGESTS: [string, DigestOptions][] = [
  ["no digests", { headerDigest: false, dataDigest: false }],
  ["header digest", { headerDigest: true, dataDigest: false }],
];

describe.each(DIGESTS)("placed Data-In, %s", (_, digests) => {
  const { payload, stream } = readStream(digests);
  const framer = (dest: Uint8Array) =>
    new PduFramer({ ...digests, maxRecvDataSegmentLength: 8192, accept: "target" }, intoBuffer(dest));

  test("split in two at every byte offset, the data lands in the destination and frames view it", () => {
    for (let i = 0; i <= stream.length; i++) {
      const dest = new Uint8Array(payload.length);
      const f = framer(dest);
      const frames = [...f.push(stream.subarray(0, i)), ...f.push(stream.subarray(i))];
      expect(frames.map((x) => x.pdu.opcode)).toEqual([0x25, 0x25, 0x20, 0x25, 0x25]);
      expect(dest).toEqual(payload);
      for (const fr of frames.filter((x) => x.pdu.opcode === 0x25)) expect(fr.data.buffer).toBe(dest.buffer);
    }
  });

  test("byte by byte", () => {
    const dest = new Uint8Array(payload.length);
    const f = framer(dest);
    const frames: Frame[] = [];
    for (let i = 0; i < stream.length; i++) frames.push(...f.push(stream.subarray(i, i + 1)));
    expect(frames.length).toBe(5);
    expect(dest).toEqual(payload);
  });
});

test("with a data digest the placer is not asked, and a corrupted byte never reaches the destination", () => {
  const digests = { headerDigest: false, dataDigest: true };
  const { payload, stream } = readStream(digests);
  let asked = 0;
  const dest = new Uint8Array(payload.length);
  const place: DataPlacer = (f) => (asked++, intoBuffer(dest)(f));
  const good = new PduFramer({ ...digests, maxRecvDataSegmentLength: 8192, accept: "target" }, place).push(stream);
  expect(concat(good.filter((x) => x.pdu.opcode === 0x25).map((x) => x.data))).toEqual(payload);
  expect(asked).toBe(0);
  // The last PDU's 64 data bytes and its digest are the stream's last 68 bytes.
  const bad = stream.slice();
  bad[stream.length - 30]! ^= 0x10;
  const f = new PduFramer({ ...digests, maxRecvDataSegmentLength: 8192, accept: "target" }, place);
  expect(() => f.push(bad)).toThrow(/data digest mismatch/);
  expect(dest.every((b) => b === 0)).toBe(true);
});

test("a placer returning a buffer of the wrong length is refused", () => {
  const none = { headerDigest: false, dataDigest: false };
  const { stream } = readStream(none);
  const f = new PduFramer({ ...none, maxRecvDataSegmentLength: 8192, accept: "target" }, () => new Uint8Array(3));
  expect(() => f.push(stream)).toThrow(RangeError);
});

test("without a placement the framer keeps the data as before", () => {
  const none = { headerDigest: false, dataDigest: false };
  const { payload, stream } = readStream(none);
  const f = new PduFramer({ ...none, maxRecvDataSegmentLength: 8192, accept: "target" }, () => undefined);
  const data = f
    .push(stream)
    .filter((x) => x.pdu.opcode === 0x25)
    .map((x) => x.data);
  expect(concat(data)).toEqual(payload);
});
