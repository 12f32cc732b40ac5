// A LUN attached as a local disk (docs/architecture.md, "Attaching a LUN"): FUSE file over a request ring served from the session, then
// on Linux a loop device with direct I/O and an optional mount, on macOS a disk image attached by hdiutil
// (never run on a Mac). Detach undoes it in reverse; forced (or with the target gone) it fails queued I/O
// first so it finishes in bounded time and leaves no mount or block device. It is served by a session or by a
// multipath device (the daemon's choice): anything that runs SCSI commands for the LU.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import type { ConsolaInstance } from "consola";
import { IscsiError } from "../contract/errors.ts";
import type { AttachBackend, AttachState } from "../contract/views.ts";
import { logFor } from "../log.ts";
import type { ScsiExecutor } from "../session/executor.ts";
import { LogicalUnit } from "../session/logical-unit.ts";
import { FuseFile } from "./fuse.ts";
import { probeGeometry, type Geometry } from "./geometry.ts";
import { loopAttach, loopDetach, loopDirectIo, mountDevice, unmountDir } from "./loop.ts";
import { attachLibrary } from "./native.ts";
import { Ring } from "./ring.ts";
import { RequestServer, type AttachStats } from "./serve.ts";

/** Where an attachment is in its life; what a detach was (forced or not) is carried by the phase itself. */
export type AttachPhase =
  | { kind: "serving" }
  | { kind: "detaching"; forced: boolean; done: Promise<void> }
  | { kind: "detached"; forced: boolean };

export interface AttachOptions {
  /** Mount the device's filesystem here (created when missing). */
  mountDir?: string;
  readOnly?: boolean;
  /** Where the private FUSE mount dir is made (default $TMPDIR). */
  runDir?: string;
  /** Requests in flight between kernel and session (ring depth = FUSE worker threads). */
  depth?: number;
  /** Sector size of the loop device (default: the LUN's block size, or 512 when loop cannot take it). */
  sectorSize?: number;
  /** The number it is known by (the daemon keeps it across restarts); default a per-process counter. */
  id?: number;
  /** The LU identity (VPD 0x80/0x83, capacity) it must have: a restore refuses any other logical unit. */
  identity?: string;
  log?: ConsolaInstance;
}

const DEFAULT_DEPTH = 32;
/** Sector sizes a loop device takes; the LUN's own avoids read-modify-write for every kernel I/O. */
const LOOP_SECTOR_SIZES = new Set([512, 1024, 2048, 4096]);

/**
 * The LU's geometry, and its identity checked against `identity` (a restored record's): another LU behind the
 * same LUN number is refused before anything serves it, to protect the data.
 */
export async function probeSameLu(
  session: ScsiExecutor,
  lun: number,
  identity: string | undefined,
): Promise<{ lu: LogicalUnit<ScsiExecutor>; geometry: Geometry }> {
  const lu = new LogicalUnit(session, lun);
  const geometry = await probeGeometry(lu);
  const found = session.recordedIdentity(lun);
  if (identity !== undefined && found !== identity) {
    throw new IscsiError(
      "GENERIC",
      `LUN ${lun} of ${session.targetName} is not the logical unit attached before (was ${identity}, now ${found ?? "unknown"}); not attaching it, to protect the data`,
    );
  }
  return { lu, geometry };
}

let nextId = 1;
/** An attachment's id: the one given (a restored record's), else the next free one; shared by every route. */
export function allocateAttachmentId(id?: number): number {
  const taken = id ?? nextId++;
  nextId = Math.max(nextId, taken + 1);
  return taken;
}

export class Attachment {
  readonly id: number;
  readonly backend: AttachBackend = process.platform === "darwin" ? "fuse-hdiutil" : "fuse-loop";
  readonly since = new Date();
  device: string | undefined;
  mountPoint: string | undefined;
  directIo = false;
  /** Resolves once the backend and its buffers are freed: after detach, when every command of it has settled. */
  readonly released: Promise<void>;
  private release!: () => void;
  private phase: AttachPhase = { kind: "serving" };

