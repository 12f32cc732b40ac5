// Serves ring requests from a LUN (docs/architecture.md, "Attaching a LUN"): block reads, writes and TRIM through
// BlockIo (cut at the LUN's largest transfer, partial blocks by read-modify-write under a block-range lock), FLUSH
// as SYNCHRONIZE CACHE, SCSI pass-through as is. Many requests run at once; each completes only
// when the target has answered, so a write is never reported done before GOOD, and a failure is never success.
import { constants } from "node:os";
import type { ConsolaInstance } from "consola";
import { ScsiStatusError, SenseKey } from "../scsi/index.ts";
import type { ScsiExecutor } from "../session/executor.ts";
import type { LogicalUnit } from "../session/logical-unit.ts";
import type { Direction } from "../session/task.ts";
import type { Geometry } from "./geometry.ts";
import { BlockIo } from "./block-io.ts";
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

export class RequestServer {
  readonly stats: AttachStats = { reads: 0, writes: 0, flushes: 0, trims: 0, bytesRead: 0, bytesWritten: 0, errors: 0 };
  private readonly io: BlockIo;
  private inFlight = 0;
  private idle: Array<() => void> = [];
  private lastLogged = 0;

  constructor(
    private readonly ring: Ring,
    private readonly lu: LogicalUnit<ScsiExecutor>,
    private readonly geo: Geometry,
    private readonly opts: { readOnly: boolean; log: ConsolaInstance },
  ) {
    this.io = new BlockIo(lu, geo);
  }

  start(): Promise<void> {
    return this.ring.listen((req) => this.accept(req));
  }

  /** Writes that waited for another write to the same blocks. */
  get lockWaits(): number {
    return this.io.lockWaits;
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
        this.opts.log.warn(
          `${opName(req.op)} of ${req.length} bytes at ${req.offset} failed (errno ${-outcome.status}): ${(err as Error)?.message ?? "refused"}`,
        );
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
        await this.io.read(req.offset, viewOf(req.buffer, req.length));
        this.stats.reads++;
        this.stats.bytesRead += req.length;
        return { status: 0 };
      case RingOp.Write:
        if (this.opts.readOnly) return { status: -E.EROFS };
        await this.io.write(req.offset, viewOf(req.buffer, req.length), (req.flags & REQ_FUA) !== 0);
        this.stats.writes++;
        this.stats.bytesWritten += req.length;
        return { status: 0 };
      case RingOp.Flush:
        await this.io.synchronizeCache();
        this.stats.flushes++;
        return { status: 0 };
      case RingOp.Trim:
        if (this.opts.readOnly) return { status: -E.EROFS };
        if (!this.geo.unmap) return { status: -E.EOPNOTSUPP };
        await this.io.trim(req.offset, req.length);
        this.stats.trims++;
        return { status: 0 };
      case RingOp.Scsi:
        return this.scsi(req);
      default:
        return { status: -E.EINVAL };
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
