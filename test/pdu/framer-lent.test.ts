// The framer with a producer that reuses its receive buffer (lent chunks) and reads placed data segments
// straight into their destination (placement()/placed()), as the native transport does.

import { describe, expect, test } from "bun:test";
import {
  encodeDataIn,
  encodeNopIn,
  encodeScsiResponse,
  framePdu,
  PduFramer,
  type DataPlacer,
  type DigestOptions,
  type Frame,
} from "../../src/pdu/index.ts";
import { concat } from "../support/bytes.ts";

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 29 + seed) & 0xff);
const tgt = { statSN: 1, expCmdSN: 2, maxCmdSN: 3 };
const dataIn = (length: number, dataSN: number, bufferOffset: number) =>
  encodeDataIn({
    dataSegmentLength: length,
    final: false,
    acknowledge: false,
    residualOverflow: false,
    residualUnderflow: false,
    statusPresent: false,
    status: 0,
    lun: 0n,
    itt: 5,
    ttt: 0xffffffff,
    ...tgt,
    dataSN,
    bufferOffset,
    residualCount: 0,
  });

/**
 * Two Data-In PDUs (3 + 40 bytes, the first padded), a NOP-In carrying ping data and a SCSI Response with
 * sense data: the last two keep their data in the framer, so with lent chunks they must be copies.
 */
function stream(digests: DigestOptions) {
  const payload = bytes(43, 1);
  const ping = bytes(6, 2);
  const sense = bytes(18, 3);
  const response = encodeScsiResponse({
    dataSegmentLength: sense.length,
    bidiReadResidualOverflow: false,
    bidiReadResidualUnderflow: false,
    residualOverflow: false,
    residualUnderflow: false,
    response: 0,
    status: 2,
    itt: 5,
    snackTag: 0,
    ...tgt,
    expDataSN: 2,
    bidirectionalReadResidualCount: 0,
    residualCount: 0,
  });
  const wire = concat([
    ...framePdu(dataIn(3, 0, 0), payload.subarray(0, 3), digests),
    ...framePdu(
      encodeNopIn({ dataSegmentLength: ping.length, lun: 0n, itt: 0xffffffff, ttt: 0x77, ...tgt }),
      ping,
      digests,
    ),
    ...framePdu(dataIn(40, 1, 3), payload.subarray(3), digests),
    ...framePdu(response, sense, digests),
  ]);
  return { payload, ping, sense, wire };
}

const intoBuffer =
  (dest: Uint8Array): DataPlacer =>
  (f) =>
    f.pdu.opcode === 0x25 ? dest.subarray(f.pdu.bufferOffset, f.pdu.bufferOffset + f.pdu.dataSegmentLength) : undefined;

/** What a frame holds, copied now: compared later to find frames that aliased reused memory. */
const snapshot = (f: Frame) => ({ opcode: f.pdu.opcode, bhs: Array.from(f.bhs), data: Array.from(f.data) });

const DIGESTS: [string, DigestOptions][] = [
  ["no digests", { headerDigest: false, dataDigest: false }],
  ["header digest", { headerDigest: true, dataDigest: false }],
  ["both digests", { headerDigest: true, dataDigest: true }],
];

describe.each(DIGESTS)("lent chunks, %s", (_, digests) => {
  const { payload, ping, sense, wire } = stream(digests);
  // With a data digest nothing is placed: the Data-In frames carry (copied) data instead.
  const received = (dest: Uint8Array, frames: Frame[]) =>
    digests.dataDigest ? concat(frames.filter((x) => x.pdu.opcode === 0x25).map((x) => x.data)) : dest;
  const make = (dest: Uint8Array) =>
    new PduFramer({ ...digests, maxRecvDataSegmentLength: 8192, accept: "target" }, intoBuffer(dest));

  test("split in three at every pair of offsets through one reused buffer: frames never change after reuse", () => {
    for (let i = 0; i <= wire.length; i += 3) {
      for (let j = i; j <= wire.length; j += 5) {
        const dest = new Uint8Array(payload.length);
        const f = make(dest);
        const reused = new Uint8Array(wire.length);
        const frames: Frame[] = [];
        const snaps: ReturnType<typeof snapshot>[] = [];
        for (const [from, to] of [
          [0, i],
          [i, j],
          [j, wire.length],
        ] as const) {
          reused.set(wire.subarray(from, to));
          f.feed(reused.subarray(0, to - from), true);
          for (let fr = f.next(); fr; fr = f.next()) {
            frames.push(fr);
            snaps.push(snapshot(fr));
          }
          f.releaseLent();
          reused.fill(0xee);
        }
        expect(frames.map((x) => x.pdu.opcode)).toEqual([0x25, 0x20, 0x25, 0x21]);
        expect(frames.map(snapshot)).toEqual(snaps);
        expect(frames[1]!.data).toEqual(ping);
        expect(frames[3]!.data).toEqual(sense);
        expect(received(dest, frames)).toEqual(payload);
      }
    }
  });

  test("a consumer that stops after one frame: the unread rest survives the reuse", () => {
    const dest = new Uint8Array(payload.length);
    const f = make(dest);
    const reused = wire.slice();
    f.feed(reused, true);
    const first = f.next()!;
    f.releaseLent();
    reused.fill(0xee);
    const rest: Frame[] = [];
    for (let fr = f.next(); fr; fr = f.next()) rest.push(fr);
    expect([first, ...rest].map((x) => x.pdu.opcode)).toEqual([0x25, 0x20, 0x25, 0x21]);
    expect(rest[0]!.data).toEqual(ping);
    expect(rest[2]!.data).toEqual(sense);
    expect(received(dest, [first, ...rest])).toEqual(payload);
  });
});

