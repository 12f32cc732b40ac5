// A LUN attached through the daemon's loopback NFS server: one export holding one fixed-size file, served from
// the session through BlockIo (read-modify-write and range locks shared with the FUSE route). On Linux the
// export is only served (any NFS client may use it); on macOS nfs-mount.ts mounts it and hands the file to
// DiskImages. It is served by a session or a multipath device (anything that runs SCSI commands for the LU).
// Detach stops serving, lets calls in flight settle, then flushes the LU's cache.
import { createHash } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { ConsolaInstance } from "consola";
import { IscsiError } from "../../contract/errors.ts";
import { LogicalUnit } from "../../session/logical-unit.ts";
import type { ScsiExecutor } from "../../session/executor.ts";
import type { AttachBackend, AttachState } from "../../contract/views.ts";
import { allocateAttachmentId, probeSameLu } from "../attachment.ts";
import { BlockIo } from "../block-io.ts";
import type { Geometry } from "../geometry.ts";
import type { AttachStats } from "../serve.ts";
import { NfsExport, type NfsCounters, type NfsDisk } from "./export.ts";
import type { NfsServer } from "./server.ts";

export interface NfsExportView {
  /** MOUNT dirpath of the export. */
  path: string;
  /** The one file in it. */
  file: string;
  port: number;
  /** A libnfs URL of the file. */
  url: string;
}

/** The export path of LUN `lun` of `target`: the same across daemon restarts (handles stay valid), distinct per LU. */
export function exportPathOf(target: string, lun: number): string {
  return `/iscsi/${createHash("sha256").update(`${target}\n${lun}`).digest("hex").slice(0, 16)}`;
}

export function exportUrl(path: string, file: string, port: number): string {
  return `nfs://127.0.0.1${path}/${file}?version=3&nfsport=${port}&mountport=${port}`;
}

/** The LU behind an export: commands through BlockIo, health from the session's state. */
class SessionDisk implements NfsDisk {
  readonly io: BlockIo;
  inFlight = 0;
  private idle: Array<() => void> = [];

  constructor(
    readonly session: ScsiExecutor,
    lu: LogicalUnit<ScsiExecutor>,
    private readonly geo: Geometry,
  ) {
    this.io = new BlockIo(lu, geo);
  }

  get sizeBytes(): number {
    return this.geo.sizeBytes;
  }

  get blockSize(): number {
    return this.geo.blockSize;
  }

  health(): "up" | "recovering" | "down" {
    const s = this.session.state as { kind: string; ioFailed?: boolean };
    if (s.kind === "full-feature") return "up";
    // A session past its replacement timeout fails its commands: IO from then on, not JUKEBOX.
    if ((s.kind === "recovering" && !s.ioFailed) || s.kind === "verifying") return "recovering";
    return "down";
  }

  read(offset: number, dst: Uint8Array): Promise<void> {
    return this.track(this.io.read(offset, dst));
  }

  write(offset: number, src: Uint8Array, fua: boolean): Promise<void> {
    return this.track(this.io.write(offset, src, fua));
  }

