// Moving a byte range between a LUN and the caller with many commands in flight: the range is cut into
// I/Os of `ioSize` bytes, at most `queueDepth` outstanding, each completed in any order.
import { IscsiError } from "../contract/errors.ts";
import type { LogicalUnit } from "./logical-unit.ts";

export interface TransferOptions {
  offset: number;
  length: number;
  ioSize: number;
  queueDepth: number;
  progress?: (doneBytes: number) => void;
}

function plan(lu: LogicalUnit, o: TransferOptions): number {
  const cap = lu.capacity;
  if (!cap) throw new IscsiError("INTERNAL", "readCapacity() must run before a transfer");
  const bs = cap.blockSize;
  for (const [name, v] of [
    ["offset", o.offset],
    ["length", o.length],
    ["I/O size", o.ioSize],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || v % bs !== 0)
      throw new IscsiError("INVALID_ARGUMENT", `${name} ${v} must be a multiple of the block size ${bs}`);
  }
  if (o.ioSize === 0) throw new IscsiError("INVALID_ARGUMENT", "I/O size must be at least one block");
  if (BigInt(o.offset + o.length) > cap.bytes)
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `range ${o.offset}+${o.length} is beyond the end of the LUN (${cap.bytes} bytes)`,
    );
  if (!Number.isInteger(o.queueDepth) || o.queueDepth < 1)
    throw new IscsiError("INVALID_ARGUMENT", "queue depth must be at least 1");
  return bs;
}

async function pipeline(o: TransferOptions, one: (at: number, len: number) => Promise<void>): Promise<void> {
  let next = 0;
  let done = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < o.length) {
      const at = next;
      const len = Math.min(o.ioSize, o.length - at);
      next += len;
      try {
        await one(at, len);
      } catch (err) {
        failure ??= err;
        return;
      }
      done += len;
      o.progress?.(done);
    }
  };
  await Promise.all(Array.from({ length: o.queueDepth }, worker));
  if (failure !== undefined) throw failure;
}

/** Read `length` bytes at `offset`; `sink` gets each piece (relative offset, bytes) as it completes. */
export async function readRange(
  lu: LogicalUnit,
  o: TransferOptions,
  sink: (at: number, data: Uint8Array) => void | Promise<void>,
): Promise<void> {
  const bs = plan(lu, o);
  await pipeline(o, async (at, len) => {
    const data = await lu.read(BigInt((o.offset + at) / bs), len / bs);
    await sink(at, data);
  });
}

/** Write `length` bytes at `offset`; `source` supplies each piece; ends with SYNCHRONIZE CACHE unless told not to. */
export async function writeRange(
  lu: LogicalUnit,
  o: TransferOptions & { sync?: boolean },
  source: (at: number, len: number) => Uint8Array,
): Promise<void> {
  const bs = plan(lu, o);
  await pipeline(o, async (at, len) => {
    await lu.write(BigInt((o.offset + at) / bs), source(at, len));
  });
  if (o.sync ?? true) await lu.synchronizeCache();
}
