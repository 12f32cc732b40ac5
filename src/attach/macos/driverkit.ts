// The DriverKit virtual HBA seen from TypeScript: opens the dext's user client through the attach library
// (its darwin build carries ffi/macos/iokit_client.c, see ffi/macos/sources.sh) and serves HBA targets from
// request rings, which src/attach's RequestServer answers like any other ring (ISCSI_OP_SCSI pass-through).
// Only the ring doorbell reaches JavaScript; IOKit notifications stay on a C dispatch queue. The macOS half
// has never run on a Mac; HbaConnection is exercised on Linux over ffi/harness/dext_sim.c. PARKED: no command
// reaches this path until Apple lifts its software-HBA limits (docs/macos.md, "Why the DriverKit path is parked").
import { dlopen, type Pointer } from "bun:ffi";
import { IscsiError } from "../../contract/errors.ts";
import { attachLibrary } from "../native.ts";
import type { Ring } from "../ring.ts";

/** IOUserClass of driver/'s controller (ISCSI_DK_SERVICE_NAME in ffi/macos/iokit_client.h). */
export const DRIVERKIT_SERVICE = "IscsiHBA";
/** HBA target IDs 0..15 (ISCSI_HBA_MAX_TARGETS). */
export const HBA_MAX_TARGETS = 16;
const STATS_BYTES = 64;
const ERROR_BYTES = 512;

/** The C calls behind one open HBA connection: iscsi_dk_* on a Mac, dext_sim_* in the Linux harness. */
export interface HbaPort {
  setTarget(targetId: number, ring: Pointer, lun: number): number;
  retireTarget(targetId: number): number;
  removeTarget(targetId: number): number;
  stats(out: Uint8Array): void;
  lastError(out: Uint8Array): number;
  close(): void;
}

/** struct iscsi_hba_bridge_stats. */
export interface HbaStats {
  notifications: number;
  badNotifications: number;
  claimed: number;
  submitted: number;
  answeredLocally: number;
  refused: number;
  transportFailures: number;
  doneCalls: number;
}

const STAT_NAMES = [
  "notifications",
  "badNotifications",
  "claimed",
  "submitted",
  "answeredLocally",
  "refused",
  "transportFailures",
  "doneCalls",
] as const;

interface Served {
  ring: Ring;
  /** Resolves once the ring's consumer has settled every request it took (RequestServer.whenIdle). */
  settled: () => Promise<void>;
}

/**
 * One daemon-side connection to the HBA. Removing a target takes three steps, in this order: retire it in the
 * bridge, shut its ring down, wait until the ring's consumer has settled. The C bridge's workers block in the
 * ring until JavaScript completes their requests, so the ring is shut down before anything waits for them (the
 * JavaScript thread is never waited on by itself); and a shut-down ring fails a request while the consumer
 * may still be writing its buffer, so the bridge keeps those slots (the dext cannot reuse their windows) until
 * the consumer has settled and the target is removed.
 */
export class HbaConnection {
  private readonly served = new Map<number, Served>();
  private closed = false;

  constructor(private readonly port: HbaPort) {}

  /** HBA target `targetId` now carries LUN `lun` of the session behind `ring`, whose consumer's settled() is given. */
  serve(targetId: number, ring: Ring, lun: number, settled: () => Promise<void>): void {
    this.open();
    if (!Number.isInteger(targetId) || targetId < 0 || targetId >= HBA_MAX_TARGETS) {
      throw new IscsiError("INVALID_ARGUMENT", `HBA target ID ${targetId} is outside 0..${HBA_MAX_TARGETS - 1}`);
    }
    if (!Number.isInteger(lun) || lun < 0 || lun > 0xffff)
      throw new IscsiError("INVALID_ARGUMENT", `LUN ${lun} does not fit the ring's 16-bit LUN field`);
    if (this.served.has(targetId)) throw new IscsiError("BUSY", `HBA target ${targetId} is already served`);
    const rc = this.port.setTarget(targetId, ring.ptr, lun);
    if (rc !== 0) throw new IscsiError("ATTACH_UNAVAILABLE", `the HBA refused target ${targetId} (errno ${-rc})`);
    this.served.set(targetId, { ring, settled });
  }

