// Test support for the Linux stand-in of the DriverKit HBA: compiles ffi/harness/dext_sim.c with the bridge
// and arena code into a shared library linked against the attach library that is already loaded (so ring and
// bridge share one copy of ring.c), binds it with bun:ffi, and runs batches of SCSI tasks through it the way
// the kernel would hand them to the dext: post every task, one "work available", wait for COMPLETE, finish.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { dlopen, ptr, type Pointer } from "bun:ffi";
import { attachLibrary, type AttachLibrary } from "../../src/attach/native.ts";
import { HbaConnection } from "../../src/attach/macos/driverkit.ts";
import { expectSuccess, runTool } from "../harness/processes.ts";

const FFI = join(import.meta.dir, "../../ffi");
const OUTCOME_BYTES = 272;

const SYMBOLS = {
  dext_sim_create: { args: ["u32", "ptr", "u64"], returns: "ptr" },
  dext_sim_try_header: { args: ["u32", "u32", "u64", "u64", "ptr", "u64"], returns: "i32" },
  dext_sim_set_target: { args: ["ptr", "u32", "ptr", "u32"], returns: "i32" },
  dext_sim_retire_target: { args: ["ptr", "u32"], returns: "i32" },
  dext_sim_remove_target: { args: ["ptr", "u32"], returns: "i32" },
  dext_sim_submit: { args: ["ptr", "ptr", "u32", "u32", "u64", "u32", "u32", "ptr", "u64"], returns: "i32" },
  dext_sim_poke_task: { args: ["ptr", "u32", "u32", "u32", "u64"], returns: "i32" },
  dext_sim_notify: { args: ["ptr"], returns: "i32" },
  dext_sim_notify_raw: { args: ["ptr", "u64", "u64", "u64", "u32"], returns: "i32" },
  dext_sim_done_mask: { args: ["ptr"], returns: "u64" },
  dext_sim_done_calls: { args: ["ptr"], returns: "u64" },
  dext_sim_finish: { args: ["ptr", "u32", "ptr"], returns: "i32" },
  dext_sim_stats: { args: ["ptr", "ptr"], returns: "void" },
  dext_sim_last_error: { args: ["ptr", "ptr", "u64"], returns: "u64" },
  dext_sim_outcome_bytes: { args: [], returns: "u32" },
  dext_sim_destroy: { args: ["ptr"], returns: "void" },
  iscsi_hba_decode_lun: { args: ["ptr"], returns: "u64" },
} as const;

export type SimSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