  private constructor(
    id: number | undefined,
    readonly session: ScsiExecutor,
    readonly lun: number,
    readonly geometry: Geometry,
    readonly readOnly: boolean,
    private readonly ring: Ring,
    private readonly server: RequestServer,
    private readonly fuse: FuseFile,
    private readonly runDir: string,
    private readonly log: ConsolaInstance,
  ) {
    this.id = allocateAttachmentId(id);
    this.released = new Promise((resolve) => (this.release = resolve));
  }

  /** The LU identity recorded when the session first read the LUN's capacity (what a restore must find again). */
  get identity(): string | undefined {
    return this.session.recordedIdentity(this.lun);
  }

  private transition(next: AttachPhase, why: string): void {
    this.log.debug(
      `attachment ${this.id}: ${this.phase.kind} → ${next.kind}${"forced" in next && next.forced ? " (forced)" : ""}: ${why}`,
    );
    this.phase = next;
  }

  /** The FUSE file that holds the LUN. */
  get file(): string {
    return this.fuse.path;
  }

  get stats(): AttachStats {
    return { ...this.server.stats };
  }

  /** Writes that waited for another write to the same blocks (read-modify-write in progress). */
  get lockWaits(): number {
    return this.server.lockWaits;
  }

  get state(): AttachState {
    if (this.phase.kind !== "serving") return "detaching";
    switch (this.session.state.kind) {
      case "full-feature":
        return "attached";
      case "recovering":
      case "verifying":
        return "recovering";
      default:
        return "failed";
    }
  }

