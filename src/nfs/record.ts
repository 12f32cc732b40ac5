// ONC RPC record marking over TCP (RFC 5531 §11): each record is one or more fragments, each behind a 4-byte
// header whose top bit marks the last fragment and whose low 31 bits give its length. Lengths are checked
// against the limit before any byte of the record is stored.

import { XdrError } from "./xdr.ts";

const LAST_FRAGMENT = 0x8000_0000;

/** One record as a single fragment: the mark, then the bytes (`body` must leave 4 bytes free at its start). */
export function markRecord(withRoom: Uint8Array): Uint8Array {
  const n = withRoom.length - 4;
  new DataView(withRoom.buffer, withRoom.byteOffset, 4).setUint32(0, (LAST_FRAGMENT | n) >>> 0);
  return withRoom;
}

/** Splits a byte stream into records; throws XdrError (and must then be dropped) on an oversized one. */
export class RecordReader {
  private header = new Uint8Array(4);
  private headerHave = 0;
  private fragment: Uint8Array | undefined;
  private fragmentHave = 0;
  private last = false;
  private parts: Uint8Array[] = [];
  private partsLength = 0;

  /** `maxRecord`: the largest record accepted, all fragments together; `alloc` gives record buffers. */
  constructor(
    private readonly maxRecord: number,
    private readonly alloc: (n: number) => Uint8Array = (n) => new Uint8Array(n),
  ) {}

  /** Feeds bytes; returns every record they complete, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (!this.fragment) {
        const take = Math.min(4 - this.headerHave, chunk.length - at);
        this.header.set(chunk.subarray(at, at + take), this.headerHave);
        this.headerHave += take;
        at += take;
        if (this.headerHave < 4) break;
        this.startFragment();
        if (this.fragment!.length === 0) this.endFragment(out);
        continue;
      }
      const take = Math.min(this.fragment.length - this.fragmentHave, chunk.length - at);
      this.fragment.set(chunk.subarray(at, at + take), this.fragmentHave);
      this.fragmentHave += take;
      at += take;
      if (this.fragmentHave === this.fragment.length) this.endFragment(out);
    }
    return out;
  }

  private startFragment(): void {
    const mark = new DataView(this.header.buffer).getUint32(0);
    this.headerHave = 0;
    this.last = (mark & LAST_FRAGMENT) !== 0;
    const length = mark & ~LAST_FRAGMENT;
    if (this.partsLength + length > this.maxRecord) {
      throw new XdrError(
        `RPC record of at least ${this.partsLength + length} bytes exceeds the limit of ${this.maxRecord}`,
      );
    }
    this.fragment = this.alloc(length);
    this.fragmentHave = 0;
  }

  private endFragment(out: Uint8Array[]): void {
    const fragment = this.fragment!;
    this.fragment = undefined;
    if (!this.last) {
      this.parts.push(fragment);
      this.partsLength += fragment.length;
      return;
    }
    if (this.parts.length === 0) {
      out.push(fragment);
      return;
    }
    const record = this.alloc(this.partsLength + fragment.length);
    let at = 0;
    for (const p of [...this.parts, fragment]) {
      record.set(p, at);
      at += p.length;
    }
    this.parts = [];
    this.partsLength = 0;
    out.push(record);
  }
}
