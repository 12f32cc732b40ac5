// The daemon's table of attached LUNs, each on the multipath device of its LU (docs/multipath.md), and how
// one is shown: the session of the device's active path, the device's name. One LU is attached once: an attach
// or restore claims it first, against live attachments and the records in the state dir (attachment-db.ts).
import { statfsSync } from "node:fs";
import type { ConsolaInstance } from "consola";
import type { Attachment } from "../attach/attachment.ts";
import type { NfsAttachment } from "../attach/nfs/attachment.ts";
import type { NfsServer } from "../attach/nfs/server.ts";
import { IscsiError } from "../contract/errors.ts";
import type { AttachmentView } from "../contract/views.ts";
import type { MultipathDevice } from "../multipath/device.ts";
import type { AttachmentDb } from "./attachment-db.ts";
import { sessionOf } from "./engine.ts";
import { GONE, type SessionEntry } from "./registry.ts";

export interface Attached {
  attachment: Attachment | NfsAttachment;
  device: MultipathDevice;
}

export class Attachments {
  private readonly byId = new Map<number, Attached>();
  /** LUs ("target|lun") with an attach or restore under way, so a second one is refused before either finishes. */
  private readonly claimed = new Map<string, number>();

  /** The loopback NFS server of `--via nfs`, started with the first NFS attachment. */
  private nfs: NfsServer | undefined;

  constructor(readonly db: AttachmentDb) {}

  /** The daemon's NFS server, started on first use on 127.0.0.1:`port` (0: a free port). */
  async nfsServer(port: number, log: ConsolaInstance): Promise<NfsServer> {
    if (this.nfs) return this.nfs;
    const { NfsServer } = await import("../attach/nfs/server.ts");
    if (!this.nfs) {
      this.nfs = NfsServer.listen(port, log);
      log.info(`NFS server listening on 127.0.0.1:${this.nfs.port}`);
    }
    return this.nfs;
  }

  /** After every attachment is gone (daemon stop). */
  stopNfs(): void {
    this.nfs?.stop();
    this.nfs = undefined;
  }

  /**
   * Reserves an attachment id for the LU, or refuses (EXISTS) when the LU is attached, recorded or being attached.
   * `id`: a restore's own record id, which it may reuse.
   */
  claim(target: string, lun: number, id?: number): { id: number; release: () => void } {
    const key = `${target}|${lun}`;
    const live = this.list().find((x) => x.device.targetName === target && x.attachment.lun === lun);
    const record = this.db.find(target, lun);
    const busy = this.claimed.get(key);
    if (live)
      throw new IscsiError(
        "EXISTS",
        `LUN ${lun} of ${target} is already attached as ${live.attachment.device ?? live.attachment.file} (attachment ${live.attachment.id})`,
      );
    if (busy !== undefined)
      throw new IscsiError("EXISTS", `LUN ${lun} of ${target} is being attached (attachment ${busy})`);
    if (record && record.id !== id)
      throw new IscsiError(
        "EXISTS",
        `LUN ${lun} of ${target} is already attached (attachment ${record.id}, being restored; see iscsi status)`,
      );
    const taken = id ?? this.db.nextId([...this.byId.keys(), ...this.claimed.values()]);
    this.claimed.set(key, taken);
    return { id: taken, release: () => this.claimed.delete(key) };
  }

  /** Is a restore (or attach) of attachment `id` running at this moment? */
  restoring(id: number): boolean {
    return [...this.claimed.values()].includes(id);
  }

  list(): Attached[] {
    return [...this.byId.values()].sort((a, b) => a.attachment.id - b.attachment.id);
  }

  /** Attachments that would lose their last live path if session `sid` went (logout refuses while there are any). */
  pinning(sid: number): Attached[] {
    return this.list().filter(
      (x) =>
        x.device.paths.some((p) => p.meta.sid === sid) &&
        !x.device.paths.some((p) => p.meta.sid !== sid && !GONE.has(p.session.state.kind)),
    );
  }

  onDevice(device: MultipathDevice): Attached[] {
    return this.list().filter((x) => x.device === device);
  }

  add(x: Attached): void {
    this.byId.set(x.attachment.id, x);
  }

  remove(x: Attached): void {
    this.byId.delete(x.attachment.id);
  }

  /** After `entry` joined its paths: say so when a node of an attached device now serves another LU there. */
  noteOtherLu(entry: SessionEntry, log: ConsolaInstance): void {
    for (const x of this.list()) {
      const old = x.device.paths.find((p) => p.meta.key === entry.key && p.meta.sid !== entry.sid);
      if (!old || x.device.paths.some((p) => p.meta.sid === entry.sid)) continue;
      const now = sessionOf(entry.session).recordedIdentity(old.lun);
      if (now === undefined || now === x.device.identity) continue;
      log.error(
        `attachment ${x.attachment.id} not moved to session ${entry.sid}: LUN ${old.lun} of ${entry.target} is not the logical unit attached as ${x.attachment.device ?? x.attachment.file} (was ${x.device.identity}, now ${now}); left failed to protect the data: detach it (iscsi detach --force ${x.attachment.id})`,
      );
    }
  }
}

export function attachmentView({ attachment: a, device }: Attached): AttachmentView {
  const path = device.activePath ?? device.upPaths()[0] ?? device.paths.at(-1);
  return {
    id: a.id,
    target: path?.meta.target ?? device.targetName ?? "",
    portal: { ...(path?.meta.portal ?? { host: "", port: 0 }) },
    lun: a.lun,
    sid: path?.meta.sid ?? 0,
    mpath: device.name,
    backend: a.backend,
    state: a.state,
    file: a.file,
    ...(a.device ? { device: a.device } : {}),
    ...(a.mountPoint ? { mountPoint: a.mountPoint } : {}),
    ...filesystemSpace(a.mountPoint),
    readOnly: a.readOnly,
    sizeBytes: String(a.geometry.sizeBytes),
    blockSize: a.geometry.blockSize,
    since: a.since.toISOString(),
    stats: a.stats,
    ...("nfsExport" in a ? { export: a.exportView, nfs: a.counters } : {}),
  };
}

/** Size and free space of the filesystem mounted at `mountPoint` (blocks available to unprivileged users, as df shows). */
function filesystemSpace(mountPoint: string | undefined): { fs?: { sizeBytes: string; freeBytes: string } } {
  if (!mountPoint) return {};
  try {
    const s = statfsSync(mountPoint, { bigint: true });
    return { fs: { sizeBytes: String(s.blocks * s.bsize), freeBytes: String(s.bavail * s.bsize) } };
  } catch {
    return {};
  }
}