  static async attach(session: ScsiExecutor, lun: number, opts: AttachOptions = {}): Promise<Attachment> {
    if (process.platform !== "linux" && process.platform !== "darwin") {
      throw new IscsiError(
        "ATTACH_UNAVAILABLE",
        `attaching a LUN is not available on ${process.platform} (Linux: FUSE + loop; macOS: FUSE + hdiutil)`,
      );
    }
    if (opts.mountDir !== undefined && !isAbsolute(opts.mountDir))
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `mount directory ${JSON.stringify(opts.mountDir)} must be an absolute path`,
      );
    if (opts.mountDir !== undefined && process.platform === "darwin") {
      throw new IscsiError(
        "NOT_SUPPORTED",
        "--mount is not supported on macOS yet: attach, then mount the disk with diskutil",
      );
    }
    const lib = await attachLibrary();
    const { lu, geometry } = await probeSameLu(session, lun, opts.identity);
    const readOnly = (opts.readOnly ?? false) || geometry.writeProtected;
    const log = opts.log ?? logFor(`s${session.id}:lun${lun}`);
    const runDir = mkdtempSync(join(opts.runDir ?? tmpdir(), "iscsi-attach-"));
    const fuseDir = join(runDir, "fuse");
    mkdirSync(fuseDir, { mode: 0o700 });
    const ring = new Ring(lib, opts.depth ?? DEFAULT_DEPTH);
    const server = new RequestServer(ring, lu, geometry, { readOnly, log });
    let fuse: FuseFile | undefined;
    try {
      await server.start();
      fuse = FuseFile.start(lib, ring, fuseDir, `lun${lun}.img`, geometry.sizeBytes, readOnly);
    } catch (err) {
      ring.destroy();
      rmSync(runDir, { recursive: true, force: true });
      throw err;
    }
    const a = new Attachment(opts.id, session, lun, geometry, readOnly, ring, server, fuse, runDir, log);
    try {
      if (process.platform === "darwin") {
        const { attachImage } = await import("./macos/hdiutil.ts");
        a.device = (await attachImage(a.file, { readOnly })).device;
      } else {
        const sectorSize = opts.sectorSize ?? (LOOP_SECTOR_SIZES.has(geometry.blockSize) ? geometry.blockSize : 512);
        if (!LOOP_SECTOR_SIZES.has(sectorSize))
          throw new IscsiError(
            "INVALID_ARGUMENT",
            `sector size ${sectorSize} is not one of ${[...LOOP_SECTOR_SIZES].join(", ")}`,
          );
        a.device = await loopAttach(a.file, { readOnly, sectorSize });
        a.directIo = loopDirectIo(a.device);
        if (!a.directIo) log.warn(`${a.device}: the kernel refused direct I/O on the FUSE file; using buffered I/O`);
      }
      if (opts.mountDir) {
        mkdirSync(opts.mountDir, { recursive: true });
        await mountDevice(a.device, opts.mountDir, { readOnly });
        a.mountPoint = opts.mountDir;
      }
    } catch (err) {
      await a.teardown(true, "undo").catch((e) => log.warn(`rollback of the failed attach: ${(e as Error).message}`));
      throw err;
    }
    log.info(
      `LUN ${lun} of ${session.targetName} attached: ${a.device}${a.mountPoint ? ` mounted on ${a.mountPoint}` : ""} (${geometry.sizeBytes} bytes, ${geometry.blockSize}-byte blocks${readOnly ? ", read-only" : ""})`,
    );
    return a;
  }

  /**
   * Unmount, detach the loop device, flush, stop FUSE. Not forced, it refuses while the session is not up (data
   * could not be flushed) and fails on a busy mount. Forced, it fails waiting I/O first and unmounts lazily; a
   * forced detach during an orderly one turns it into a forced one.
   */
  async detach(opts: { force?: boolean } = {}): Promise<void> {
    const force = opts.force ?? false;
    const p = this.phase;
    if (p.kind === "detaching") {
      if (!force || p.forced) return p.done;
      this.fuse.shutdown();
      this.transition({ ...p, forced: true }, "a forced detach during an orderly one");
      await p.done.catch(() => {});
    }
    if (this.phase.kind === "detached") return;
    if (!force && this.session.state.kind !== "full-feature") {
      throw new IscsiError(
        "BUSY",
        `the session to ${this.session.targetName} is ${this.session.state.kind}: buffered data could not be written; detach with --force to drop it`,
      );
    }
    // The teardown starts after the phase is set, so its own transition to "detached" comes last.
    const done = Promise.resolve().then(() => this.teardown(force));
    this.transition({ kind: "detaching", forced: force, done }, force ? "forced detach" : "detach");
    try {
      await done;
    } catch (err) {
      if (this.phase.kind === "detaching")
        this.transition({ kind: "serving" }, `detach failed: ${(err as Error).message}`);
      throw err;
    }
  }

  private async detachDevice(device: string, force: boolean): Promise<void> {
    if (process.platform === "darwin") {
      const { detachImage } = await import("./macos/hdiutil.ts");
      return detachImage(device, { force });
    }
    return loopDetach(device, this.file, force ? 2_000 : 10_000);
  }

  /** `undo`: rolling back a failed attach, logged as such rather than as a (forced) detach. */
  private async teardown(force: boolean, why: "detach" | "undo" = "detach"): Promise<void> {
    if (force) this.fuse.shutdown();
    // Once shut down (now, or by a forced detach meanwhile) nothing can be flushed: the rest goes the forced way.
    const forced = () => this.ring.isShutdown;
    const unlessShutDown = (p: Promise<unknown>) => Promise.race([p, this.fuse.shutDown]);
    if (this.mountPoint) await unmountDir(this.mountPoint, { lazy: forced() });
    this.mountPoint = undefined;
    if (this.device) {
      await this.detachDevice(this.device, forced()).catch((err) => {
        if (!forced()) throw err;
        this.log.warn((err as Error).message);
      });
    }
    this.device = undefined;
    if (!forced()) {
      await unlessShutDown(this.server.whenIdle());
      await unlessShutDown(new LogicalUnit(this.session, this.lun).synchronizeCache());
    }
    // Decided here, before stop() shuts the ring down whatever happened: was anything dropped?
    const wasForced = forced();
    this.transition({ kind: "detached", forced: wasForced }, "torn down");
    this.fuse.stop();
    this.ring.destroy();
    rmSync(this.runDir, { recursive: true, force: true });
    // Commands a shutdown abandoned may still use their buffers (a reconnect would send them): free after they settle.
    void this.server.whenIdle().then(() => {
      this.fuse.free();
      this.release();
    });
    if (why === "undo") this.log.info(`LUN ${this.lun} of ${this.session.targetName}: the failed attach is undone`);
    else this.log.info(`LUN ${this.lun} of ${this.session.targetName} detached${wasForced ? " (forced)" : ""}`);
  }
}
