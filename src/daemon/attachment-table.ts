// The daemon's table of attached LUNs, each with the session it uses, and how one is shown; a new login of a
// node takes over its attachments whose session is gone (same LU only). One LU is attached once: an attach or
// restore claims it first, against live attachments and the records in the state dir (attachment-db.ts).
import { statfsSync } from "node:fs";
import type { ConsolaInstance } from "consola";
import type { Attachment } from "../attach/attachment.ts";
import type { NfsAttachment } from "../attach/nfs/attachment.ts";
import type { NfsServer } from "../attach/nfs/server.ts";
import { IscsiError } from "../contract/errors.ts";
import type { AttachmentView } from "../contract/views.ts";
import type { AttachmentDb } from "./attachment-db.ts";
import { sessionOf } from "./engine.ts";
import { GONE, type SessionEntry } from "./registry.ts";

export interface Attached {
  attachment: Attachment | NfsAttachment;
  /** The session it uses; replaced when a rebind moves it to a new login of the same node. */
  entry: SessionEntry;
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
    const live = this.list().find((x) => x.entry.target === target && x.attachment.lun === lun);
    const record = this.db.find(target, lun);
    const busy = this.claimed.get(key);
    if (live) throw new IscsiError("EXISTS", `LUN ${lun} of ${target} is already attached as ${live.attachment.device ?? live.attachment.file} (attachment ${live.attachment.id})`);
    if (busy !== undefined) throw new IscsiError("EXISTS", `LUN ${lun} of ${target} is being attached (attachment ${busy})`);
    if (record && record.id !== id) throw new IscsiError("EXISTS", `LUN ${lun} of ${target} is already attached (attachment ${record.id}, being restored; see iscsi status)`);
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

  /** Attachments using session `sid` (logout refuses while there are any). */
  ofSession(sid: number): Attached[] {
    return this.list().filter((x) => x.entry.sid === sid);
  }

  add(x: Attached): void {
    this.byId.set(x.attachment.id, x);
  }

  remove(x: Attached): void {
    this.byId.delete(x.attachment.id);
  }

  /** After `entry` logged its node in: that node's attachments whose session is gone move to it, same LU only. */
  async rebind(entry: SessionEntry, log: ConsolaInstance): Promise<void> {
    for (const x of this.list()) {
      if (x.entry.key !== entry.key || x.entry === entry || !GONE.has(x.attachment.session.state.kind)) continue;
      try {
        await x.attachment.rebind(sessionOf(entry.session));
        x.entry = entry;
      } catch (err) {
        log.error(`attachment ${x.attachment.id} not moved to session ${entry.sid}: ${(err as Error).message}`);
      }
    }
  }
}

export function attachmentView({ attachment: a, entry }: Attached): AttachmentView {
  return {
    id: a.id,
    target: entry.target,
    portal: { ...entry.portal },
    lun: a.lun,
    sid: entry.sid,
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
