// Byte-addressed I/O on a LUN for the attach routes (FUSE ring and NFS): reads and writes cut at the LUN's largest
// transfer, partial blocks by read-modify-write under a block-range lock, TRIM as UNMAP with zeroed edges.
// Each call settles only when the target has answered every command it sent.
import type { ScsiExecutor } from "../session/executor.ts";
import type { LogicalUnit } from "../session/logical-unit.ts";
import type { Geometry } from "./geometry.ts";
import { RangeLocks } from "./range-lock.ts";

async function settleAll(work: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

export class BlockIo {
  private readonly locks = new RangeLocks();
  private readonly bs: number;

  constructor(
    private readonly lu: LogicalUnit<ScsiExecutor>,
    private readonly geo: Geometry,
  ) {
    this.bs = geo.blockSize;
  }

  /** How often a write waited for another write to the same blocks. */
  get lockWaits(): number {
    return this.locks.waits;
  }

  synchronizeCache(): Promise<void> {
    return this.lu.synchronizeCache();
  }

  /** Whole blocks straight into the producer's buffer; partial edges through a scratch buffer. */
  async read(offset: number, dst: Uint8Array): Promise<void> {
    const bs = this.bs;
    if (offset % bs === 0 && dst.length % bs === 0) return this.readBlocks(offset / bs, dst);
    const first = Math.floor(offset / bs);
    const last = Math.ceil((offset + dst.length) / bs);
    const scratch = new Uint8Array((last - first) * bs);
    await this.readBlocks(first, scratch);
    dst.set(scratch.subarray(offset - first * bs, offset - first * bs + dst.length));
  }

  private readBlocks(lba: number, dst: Uint8Array): Promise<void> {
    const work: Array<Promise<unknown>> = [];
    for (let at = 0; at < dst.length; at += this.geo.maxTransferBytes) {
      const n = Math.min(this.geo.maxTransferBytes, dst.length - at);
      work.push(this.lu.read(BigInt(lba + at / this.bs), n / this.bs, dst.subarray(at, at + n)));
    }
    return settleAll(work);
  }

  private writeBlocks(lba: number, src: Uint8Array, fua: boolean): Promise<void> {
    const work: Array<Promise<unknown>> = [];
    for (let at = 0; at < src.length; at += this.geo.maxTransferBytes) {
      const n = Math.min(this.geo.maxTransferBytes, src.length - at);
      work.push(this.lu.write(BigInt(lba + at / this.bs), src.subarray(at, at + n), { fua }));
    }
    return settleAll(work);
  }

  /** Every write holds its block range, so a read-modify-write never races another write to the same block. */
  async write(offset: number, src: Uint8Array, fua: boolean): Promise<void> {
    const bs = this.bs;
    const first = Math.floor(offset / bs);
    const last = Math.ceil((offset + src.length) / bs);
    const release = await this.locks.acquire(first, last);
    try {
      if (offset % bs === 0 && src.length % bs === 0) return await this.writeBlocks(first, src, fua);
      await this.writeUnaligned(offset, src, fua, first, last);
    } finally {
      release();
    }
  }

  /** The caller holds the lock on [first, last). Reads the partial edge blocks, overlays `src`, writes back. */
  private async writeUnaligned(
    offset: number,
    src: Uint8Array,
    fua: boolean,
    first: number,
    last: number,
  ): Promise<void> {
    const bs = this.bs;
    const merged = new Uint8Array((last - first) * bs);
    const edges: Array<Promise<unknown>> = [];
    if (offset % bs !== 0) edges.push(this.readBlocks(first, merged.subarray(0, bs)));
    if ((offset + src.length) % bs !== 0 && (last - 1 !== first || offset % bs === 0)) {
      edges.push(this.readBlocks(last - 1, merged.subarray(merged.length - bs)));
    }
    await settleAll(edges);
    merged.set(src, offset - first * bs);
    await this.writeBlocks(first, merged, fua);
  }

  /** UNMAP of the whole blocks inside the range; partial edge blocks get zeroes written (a punched hole reads zeroes). */
  async trim(offset: number, length: number): Promise<void> {
    const bs = this.bs;
    const limits = this.geo.unmap!;
    const headEnd = Math.min(offset + length, Math.ceil(offset / bs) * bs);
    const tailStart = Math.max(headEnd, Math.floor((offset + length) / bs) * bs);
    if (headEnd > offset) await this.write(offset, new Uint8Array(headEnd - offset), false);
    if (offset + length > tailStart) await this.write(tailStart, new Uint8Array(offset + length - tailStart), false);
    const firstBlock = headEnd / bs;
    const endBlock = tailStart / bs;
    if (endBlock <= firstBlock) return;
    const release = await this.locks.acquire(firstBlock, endBlock);
    try {
      let ranges: Array<{ lba: bigint; blocks: number }> = [];
      const work: Array<Promise<unknown>> = [];
      for (let lba = firstBlock; lba < endBlock; ) {
        const blocks = Math.min(limits.maxBlocks, endBlock - lba);
        ranges.push({ lba: BigInt(lba), blocks });
        lba += blocks;
        if (ranges.length === limits.maxDescriptors || lba >= endBlock) {
          work.push(this.lu.unmap(ranges));
          ranges = [];
        }
      }
      await settleAll(work);
    } finally {
      release();
    }
  }
}