test("a second lent chunk before the first was released is refused", () => {
  const f = new PduFramer({ headerDigest: false, dataDigest: false, maxRecvDataSegmentLength: 8192, accept: "target" });
  f.feed(new Uint8Array(10), true);
  expect(() => f.feed(new Uint8Array(10), true)).toThrow(RangeError);
});

describe("placement(): reading straight into the destination", () => {
  const none = { headerDigest: false, dataDigest: false };

  test("a producer that reads placed bytes itself (in pieces of every size) gets the same frames and data", () => {
    const { payload, ping, sense, wire } = stream(none);
    for (let piece = 1; piece <= 50; piece++) {
      const dest = new Uint8Array(payload.length);
      const f = new PduFramer({ ...none, maxRecvDataSegmentLength: 8192, accept: "target" }, intoBuffer(dest));
      const reused = new Uint8Array(piece);
      const frames: Frame[] = [];
      let placedBytes = 0;
      for (let at = 0; at < wire.length; ) {
        const p = f.placement();
        if (p) {
          expect(p.segmentLength === 3 || p.segmentLength === 40).toBe(true);
          const n = Math.min(piece, p.rest.length);
          p.rest.set(wire.subarray(at, at + n));
          f.placed(n);
          placedBytes += n;
          at += n;
        } else {
          const n = Math.min(piece, wire.length - at);
          reused.set(wire.subarray(at, at + n));
          f.feed(reused.subarray(0, n), true);
          at += n;
        }
        for (let fr = f.next(); fr; fr = f.next()) frames.push(fr);
        f.releaseLent();
        reused.fill(0xee);
      }
      expect(frames.map((x) => x.pdu.opcode)).toEqual([0x25, 0x20, 0x25, 0x21]);
      expect(dest).toEqual(payload);
      expect(frames[1]!.data).toEqual(ping);
      expect(frames[3]!.data).toEqual(sense);
      // The 40-byte segment always starts at a chunk boundary or inside one, so most of it is placed directly.
      if (piece <= 48) expect(placedBytes).toBeGreaterThan(0);
    }
  });

  test("nothing is offered while queued bytes wait, or with a data digest", () => {
    const { wire } = stream(none);
    const dest = new Uint8Array(43);
    const f = new PduFramer({ ...none, maxRecvDataSegmentLength: 8192, accept: "target" }, intoBuffer(dest));
    f.feed(wire.subarray(0, 49)); // the first header and one data byte
    expect(f.placement()).toBeUndefined(); // header read, but its byte is still queued
    expect(f.next()).toBeUndefined();
    expect(f.placement()!.rest.length).toBe(2);
    const digested = new PduFramer(
      { headerDigest: false, dataDigest: true, maxRecvDataSegmentLength: 8192, accept: "target" },
      intoBuffer(dest),
    );
    digested.feed(stream({ headerDigest: false, dataDigest: true }).wire.subarray(0, 48));
    expect(digested.next()).toBeUndefined();
    expect(digested.placement()).toBeUndefined();
  });

  test("placed() with a count outside 1..rest, or with nothing to place, is refused", () => {
    const { wire } = stream(none);
    const f = new PduFramer(
      { ...none, maxRecvDataSegmentLength: 8192, accept: "target" },
      intoBuffer(new Uint8Array(43)),
    );
    expect(() => f.placed(1)).toThrow(RangeError);
    f.feed(wire.subarray(0, 48));
    expect(f.next()).toBeUndefined();
    for (const bad of [0, -1, 1.5, 4, Number.NaN])
      expect(() => new PduFramer({ ...none, maxRecvDataSegmentLength: 8192, accept: "target" }).placed(bad)).toThrow(
        RangeError,
      );
    expect(() => f.placed(4)).toThrow(RangeError);
    expect(() => f.placed(0)).toThrow(RangeError);
    f.placed(3);
    expect(f.placement()).toBeUndefined(); // only the padding is left: it comes through feed
  });
});