  /** Stops serving `targetId`: its queued and in-flight tasks fail (never succeed), then the target goes away. */
  async unserve(targetId: number): Promise<void> {
    const served = this.served.get(targetId);
    if (!served) throw new IscsiError("NOT_FOUND", `HBA target ${targetId} is not served`);
    this.served.delete(targetId);
    await this.retire([[targetId, served]]);
    this.port.removeTarget(targetId);
  }

  get targets(): number[] {
    return [...this.served.keys()];
  }

  stats(): HbaStats {
    this.open();
    const buf = new Uint8Array(STATS_BYTES);
    this.port.stats(buf);
    const view = new DataView(buf.buffer);
    return Object.fromEntries(
      STAT_NAMES.map((name, i) => [name, Number(view.getBigUint64(i * 8, true))]),
    ) as unknown as HbaStats;
  }

  /** The bridge's latest refusal or failure, e.g. "slot 3 (tag 9): transfer length exceeds the slot (...)". */
  lastError(): string {
    this.open();
    const buf = new Uint8Array(ERROR_BYTES);
    const length = Math.min(this.port.lastError(buf), ERROR_BYTES - 1);
    return new TextDecoder().decode(buf.subarray(0, length));
  }

  /** Retires every served target, then stops the bridge and releases the connection (and the arena). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.served.entries()];
    this.served.clear();
    await this.retire(all);
    this.port.close();
  }

  private async retire(targets: Array<[number, Served]>): Promise<void> {
    for (const [targetId, { ring }] of targets) {
      this.port.retireTarget(targetId);
      ring.shutdown();
    }
    await Promise.all(targets.map(([, { settled }]) => settled()));
  }

  private open(): void {
    if (this.closed) throw new IscsiError("ATTACH_UNAVAILABLE", "the DriverKit HBA connection is closed");
  }
}

const DK_SYMBOLS = {
  iscsi_dk_open: { args: ["ptr", "u32", "ptr", "u64"], returns: "ptr" },
  iscsi_dk_set_target: { args: ["ptr", "u32", "ptr", "u32"], returns: "i32" },
  iscsi_dk_retire_target: { args: ["ptr", "u32"], returns: "i32" },
  iscsi_dk_remove_target: { args: ["ptr", "u32"], returns: "i32" },
  iscsi_dk_stats: { args: ["ptr", "ptr"], returns: "void" },
  iscsi_dk_last_error: { args: ["ptr", "ptr", "u64"], returns: "u64" },
  iscsi_dk_close: { args: ["ptr"], returns: "void" },
} as const;

/** Opens the dext's user client (macOS only): the attach library's IOKit client maps the arena and starts the bridge. */
export async function openDriverKitHba(opts: { workers?: number; service?: string } = {}): Promise<HbaConnection> {
  if (process.platform !== "darwin")
    throw new IscsiError("ATTACH_UNAVAILABLE", `the DriverKit HBA exists only on macOS, not on ${process.platform}`);
  const lib = await attachLibrary();
  let dk: ReturnType<typeof dlopen<typeof DK_SYMBOLS>>["symbols"];
  try {
    // The same file the ring came from: dlopen hands back the already-loaded image, so ring and client share code.
    dk = dlopen(lib.path, DK_SYMBOLS).symbols;
  } catch (err) {
    throw new IscsiError(
      "ATTACH_UNAVAILABLE",
      `${lib.path} has no DriverKit client (built without ffi/macos/sources.sh?): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const err = new Uint8Array(ERROR_BYTES);
  const name = new TextEncoder().encode(`${opts.service ?? DRIVERKIT_SERVICE}\0`);
  const client = dk.iscsi_dk_open(name, opts.workers ?? 32, err, BigInt(err.length));
  if (!client) {
    const text = new TextDecoder().decode(err.subarray(0, Math.max(0, err.indexOf(0))));
    throw new IscsiError("ATTACH_UNAVAILABLE", `cannot open the DriverKit HBA: ${text}`);
  }
  return new HbaConnection({
    setTarget: (targetId, ring, lun) => dk.iscsi_dk_set_target(client, targetId, ring, lun),
    retireTarget: (targetId) => dk.iscsi_dk_retire_target(client, targetId),
    removeTarget: (targetId) => dk.iscsi_dk_remove_target(client, targetId),
    stats: (out) => dk.iscsi_dk_stats(client, out),
    lastError: (out) => Number(dk.iscsi_dk_last_error(client, out, BigInt(out.length))),
    close: () => dk.iscsi_dk_close(client),
  });
}
