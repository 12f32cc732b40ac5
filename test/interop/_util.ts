// Shared pieces of the interop tests: opening a LUN on a real target and making test data.
import { expect } from "bun:test";
import { Session } from "../../src/session/session.ts";
import { LogicalUnit } from "../../src/session/logical-unit.ts";
import type { LoginParams } from "../../src/login/login.ts";
import type { OperationalProposal } from "../../src/login/keys.ts";
import type { TransportChoice } from "../../src/transport/connect.ts";
import { readRange, writeRange } from "../../src/session/transfer.ts";

export const INITIATOR = "iqn.2026-11.dev.iscsi:interop-test";
export const enc = (s: string) => new TextEncoder().encode(s);

export function randomData(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(size, at + 65536)));
  return out;
}

export async function openSession(
  port: number,
  iqn: string,
  opts: {
    auth?: LoginParams["auth"];
    proposal?: Partial<OperationalProposal>;
    queueDepth?: number;
    transport?: TransportChoice;
  } = {},
): Promise<Session> {
  return Session.open({
    portal: { host: "127.0.0.1", port },
    login: {
      initiatorName: INITIATOR,
      targetName: iqn,
      sessionType: "Normal",
      auth: opts.auth ?? { method: "None" },
      ...(opts.proposal ? { proposal: opts.proposal } : {}),
    },
    ...(opts.queueDepth ? { queueDepth: opts.queueDepth } : {}),
    ...(opts.transport ? { transport: opts.transport } : {}),
  });
}

export async function openLu(
  port: number,
  iqn: string,
  lun: number,
  opts: Parameters<typeof openSession>[2] = {},
): Promise<LogicalUnit<Session>> {
  const session = await openSession(port, iqn, opts);
  const lu = new LogicalUnit(session, lun);
  await lu.testUnitReady();
  await lu.open();
  return lu;
}

/** Byte-for-byte comparison that reports the first difference instead of dumping megabytes. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Writes `data` at QD16 in 4 KiB, 64 KiB and 1 MiB I/Os (8 + 24 + 32 MiB), reads it back the same way, and returns
 * the first differing offset of each part (all -1 when identical). Logs the session out in every case. */
export async function mixedRoundTrip(lu: LogicalUnit, data: Uint8Array): Promise<number[]> {
  const MiB = 1024 * 1024;
  const plan = [
    { offset: 0, length: 8 * MiB, ioSize: 4096 },
    { offset: 8 * MiB, length: 24 * MiB, ioSize: 64 * 1024 },
    { offset: 32 * MiB, length: 32 * MiB, ioSize: MiB },
  ];
  const differences: number[] = [];
  try {
    for (const p of plan)
      await writeRange(lu, { ...p, queueDepth: 16 }, (at, len) => data.subarray(p.offset + at, p.offset + at + len));
    for (const p of plan) {
      const back = new Uint8Array(p.length);
      await readRange(lu, { ...p, queueDepth: 16 }, (at, d) => back.set(d, at));
      differences.push(firstDifference(back, data.subarray(p.offset, p.offset + p.length)));
    }
  } finally {
    await lu.session.logout();
  }
  return differences;
}

/** Both digests (CRC32C) negotiated, and 8 MiB written and read back identical through them. */
export async function digestRoundTrip(lu: LogicalUnit<Session>): Promise<void> {
  expect(lu.session.negotiated.headerDigest).toBe(true);
  expect(lu.session.negotiated.dataDigest).toBe(true);
  const data = randomData(8 * 1024 * 1024);
  await writeRange(lu, { offset: 0, length: data.length, ioSize: 256 * 1024, queueDepth: 16 }, (at, len) =>
    data.subarray(at, at + len),
  );
  const back = new Uint8Array(data.length);
  await readRange(lu, { offset: 0, length: data.length, ioSize: 256 * 1024, queueDepth: 16 }, (at, d) =>
    back.set(d, at),
  );
  expect(firstDifference(back, data)).toBe(-1);
}

/** What every kill-under-load run must show: no error, writes verified before the kill and after the return, a reinstatement. */
export function expectSurvivedKill(lu: LogicalUnit, r: KillUnderLoad): void {
  expect(r.errors).toEqual([]);
  expect(r.before).toBeGreaterThan(0);
  expect(r.lastDone).toBeGreaterThan(r.back);
  expect(lu.session.stats.reinstatements).toBeGreaterThanOrEqual(1);
}

export interface KillUnderLoad {
  /** What the LUN must hold: every write that was acknowledged. */
  model: Uint8Array;
  errors: string[];
  /** Writes verified before the kill. */
  before: number;
  /** When tgtd was back, and when the last write-then-verify finished (performance.now()). */
  back: number;
  lastDone: number;
}

/**
 * Sixteen write-then-verify workers over the first `size` bytes of `lu` in `chunk`-byte pieces; after 500 ms
 * tgtd is killed with SIGKILL, restarted `downMs` later, and the workers run until one finishes after the
 * restart (at most 15 s) plus 300 ms. The caller asserts on what came back.
 */
export async function writeThroughKill(
  lu: LogicalUnit,
  target: { kill9(): Promise<void>; restart(): Promise<void> },
  opts: { size: number; chunk: number; downMs: number },
): Promise<KillUnderLoad> {
  const bs = lu.capacity!.blockSize;
  const chunks = opts.size / opts.chunk;
  const model = new Uint8Array(opts.size);
  const errors: string[] = [];
  let verified = 0;
  let lastDone = 0;
  let stop = false;
  let next = 0;
  const worker = async () => {
    while (!stop) {
      const i = next++ % chunks;
      const data = randomData(opts.chunk);
      try {
        await lu.write(BigInt((i * opts.chunk) / bs), data);
        model.set(data, i * opts.chunk);
        if (firstDifference(await lu.read(BigInt((i * opts.chunk) / bs), opts.chunk / bs), data) !== -1)
          errors.push(`chunk ${i} read back different`);
        verified++;
        lastDone = performance.now();
      } catch (err) {
        errors.push((err as Error).message);
        return;
      }
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  await Bun.sleep(500);
  const before = verified;
  await target.kill9();
  await Bun.sleep(opts.downMs);
  await target.restart();
  const back = performance.now();
  while (lastDone < back && performance.now() < back + 15_000) await Bun.sleep(50);
  await Bun.sleep(300);
  stop = true;
  await Promise.all(workers);
  return { model, errors, before, back, lastDone };
}