  synchronizeCache(): Promise<void> {
    return this.track(this.io.synchronizeCache());
  }

  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async track(p: Promise<void>): Promise<void> {
    this.inFlight++;
    try {
      await p;
    } finally {
      if (--this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }
}

export class NfsAttachment {
  readonly id: number;
  readonly backend: AttachBackend = "nfs";
  readonly since = new Date();
  device: string | undefined;
  mountPoint: string | undefined;
  readonly directIo = false;
  readonly released: Promise<void>;
  private release!: () => void;
  private detaching = false;
  private torn = false;
  /** macOS: where the export is mounted with mount_nfs. */
  private nfsMount: string | undefined;

  private constructor(
    id: number | undefined,
    readonly lun: number,
    readonly geometry: Geometry,
    readonly readOnly: boolean,
    private readonly disk: SessionDisk,
    readonly nfsExport: NfsExport,
    private readonly server: NfsServer,
    private readonly log: ConsolaInstance,
  ) {
    this.id = allocateAttachmentId(id);
    this.released = new Promise((resolve) => (this.release = resolve));
  }

  /** `serverFor` gives the daemon's NFS server, asked for only once the LU is known (its clients wait meanwhile). */
  /** `id`: a restored record's; `identity`: the LU identity it recorded, which the LUN must still have. */
  static async attach(
    session: ScsiExecutor,
    lun: number,
    serverFor: () => Promise<NfsServer>,
    opts: { id?: number; identity?: string; readOnly?: boolean; runDir: string; log: ConsolaInstance },
  ): Promise<NfsAttachment> {
    if (!session.targetName)
      throw new IscsiError("INVALID_ARGUMENT", `session ${session.id} is a discovery session: it has no LUN to export`);
    const { lu, geometry } = await probeSameLu(session, lun, opts.identity);
    const readOnly = (opts.readOnly ?? false) || geometry.writeProtected;
    const disk = new SessionDisk(session, lu, geometry);
    const x = new NfsExport(exportPathOf(session.targetName, lun), `lun${lun}.img`, disk, readOnly);
    const server = await serverFor();
    server.add(x);
    const a = new NfsAttachment(opts.id, lun, geometry, readOnly, disk, x, server, opts.log);
    if (process.platform === "darwin") {
      try {
        await a.attachOnMac(opts.runDir);
      } catch (err) {
        await a
          .detach({ force: true })
          .catch((e) => opts.log.warn(`rollback of the failed attach: ${(e as Error).message}`));
        throw err;
      }
    }
    opts.log.info(
      `LUN ${lun} of ${session.targetName} served over NFS: ${a.exportView.url} (${geometry.sizeBytes} bytes${readOnly ? ", read-only" : ""})`,
    );
    return a;
  }

  /** macOS: mount the export (a directory per export), then DiskImages turns its file into /dev/diskN. */
  private async attachOnMac(runDir: string): Promise<void> {
    const { mountExport } = await import("../macos/nfs-mount.ts");
    const { attachImage } = await import("../macos/hdiutil.ts");
    const dir = join(runDir, `nfs-${this.nfsExport.id.toString(16)}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    await mountExport(this.server.port, this.nfsExport.path, dir);
    this.nfsMount = dir;
    this.device = (await attachImage(join(dir, this.nfsExport.fileName), { readOnly: this.readOnly })).device;
  }

  /** macOS: detach the disk image, then unmount the export; forced, failures are logged and passed over. */
  private async detachOnMac(force: boolean): Promise<void> {
    if (!this.device && !this.nfsMount) return;
    const { unmountExport } = await import("../macos/nfs-mount.ts");
    const { detachImage } = await import("../macos/hdiutil.ts");
    const passOver = (err: unknown) => {
      if (!force) throw err;
      this.log.warn((err as Error).message);
    };
    if (this.device) await detachImage(this.device, { force }).catch(passOver);
    this.device = undefined;
    if (this.nfsMount) {
      await unmountExport(this.nfsMount, force).catch(passOver);
      rmSync(this.nfsMount, { recursive: true, force: true });
    }
    this.nfsMount = undefined;
  }

  get session(): ScsiExecutor {
    return this.disk.session;
  }

  /** The LU identity recorded when the session first read the LUN's capacity (what a restore must find again). */
  get identity(): string | undefined {
    return this.session.recordedIdentity(this.lun);
  }

  get exportView(): NfsExportView {
    const x = this.nfsExport;
    return {
      path: x.path,
      file: x.fileName,
      port: this.server.port,
      url: exportUrl(x.path, x.fileName, this.server.port),
    };
  }

  /** The served file, as the export's path and name. */
  get file(): string {
    return `${this.nfsExport.path}/${this.nfsExport.fileName}`;
  }

  get counters(): NfsCounters {
    return { ...this.nfsExport.counters };
  }

  get stats(): AttachStats {
    const c = this.nfsExport.counters;
    return {
      reads: c.reads,
      writes: c.writes,
      flushes: c.commits,
      trims: 0,
      bytesRead: c.bytesRead,
      bytesWritten: c.bytesWritten,
      errors: c.errors,
    };
  }

  get lockWaits(): number {
    return this.disk.io.lockWaits;
  }

  get state(): AttachState {
    if (this.detaching) return "detaching";
    const h = this.disk.health();
    return h === "up" ? "attached" : h === "recovering" ? "recovering" : "failed";
  }

  /** Stops serving the export; not forced, waits for calls in flight and flushes the LU's cache first. */
  async detach(opts: { force?: boolean } = {}): Promise<void> {
    if (this.torn) return;
    const force = opts.force ?? false;
    if (!force && this.session.state.kind !== "full-feature") {
      throw new IscsiError(
        "BUSY",
        `the session to ${this.session.targetName} is ${this.session.state.kind}: written data could not be flushed; detach with --force to drop it`,
      );
    }
    this.detaching = true;
    try {
      await this.detachOnMac(force);
      this.server.remove(this.nfsExport);
      if (!force) {
        await this.disk.whenIdle();
        await new LogicalUnit(this.session, this.lun).synchronizeCache();
      }
    } catch (err) {
      if (!this.server.exportById(this.nfsExport.id)) this.server.add(this.nfsExport);
      this.detaching = false;
      throw err;
    }
    this.torn = true;
    void this.disk.whenIdle().then(() => this.release());
    this.log.info(
      `LUN ${this.lun} of ${this.session.targetName}: NFS export ${this.nfsExport.path} removed${force ? " (forced)" : ""}`,
    );
  }
}