/** The attach library (built by ffi/build.sh when the tree has none yet) and the harness library linked to it. */
export async function loadHarness(): Promise<{ attach: AttachLibrary; sim: SimSymbols; cleanup(): void }> {
  const built = join(FFI, "build/linux-x64/libiscsi_attach.so");
  if (!process.env.ISCSI_ATTACH_LIB && !existsSync(built)) {
    const argv = ["bash", join(FFI, "build.sh"), "linux-x64"];
    expectSuccess(argv, await runTool(argv, { timeoutMs: 120_000 }));
  }
  const attach = await attachLibrary();
  const dir = mkdtempSync(join(tmpdir(), "iscsi-dext-sim-"));
  const lib = join(dir, "libdext_sim.so");
  const sources = ["harness/dext_sim.c", "hba_bridge.c", "hba_bridge_targets.c", "hba_arena.c", "hba_local.c"].map(
    (s) => join(FFI, s),
  );
  const argv = [
    "gcc",
    "-std=c11",
    "-O2",
    "-g",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fPIC",
    "-shared",
    "-pthread",
    `-I${FFI}`,
    ...sources,
    attach.path,
    `-Wl,-rpath,${dirname(attach.path)}`,
    "-o",
    lib,
  ];
  expectSuccess(argv, await runTool(argv, { timeoutMs: 120_000 }));
  const sim = dlopen(lib, SYMBOLS).symbols;
  if (sim.dext_sim_outcome_bytes() !== OUTCOME_BYTES)
    throw new Error(
      `struct iscsi_hba_outcome is ${sim.dext_sim_outcome_bytes()} bytes, this file decodes ${OUTCOME_BYTES}`,
    );
  return { attach, sim, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const Dir = { None: 0, Read: 1, Write: 2 } as const;

export interface SimTask {
  cdb: number[];
  dir: number;
  length: number;
  /** Write payload, or the buffer reads land in (allocated when absent). */
  data?: Uint8Array;
  lun?: number;
  target?: number;
}

export interface Outcome {
  transportFailed: boolean;
  status: number;
  refusal: number;
  error: number;
  bytes: number;
  sense: Uint8Array;
  /** The task's buffer: read data lands here. */
  data: Uint8Array;
}

function decodeOutcome(raw: Uint8Array, data: Uint8Array): Outcome {
  const v = new DataView(raw.buffer, raw.byteOffset);
  const senseLength = v.getUint32(16, true);
  return {
    transportFailed: raw[0] === 1,
    status: raw[1]!,
    refusal: v.getUint32(4, true),
    error: v.getInt32(8, true),
    bytes: v.getUint32(12, true),
    sense: raw.slice(20, 20 + senseLength),
    data,
  };
}

/** One simulated dext with its bridge; the HbaConnection of driverkit.ts drives its targets. */
export class DextSim {
  readonly handle: Pointer;
  readonly connection: HbaConnection;
  /** Buffers handed to C stay referenced here until their slot is finished. */
  private readonly parked = new Map<number, Uint8Array>();
  private tag = 1;

  constructor(
    readonly sim: SimSymbols,
    workers: number,
  ) {
    const err = new Uint8Array(256);
    const handle = sim.dext_sim_create(workers, err, BigInt(err.length));
    if (!handle) throw new Error(`dext_sim_create: ${new TextDecoder().decode(err.subarray(0, err.indexOf(0)))}`);
    this.handle = handle as Pointer;
    this.connection = new HbaConnection({
      setTarget: (id, ring, lun) => sim.dext_sim_set_target(handle, id, ring, lun),
      retireTarget: (id) => sim.dext_sim_retire_target(handle, id),
      removeTarget: (id) => sim.dext_sim_remove_target(handle, id),
      stats: (out) => sim.dext_sim_stats(handle, out),
      lastError: (out) => Number(sim.dext_sim_last_error(handle, out, BigInt(out.length))),
      close: () => sim.dext_sim_destroy(handle),
    });
  }

  /** UserProcessParallelTask: the slot index, or a negative refusal / -EBUSY from the dext side. */
  submit(task: SimTask): number {
    const data = task.data ?? new Uint8Array(Math.max(task.length, 1));
    const cdb = new Uint8Array(16);
    cdb.set(task.cdb);
    const slot = this.sim.dext_sim_submit(
      this.handle,
      cdb,
      task.cdb.length,
      task.dir,
      BigInt(task.lun ?? 0),
      task.target ?? 0,
      task.length,
      ptr(data),
      BigInt(this.tag++),
    );
    if (slot >= 0) this.parked.set(slot, data);
    return slot;
  }

  poke(slot: number, offset: number, width: 4 | 8, value: bigint): void {
    if (this.sim.dext_sim_poke_task(this.handle, slot, offset, width, value) !== 0)
      throw new Error(`poke slot ${slot} +${offset}`);
  }

  notify(): number {
    return this.sim.dext_sim_notify(this.handle);
  }

  doneMask(): bigint {
    return BigInt(this.sim.dext_sim_done_mask(this.handle));
  }

  /** Waits (without blocking the JavaScript thread, which serves the ring) until every slot in `slots` is DONE. */
  async waitDone(slots: number[], timeoutMs = 30_000): Promise<void> {
    const want = slots.reduce((m, s) => m | (1n << BigInt(s)), 0n);
    const deadline = Date.now() + timeoutMs;
    while ((this.doneMask() & want) !== want) {
      if (Date.now() > deadline)
        throw new Error(
          `slots ${slots.join(",")} not DONE after ${timeoutMs} ms (done mask ${this.doneMask().toString(2)})`,
        );
      await Bun.sleep(2);
    }
  }

  finish(slot: number): Outcome {
    const raw = new Uint8Array(OUTCOME_BYTES);
    const rc = this.sim.dext_sim_finish(this.handle, slot, raw);
    if (rc !== 0) throw new Error(`dext_sim_finish(${slot}) = ${rc}`);
    const data = this.parked.get(slot)!;
    this.parked.delete(slot);
    return decodeOutcome(raw, data);
  }

  /** Posts every task, raises one notification, waits for all, finishes all: outcomes in task order. */
  async run(tasks: SimTask[], timeoutMs?: number): Promise<Outcome[]> {
    const slots = tasks.map((t) => {
      const slot = this.submit(t);
      if (slot < 0) throw new Error(`task ${JSON.stringify(t.cdb)} not posted: ${slot}`);
      return slot;
    });
    this.notify();
    await this.waitDone(slots, timeoutMs);
    return slots.map((s) => this.finish(s));
  }
}
