// The send queue over a writer that takes only part of what it is offered: bytes leave in order and
// complete whatever the writer accepts, small pieces share one write, large ones are written in place,
// the staging buffer is reused, and a queue kept under pressure does not hold on to sent pieces.

import { describe, expect, test } from "bun:test";
import { SendQueue } from "../../src/transport/send-queue.ts";
import { concat } from "../support/bytes.ts";

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);
const tick = () => new Promise<void>((r) => queueMicrotask(r));

/** A writer that records copies of what it took, accepting at most `limit(call)` bytes per call. */
function writer(limit: (call: number) => number) {
  const taken: Uint8Array[] = [];
  const offered: Uint8Array[] = [];
  let calls = 0;
  const write = (data: Uint8Array) => {
    offered.push(data);
    const n = Math.min(data.length, limit(calls++));
    taken.push(data.slice(0, n));
    return n;
  };
  return { write, taken, offered, calls: () => calls };
}

describe("SendQueue", () => {
  test("a header and 8 KiB segments pushed in one tick leave in one write", async () => {
    const w = writer(() => Infinity);
    const q = new SendQueue(w.write);
    const pieces = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? bytes(48, i) : bytes(8192, i)));
    q.push(pieces);
    await tick();
    expect(w.calls()).toBe(1);
    expect(concat(w.taken)).toEqual(concat(pieces));
    expect(q.queuedBytes).toBe(0);
  });

  test("a large piece is written from the caller's buffer, not copied", async () => {
    const w = writer(() => Infinity);
    const q = new SendQueue(w.write);
    const big = bytes(1 << 20, 1);
    q.push([bytes(48, 0), big, bytes(48, 2)]);
    await tick();
    expect(w.offered.some((o) => o.buffer === big.buffer)).toBe(true);
    expect(concat(w.taken)).toEqual(concat([bytes(48, 0), big, bytes(48, 2)]));
  });

  test("partial writes at awkward sizes resume on flush (drain) with every byte in order", async () => {
    for (const step of [1, 7, 47, 4099, 65535]) {
      const w = writer(() => step);
      const q = new SendQueue(w.write);
      const pieces = [bytes(48, 1), bytes(8192, 2), bytes(3, 3), bytes(100_000, 4), bytes(48, 5), bytes(300_000, 6)];
      q.push(pieces);
      const drained = q.drained();
      await tick();
      while (q.queuedBytes > 0) q.flush();
      await drained;
      expect(concat(w.taken)).toEqual(concat(pieces));
    }
  });

  test("the staging buffer is reused from one write to the next", async () => {
    const w = writer(() => Infinity);
    const q = new SendQueue(w.write);
    q.push([bytes(48, 1), bytes(4096, 2)]);
    await tick();
    q.push([bytes(48, 3), bytes(4096, 4)]);
    await tick();
    expect(w.offered.length).toBe(2);
    expect(w.offered[0]!.buffer).toBe(w.offered[1]!.buffer);
    expect(concat(w.taken)).toEqual(concat([bytes(48, 1), bytes(4096, 2), bytes(48, 3), bytes(4096, 4)]));
  });

  test("under steady backpressure, sent pieces are let go", async () => {
    let open = true;
    const w = writer(() => (open ? 48 : 0));
    const q = new SendQueue(w.write);
    for (let i = 0; i < 5000; i++) {
      q.push([bytes(48, i)]);
      q.flush();
    }
    open = false;
    q.push([bytes(48, 9)]);
    q.flush();
    // Only the unsent tail (plus fewer than COMPACT_AFTER sent slots) is still referenced.
    expect((q as unknown as { pieces: Uint8Array[] }).pieces.length).toBeLessThan(1100);
    expect(concat(w.taken)).toEqual(concat(Array.from({ length: 5000 }, (_, i) => bytes(48, i))));
  });

  test("a closed writer kills the queue and releases waiters", async () => {
    const q = new SendQueue(() => -1);
    q.push([bytes(10, 1)]);
    const drained = q.drained();
    await tick();
    await drained;
    expect(q.queuedBytes).toBe(0);
  });
});
