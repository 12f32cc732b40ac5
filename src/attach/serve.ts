// Serves ring requests from a LUN (docs/architecture.md, "Attaching a LUN"): block reads and writes cut at the LUN's largest transfer,
// partial blocks by read-modify-write under a block-range lock, FLUSH as SYNCHRONIZE CACHE, TRIM as UNMAP
// where unmapped blocks read as zeroes, SCSI pass-through as is. Many requests run at once; each completes only
// when the target has answered, so a write is never reported done before GOOD, and a failure is never success.
import { constants } from "node:os";
import type { ConsolaInstance } from "consola";
import { ScsiStatusError, SenseKey } from "../scsi/index.ts";
import type { ScsiExecutor } from "../session/executor.ts";
import type { LogicalUnit } from "../session/logical-unit.ts";
import type { Direction } from "../session/task.ts";
import type { Geometry } from "./geometry.ts";
import { RangeLocks } from "./range-lock.ts";
import { REQ_FUA, RingDir, RingOp, SENSE_BYTES, viewOf, type Ring, type RingRequest } from "./ring.ts";

const E = constants.errno;

export interface AttachStats {
  reads: number;
  writes: number;
  flushes: number;
  trims: number;
  bytesRead: number;
  bytesWritten: number;
  errors: number;
}

interface Outcome {
  status: number;
  sense?: Uint8Array;
  residual?: number;
}

/** A failed command as the kernel should see it: write protection and full thin pools by name, the rest EIO. */
export function errnoOf(err: unknown): number {
  if (err instanceof ScsiStatusError && err.sense) {
    if (err.sense.senseKey === SenseKey.DataProtect) return -E.EROFS;
    // SPACE ALLOCATION FAILED WRITE PROTECT (27h/07h): a thin pool ran out.
    if (err.sense.asc === 0x27 && err.sense.ascq === 0x07) return -E.ENOSPC;
  }
  return -E.EIO;
}

async function settleAll(work: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

export class RequestServer {
  readonly stats: AttachStats = { reads: 0, writes: 0, flushes: 0, trims: 0, bytesRead: 0, bytesWritten: 0, errors: 0 };
  private readonly locks = new RangeLocks();
  private readonly bs: number;
  private inFlight = 0;
  private idle: Array<() => void> = [];
  private lastLogged = 0;

  constructor(
    private readonly ring: Ring,
    private readonly lu: LogicalUnit<ScsiExecutor>,
    private readonly geo: Geometry,
    private readonly opts: { readOnly: boolean; log: ConsolaInstance },
  ) {
    this.bs = geo.blockSize;
  }

  start(): Promise<void> {
    return this.ring.listen((req) => this.accept(req));
  }

  /** Writes that waited for another write to the same blocks. */
  get lockWaits(): number {
    return this.locks.waits;
  }

  /** Requests taken from the ring whose commands have not all settled (their buffers are still in use). */
  get busy(): number {
    return this.inFlight;
  }

  /** Resolves once every request taken so far has settled, including those a ring shutdown already failed. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private accept(req: RingRequest): void {
    this.inFlight++;
    this.serve(req).then(
      (outcome) => this.finish(req, outcome),
      (err) => this.finish(req, { status: errnoOf(err) }, err),
    );
  }

  private finish(req: RingRequest, outcome: Outcome, err?: unknown): void {
    // A refused TRIM is an answer (the LUN cannot deallocate), not a failure.
    const refusedTrim = req.op === RingOp.Trim && outcome.status === -E.EOPNOTSUPP;
    if (outcome.status < 0 && !refusedTrim) {
      this.stats.errors++;
      const now = Date.now();
      if (now - this.lastLogged > 1000) {
        this.lastLogged = now;
        this.opts.log.warn(`${opName(req.op)} of ${req.length} bytes at ${req.offset} failed (errno ${-outcome.status}): ${(err as Error)?.message ?? "refused"}`);
      }
    }
    // After shutdown the producer is gone: its sense buffer must not be written and its id is no longer valid.
    if (!this.ring.isShutdown) {
      let senseLength = 0;
      if (outcome.sense && req.sense !== 0) {
        senseLength = Math.min(outcome.sense.length, SENSE_BYTES);
        viewOf(req.sense, SENSE_BYTES).set(outcome.sense.subarray(0, senseLength));
      }
      this.ring.complete(req.id, outcome.status, senseLength, outcome.residual ?? 0);
    }
    if (--this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  private async serve(req: RingRequest): Promise<Outcome> {
    const end = req.offset + req.length;
    const blockOp = req.op !== RingOp.Scsi && req.op !== RingOp.Flush;
    if (blockOp && (!Number.isSafeInteger(end) || end > this.geo.sizeBytes)) return { status: -E.EINVAL };
    switch (req.op) {
      case RingOp.Read:
        await this.read(req.offset, viewOf(req.buffer, req.length));
        this.stats.reads++;
        this.stats.bytesRead += req.length;
        return { status: 0 };
      case RingOp.Write:
        if (this.opts.readOnly) return { status: -E.EROFS };
        await this.write(req.offset, viewOf(req.buffer, req.length), (req.flags & REQ_FUA) !== 0);
        this.stats.writes++;
        this.stats.bytesWritten += req.length;
        return { status: 0 };
      case RingOp.Flush:
        await this.lu.synchronizeCache();
        this.stats.flushes++;
        return { status: 0 };
      case RingOp.Trim:
        if (this.opts.readOnly) return { status: -E.EROFS };
        if (!this.geo.unmap) return { status: -E.EOPNOTSUPP };
        await this.trim(req.offset, req.length);
        this.stats.trims++;
        return { status: 0 };
      case RingOp.Scsi:
        return this.scsi(req);
      default:
        return { status: -E.EINVAL };
    }
  }

  /** Whole blocks straight into the producer's buffer; partial edges through a scratch buffer. */
  private async read(offset: number, dst: Uint8Array): Promise<void> {
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
  private async write(offset: number, src: Uint8Array, fua: boolean): Promise<void> {
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
  private async writeUnaligned(offset: number, src: Uint8Array, fua: boolean, first: number, last: number): Promise<void> {
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
  private async trim(offset: number, length: number): Promise<void> {
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

  private async scsi(req: RingRequest): Promise<Outcome> {
    const direction: Direction = req.dir === RingDir.Read ? "read" : req.dir === RingDir.Write ? "write" : "none";
    if (direction === "write" && this.opts.readOnly) return { status: -E.EROFS };
    const buffer = direction === "none" ? undefined : viewOf(req.buffer, req.length);
    const r = await this.lu.session.execute({
      lun: req.lun,
      cdb: req.cdb.subarray(0, req.cdbLength),
      direction,
      transferLength: direction === "none" ? 0 : req.length,
      ...(direction === "write" ? { data: buffer } : direction === "read" ? { buffer } : {}),
    });
    return { status: r.status, sense: r.sense, residual: r.residualUnderflow || r.residualOverflow };
  }
}

function opName(op: number): string {
  return ["?", "read", "write", "flush", "trim", "scsi"][op] ?? `op ${op}`;
}
