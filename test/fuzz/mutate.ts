// Mutations of target PDUs for the fuzzers (docs/reliability.md, sections A–F): fields set to edge values, flipped bits,
// lying lengths, swapped opcodes, dropped/duplicated/reordered PDUs, stray PDUs of every target type, junk.
import {
  encodeAsyncMessage,
  encodeLogoutResponse,
  encodeNopIn,
  encodeReject,
  encodeTaskMgmtResponse,
  encodeTextResponse,
  RESERVED_TAG,
} from "../../src/pdu/index.ts";
import type { Rng } from "./prng.ts";

/** One PDU before framing: the 48-byte BHS (DataSegmentLength may lie about `data`) and its data. */
export interface RawPdu {
  bhs: Uint8Array;
  data: Uint8Array;
}

export const TARGET_OPCODES = [0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x31, 0x32, 0x3f];

/** Word-aligned fields of a BHS (RFC 7143 §11.2.1) and the byte fields of bytes 1–4. */
const WORDS = [8, 12, 16, 20, 24, 28, 32, 36, 40, 44];
const BYTES = [1, 2, 3, 4, 36, 37];

const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, 48).getUint32(at);
const setU32 = (b: Uint8Array, at: number, v: number) =>
  new DataView(b.buffer, b.byteOffset, 48).setUint32(at, v >>> 0);
const dslOf = (b: Uint8Array) => (b[5]! << 16) | (b[6]! << 8) | b[7]!;
function setDsl(b: Uint8Array, n: number): void {
  b[5] = (n >>> 16) & 0xff;
  b[6] = (n >>> 8) & 0xff;
  b[7] = n & 0xff;
}

/** Change one PDU in place (on copies); returns a short name of what was done, for the episode log. */
export function mutatePdu(rng: Rng, p: RawPdu): string {
  p.bhs = p.bhs.slice();
  switch (rng.int(8)) {
    case 0: {
      const at = rng.int(48);
      p.bhs[at]! ^= 1 << rng.int(8);
      return `flip@${at}`;
    }
    case 1:
    case 2: {
      const at = rng.pick(WORDS);
      setU32(p.bhs, at, rng.interesting(u32(p.bhs, at)));
      return `word@${at}`;
    }
    case 3: {
      const at = rng.pick(BYTES);
      p.bhs[at] = rng.interesting(p.bhs[at]) & 0xff;
      return `byte@${at}`;
    }
    case 4: {
      setDsl(p.bhs, rng.interesting(dslOf(p.bhs)) & 0xffffff);
      return "dsl-lie";
    }
    case 5: {
      p.data = p.data.subarray(0, rng.int(p.data.length + 1));
      if (rng.chance(0.7)) setDsl(p.bhs, p.data.length);
      return "data-cut";
    }
    case 6: {
      p.bhs[0] = (p.bhs[0]! & 0xc0) | (rng.chance(0.8) ? rng.pick(TARGET_OPCODES) : rng.int(64));
      return "opcode";
    }
    default: {
      p.data = rng.bytes(rng.int(96));
      setDsl(p.bhs, p.data.length);
      return "data-junk";
    }
  }
}

/** Shuffle a response list: drop, duplicate or swap PDUs. */
export function mutateList(rng: Rng, list: RawPdu[]): string {
  if (list.length === 0) return "none";
  const i = rng.int(list.length);
  switch (rng.int(3)) {
    case 0:
      list.splice(i, 1);
      return "drop";
    case 1:
      list.splice(i, 0, { bhs: list[i]!.bhs.slice(), data: list[i]!.data });
      return "dup";
    default: {
      const j = rng.int(list.length);
      [list[i], list[j]] = [list[j]!, list[i]!];
      return "swap";
    }
  }
}

export interface Sequence {
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
}

/** A PDU a target might send at any moment, well formed or nearly: pings, events, rejects, stray answers. */
export function strayPdu(rng: Rng, seq: Sequence, itts: number[], headers: Uint8Array[]): RawPdu {
  const itt = () => (rng.chance(0.5) && itts.length > 0 ? rng.pick(itts) : rng.interesting());
  const data = (max: number) => rng.bytes(rng.int(max));
  switch (rng.int(7)) {
    case 0: {
      const d = data(64);
      return {
        bhs: encodeNopIn({
          lun: BigInt(rng.int(4)) << 48n,
          itt: RESERVED_TAG,
          ttt: rng.chance(0.8) ? rng.int(0xffff) : RESERVED_TAG,
          ...seq,
          dataSegmentLength: d.length,
        }),
        data: d,
      };
    }
    case 1:
      return { bhs: encodeNopIn({ lun: 0n, itt: itt(), ttt: RESERVED_TAG, ...seq }), data: new Uint8Array(0) };
    case 2: {
      const d = rng.chance(0.5) ? data(40) : new Uint8Array(0);
      const asyncEvent = rng.chance(0.8) ? rng.int(5) : rng.pick([5, 6, 255]);
      return {
        bhs: encodeAsyncMessage({
          lun: 0n,
          itt: RESERVED_TAG,
          ...seq,
          asyncEvent,
          asyncVCode: rng.int(256),
          parameter1: rng.int(65536),
          parameter2: rng.int(65536),
          parameter3: rng.pick([0, 1, 2, 65535]),
          dataSegmentLength: d.length,
        }),
        data: d,
      };
    }
    case 3: {
      const header = rng.chance(0.7) && headers.length > 0 ? rng.pick(headers).slice() : data(60);
      return {
        bhs: encodeReject({
          reason: rng.int(16),
          itt: RESERVED_TAG,
          ...seq,
          dataSNOrR2TSN: 0,
          dataSegmentLength: header.length,
        }),
        data: header,
      };
    }
    case 4:
      return {
        bhs: encodeTextResponse({
          final: rng.chance(0.5),
          continue: rng.chance(0.5),
          lun: 0n,
          itt: itt(),
          ttt: RESERVED_TAG,
          ...seq,
        }),
        data: new Uint8Array(0),
      };
    case 5:
      return {
        bhs: encodeLogoutResponse({
          response: rng.int(4),
          itt: itt(),
          ...seq,
          time2Wait: rng.int(65536),
          time2Retain: rng.int(65536),
        }),
        data: new Uint8Array(0),
      };
    default:
      return {
        bhs: encodeTaskMgmtResponse({ response: rng.pick([0, 1, 5, 255]), itt: itt(), ...seq }),
        data: new Uint8Array(0),
      };
  }
}

/** Flip `count` random bits of a framed byte stream (after digests were computed: what a bad wire does). */
export function corruptBytes(rng: Rng, bytes: Uint8Array, count: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < count && out.length > 0; i++) out[rng.int(out.length)]! ^= 1 << rng.int(8);
  return out;
}

/** Cut a byte stream at random offsets into pieces of 1..n bytes (more small ones near headers). */
export function split(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = rng.chance(0.3) ? rng.range(1, 60) : rng.range(1, Math.max(1, bytes.length - at));
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}
