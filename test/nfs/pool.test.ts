// The record and reply buffer pool: buffers come back for reuse, larger requests and foreign buffers are not kept,
// and no more than the limit is held.
import { expect, test } from "bun:test";
import { BufferPool } from "../../src/nfs/pool.ts";

test("a buffer given back is the next one taken; oversized and foreign buffers are not pooled; at most `max` kept", () => {
  const pool = new BufferPool(1024, 2);
  const a = pool.take(100);
  expect([a.length, a.buffer.byteLength]).toEqual([100, 1024]);
  pool.give(a);
  const b = pool.take(1024);
  expect(b.buffer).toBe(a.buffer);
  const big = pool.take(2048);
  expect(big.buffer.byteLength).toBe(2048);
  pool.give(big);
  pool.give(new Uint8Array(10));
  expect(pool.pooled).toBe(0);
  for (const x of [b, pool.take(1), pool.take(1)]) pool.give(x);
  expect(pool.pooled).toBe(2);
});
