// Shared pieces of the interop tests: opening a LUN on a real target and making test data.
import { Session } from "../../src/session/session.ts";
import { LogicalUnit } from "../../src/session/logical-unit.ts";
import type { LoginParams } from "../../src/login/login.ts";
import type { OperationalProposal } from "../../src/login/keys.ts";
import type { TransportKind } from "../../src/transport/connect.ts";

export const INITIATOR = "iqn.2026-11.dev.iscsi:interop-test";
export const enc = (s: string) => new TextEncoder().encode(s);

export function randomData(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(size, at + 65536)));
  return out;
}

export async function openSession(port: number, iqn: string, opts: { auth?: LoginParams["auth"]; proposal?: Partial<OperationalProposal>; queueDepth?: number; transport?: TransportKind } = {}): Promise<Session> {
  return Session.open({
    portal: { host: "127.0.0.1", port },
    login: { initiatorName: INITIATOR, targetName: iqn, sessionType: "Normal", auth: opts.auth ?? { method: "None" }, ...(opts.proposal ? { proposal: opts.proposal } : {}) },
    ...(opts.queueDepth ? { queueDepth: opts.queueDepth } : {}),
    ...(opts.transport ? { transport: opts.transport } : {}),
  });
}

export async function openLu(port: number, iqn: string, lun: number, opts: Parameters<typeof openSession>[2] = {}): Promise<LogicalUnit> {
  const session = await openSession(port, iqn, opts);
  const lu = new LogicalUnit(session, lun);
  await lu.testUnitReady();
  await lu.readCapacity();
  return lu;
}

/** Byte-for-byte comparison that reports the first difference instead of dumping megabytes. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
