// The TypeScript end of ffi/iscsi_ring.h: wakes on the doorbell (a socketpair end read by Bun), pops request
// descriptors in batches into one reused buffer, decodes them at the header's offsets, views each request's
// C buffer without copying, and completes requests by id. Everything here runs on the JavaScript thread.
import { toArrayBuffer, type Pointer } from "bun:ffi";
import { IscsiError } from "../contract/errors.ts";
import type { RingLibrary } from "./native.ts";

export const RingOp = { Read: 1, Write: 2, Flush: 3, Trim: 4, Scsi: 5 } as const;
export const RingDir = { None: 0, Read: 1, Write: 2 } as const;
export const REQ_FUA = 0x1;
export const SENSE_BYTES = 252;

const REQ_SIZE = 64;
const NO_CDB = new Uint8Array(0);
const BATCH = 64;

export interface RingRequest {
  id: number;
  op: number;
  flags: number;
  offset: number;
  length: number;
  cdbLength: number;
  dir: number;
  lun: number;
  /** Address of the producer's buffer (0 when length is 0). */
  buffer: number;
  cdb: Uint8Array;
  /** Address of the producer's 252-byte sense buffer (SCSI), or 0. */
  sense: number;
}

export interface RingStats {
  submitted: number;
  completed: number;
  failedByShutdown: number;
  inFlight: number;
  depth: number;
}

/** The producer's bytes of a request, viewed in place; valid until the request is completed. */
export function viewOf(address: number, length: number): Uint8Array {
  if (length === 0) return new Uint8Array(0);
  if (address === 0) throw new IscsiError("INTERNAL", `ring request of ${length} bytes has no buffer`);
  return new Uint8Array(toArrayBuffer(address as Pointer, 0, length));
}

export class Ring {
  readonly ptr: Pointer;
  private readonly out = new Uint8Array(REQ_SIZE * BATCH);
  private readonly view = new DataView(this.out.buffer);
  private readonly statsBuf = new Uint8Array(32);
  private socket: { terminate(): void } | undefined;
  private destroyed = false;
  private shut = false;

  constructor(
    private readonly lib: RingLibrary,
    readonly depth: number,
  ) {
    const p = lib.symbols.iscsi_ring_create(depth);
    if (!p) throw new IscsiError("ATTACH_UNAVAILABLE", `cannot create a request ring of depth ${depth}`);
    this.ptr = p as Pointer;
  }

  get isShutdown(): boolean {
    return this.shut;
  }

  /** Calls `onRequest` for every request, from now on, as the doorbell rings. */
  async listen(onRequest: (req: RingRequest) => void): Promise<void> {
    const fd = this.lib.dup(this.lib.symbols.iscsi_ring_doorbell_fd(this.ptr));
    if (fd < 0) throw new IscsiError("ATTACH_UNAVAILABLE", "cannot duplicate the ring's doorbell descriptor");
    const drain = () => {
      for (;;) {
        const n = this.shut ? 0 : this.lib.symbols.iscsi_ring_pop(this.ptr, this.out, BATCH);
        for (let i = 0; i < n; i++) onRequest(this.decode(i));
        if (n < BATCH) return;
      }
    };
    // bun-types lacks `fd` on connect options; Bun reads an existing descriptor with it (docs/architecture.md, "Attaching a LUN").
    const options = { fd, socket: { data: drain, error: () => {} } };
    this.socket = await Bun.connect(options as unknown as Parameters<typeof Bun.connect>[0]);
    // Requests submitted before we listened found the ring armed and rang already; drain in case Bun read it early.
    drain();
  }

  private decode(i: number): RingRequest {
    const v = this.view;
    const o = i * REQ_SIZE;
    const op = v.getUint32(o + 8, true);
    return {
      id: v.getUint32(o, true) + v.getUint32(o + 4, true) * 2 ** 32,
      op,
      flags: v.getUint32(o + 12, true),
      offset: v.getUint32(o + 16, true) + v.getUint32(o + 20, true) * 2 ** 32,
      length: v.getUint32(o + 24, true),
      cdbLength: v.getUint8(o + 28),
      dir: v.getUint8(o + 29),
      lun: v.getUint16(o + 30, true),
      buffer: v.getUint32(o + 32, true) + v.getUint32(o + 36, true) * 2 ** 32,
      cdb: op === RingOp.Scsi ? this.out.slice(o + 40, o + 56) : NO_CDB,
      sense: v.getUint32(o + 56, true) + v.getUint32(o + 60, true) * 2 ** 32,
    };
  }

  /** 0 or -ENOENT (no such request in flight: completed already or failed by shutdown). */
  complete(id: number, status: number, senseLength = 0, residual = 0): number {
    if (this.destroyed) return -2;
    return this.lib.symbols.iscsi_ring_complete(this.ptr, id, status, senseLength, residual);
  }

  /** Fails every queued and in-flight request with -EIO; later submits fail at once. */
  shutdown(): void {
    this.shut = true;
    if (!this.destroyed) this.lib.symbols.iscsi_ring_shutdown(this.ptr);
  }

  /** Marks the ring shut down without telling C (a backend that shuts the ring down itself did). */
  markShutdown(): void {
    this.shut = true;
  }

  stats(): RingStats {
    if (this.destroyed) return { submitted: 0, completed: 0, failedByShutdown: 0, inFlight: 0, depth: this.depth };
    this.lib.symbols.iscsi_ring_get_stats(this.ptr, this.statsBuf);
    const v = new DataView(this.statsBuf.buffer);
    return {
      submitted: Number(v.getBigUint64(0, true)),
      completed: Number(v.getBigUint64(8, true)),
      failedByShutdown: Number(v.getBigUint64(16, true)),
      inFlight: v.getUint32(24, true),
      depth: v.getUint32(28, true),
    };
  }

  /** Frees the ring: only after shutdown and after every producer thread has returned. */
  destroy(): void {
    if (this.destroyed) return;
    this.shutdown();
    this.socket?.terminate();
    this.socket = undefined;
    this.destroyed = true;
    this.lib.symbols.iscsi_ring_destroy(this.ptr);
  }
}
