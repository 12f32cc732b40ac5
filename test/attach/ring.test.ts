// The ring of ffi/iscsi_ring.h through its TypeScript binding, driven by a C test producer compiled here with
// ffi/ring.c: many threads with requests in flight at once, completion by id in any order, -ENOENT for ids that
// are not in flight, and shutdown failing every waiting producer with EIO (and every later submit at once).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dlopen } from "bun:ffi";
import { dupFd, RING_SYMBOLS } from "../../src/attach/native.ts";
import { Ring, RingOp, viewOf, type RingRequest } from "../../src/attach/ring.ts";

const ROOT = join(import.meta.dir, "../..");
const ENOENT = 2;
const EIO = 5;

let dir: string;
let lib: ReturnType<typeof load>;

function load(path: string) {
  return dlopen(path, {
    ...RING_SYMBOLS,
    iscsi_ring_submit_wait: { args: ["ptr", "ptr", "ptr", "ptr"], returns: "i32" },
    producer_start: { args: ["ptr", "u32", "u32"], returns: "i32" },
    producer_finished: { args: [], returns: "u32" },
    producer_join: { args: ["ptr"], returns: "void" },
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "iscsi-ring-test-"));
  const so = join(dir, "libringtest.so");
  const cc = Bun.spawnSync([
    "gcc",
    "-std=c11",
    "-D_POSIX_C_SOURCE=200809L",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-shared",
    "-fPIC",
    "-pthread",
    `-I${ROOT}/ffi`,
    `${ROOT}/ffi/ring.c`,
    `${import.meta.dir}/ring_producer.c`,
    "-o",
    so,
  ]);
  if (cc.exitCode !== 0) throw new Error(`gcc failed: ${cc.stderr.toString()}`);
  lib = load(so);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const newRing = (depth: number) => new Ring({ symbols: lib.symbols, dup: dupFd }, depth);

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(2);
  }
}

function join3(): { ok: number; bad: number; eio: number } {
  const out = new Uint32Array(3);
  lib.symbols.producer_join(out);
  return { ok: out[0]!, bad: out[1]!, eio: out[2]! };
}

test("32 threads × 500 requests through a ring of depth 8: each completed by id, out of order, with its own status and bytes", async () => {
  const ring = newRing(8);
  const seen = new Set<number>();
  let maxHeld = 0;
  const held: RingRequest[] = [];
  // Complete in batches, newest first, so completions never follow submission order.
  const flush = () => {
    for (const req of held.splice(0).reverse()) {
      expect(req.op).toBe(RingOp.Read);
      const view = new DataView(viewOf(req.buffer, req.length).buffer);
      view.setBigUint64(0, BigInt(req.offset), true);
      expect(ring.complete(req.id, -(req.offset % 5), 0, req.offset % 3)).toBe(0);
      // A second completion of the same id finds nothing in flight.
      expect(ring.complete(req.id, 0)).toBe(-ENOENT);
    }
  };
  await ring.listen((req) => {
    expect(seen.has(req.id)).toBe(false);
    seen.add(req.id);
    held.push(req);
    maxHeld = Math.max(maxHeld, held.length);
    if (held.length === 8) flush();
    else setTimeout(flush, 0);
  });
  expect(lib.symbols.producer_start(ring.ptr, 32, 500)).toBe(0);
  await until(() => lib.symbols.producer_finished() === 32);
  expect(join3()).toEqual({ ok: 16_000, bad: 0, eio: 0 });
  expect(seen.size).toBe(16_000);
  expect(maxHeld).toBe(8); // the ring's depth was reached: producers waited for free slots
  const stats = ring.stats();
  expect(stats).toEqual({ submitted: 16_000, completed: 16_000, failedByShutdown: 0, inFlight: 0, depth: 8 });
  ring.destroy();
});

test("ids that were never handed out are refused with -ENOENT", async () => {
  const ring = newRing(4);
  expect(ring.complete(0, 0)).toBe(-ENOENT);
  expect(ring.complete(3, 0)).toBe(-ENOENT);
  expect(ring.complete(2 ** 40 + 1, 0)).toBe(-ENOENT);
  const got: RingRequest[] = [];
  await ring.listen((req) => got.push(req));
  expect(lib.symbols.producer_start(ring.ptr, 1, 1)).toBe(0);
  await until(() => got.length === 1);
  const id = got[0]!.id;
  // The same slot with another sequence number, and a slot index beyond the depth.
  expect(ring.complete(id + 1024, 0)).toBe(-ENOENT);
  expect(ring.complete((id & ~1023) | 7, 0)).toBe(-ENOENT);
  expect(ring.stats().inFlight).toBe(1);
  new DataView(viewOf(got[0]!.buffer, 64).buffer).setBigUint64(0, BigInt(got[0]!.offset), true);
  expect(ring.complete(id, 0)).toBe(0);
  await until(() => lib.symbols.producer_finished() === 1);
  expect(join3()).toEqual({ ok: 1, bad: 0, eio: 0 });
  ring.destroy();
});

test("shutdown fails every waiting producer with EIO, queued or popped, and later submits at once", async () => {
  const ring = newRing(16);
  const popped: RingRequest[] = [];
  await ring.listen((req) => popped.push(req));
  // 24 threads on 16 slots: 16 requests in flight (popped, never completed), 8 threads waiting for a slot.
  expect(lib.symbols.producer_start(ring.ptr, 24, 1)).toBe(0);
  await until(() => popped.length === 16 && ring.stats().inFlight === 16);
  expect(lib.symbols.producer_finished()).toBe(0);
  ring.shutdown();
  await until(() => lib.symbols.producer_finished() === 24);
  expect(join3()).toEqual({ ok: 0, bad: 0, eio: 24 });
  expect(ring.stats()).toMatchObject({ failedByShutdown: 16, completed: 0, inFlight: 0 });
  // A completion after shutdown finds nothing; a new submit fails without waiting.
  expect(ring.complete(popped[0]!.id, 0)).toBe(-ENOENT);
  expect(lib.symbols.producer_start(ring.ptr, 4, 3)).toBe(0);
  await until(() => lib.symbols.producer_finished() === 4, 5_000);
  expect(join3()).toEqual({ ok: 0, bad: 0, eio: 12 });
  ring.destroy();
});

test("the doorbell wakes the consumer again after it went idle", async () => {
  const ring = newRing(2);
  let count = 0;
  await ring.listen((req) => {
    count++;
    new DataView(viewOf(req.buffer, req.length).buffer).setBigUint64(0, BigInt(req.offset), true);
    ring.complete(req.id, -(req.offset % 5), 0, req.offset % 3);
  });
  for (let round = 1; round <= 5; round++) {
    expect(lib.symbols.producer_start(ring.ptr, 1, 3)).toBe(0);
    await until(() => lib.symbols.producer_finished() === 1, 5_000);
    expect(join3()).toEqual({ ok: 3, bad: 0, eio: 0 });
    expect(count).toBe(3 * round);
    await Bun.sleep(20); // idle: the ring is armed again
  }
  ring.destroy();
});

test("depth outside 1..1024 is refused", () => {
  expect(() => newRing(0)).toThrow(/depth 0/);
  expect(() => newRing(1025)).toThrow(/depth 1025/);
});
