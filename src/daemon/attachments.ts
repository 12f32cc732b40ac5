// Attached LUNs live in the daemon beside their sessions (design.md §4, §5): attach (logging the node in first
// when needed), list, detach by id, device, mount point or target and LUN. An attachment pins its session:
// logout refuses it until it is detached. When a node logs in anew after its session failed or closed, its
// attachments move to the new session if it serves the same LU. The attach layer (and its C library) is loaded
// only when first used.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ConsolaInstance } from "consola";
import type { Attachment, AttachBackend, AttachState } from "../attach/attachment.ts";
import type { NfsAttachment, NfsExportView } from "../attach/nfs/attachment.ts";
import type { NfsCounters } from "../attach/nfs/export.ts";
import type { NfsServer } from "../attach/nfs/server.ts";
import type { AttachStats } from "../attach/serve.ts";
import { IscsiError } from "../errors.ts";
import type { Session } from "../session/session.ts";
import { matches, type NodeFilter, type Portal } from "./node-db.ts";
import { GONE, type SessionEntry } from "./registry.ts";
import { describeFilter, loginOnce } from "./session-ops.ts";
import type { DaemonState } from "./state.ts";

export interface AttachmentView {
  id: number;
  target: string;
  portal: Portal;
  lun: number;
  sid: number;
  backend: AttachBackend;
  state: AttachState;
  file: string;
  device?: string;
  mountPoint?: string;
  readOnly: boolean;
  sizeBytes: string;
  blockSize: number;
  since: string;
  stats: AttachStats;
  /** `--via nfs`: the export and what its clients asked. */
  export?: NfsExportView;
  nfs?: NfsCounters;
}

/** How a LUN becomes local: a device over FUSE (Linux: loop; macOS: DiskImages), or the loopback NFS server. */
export type AttachRoute = "fuse" | "nfs";

export interface Attached {
  attachment: Attachment | NfsAttachment;
  /** The session it uses; replaced when a rebind moves it to a new login of the same node. */
  entry: SessionEntry;
}

/** How long a daemon stop waits for an orderly detach before it forces one. */
const STOP_DETACH_MS = 30_000;

export class Attachments {
  private readonly byId = new Map<number, Attached>();
  private nfs: NfsServer | undefined;

  /** The daemon's NFS server, started on first use on 127.0.0.1:`port` (0: a free port). */
  async nfsServer(port: number, log: ConsolaInstance): Promise<NfsServer> {
    if (this.nfs) return this.nfs;
    const { NfsServer } = await import("../attach/nfs/server.ts");
    this.nfs ??= NfsServer.listen(port, log);
    log.info(`NFS server listening on 127.0.0.1:${this.nfs.port}`);
    return this.nfs;
  }

  /** After every attachment is gone (daemon stop). */
  stopNfs(): void {
    this.nfs?.stop();
    this.nfs = undefined;
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
        await x.attachment.rebind(entry.session as Session);
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
    readOnly: a.readOnly,
    sizeBytes: String(a.geometry.sizeBytes),
    blockSize: a.geometry.blockSize,
    since: a.since.toISOString(),
    stats: a.stats,
    ...("nfsExport" in a ? { export: a.exportView, nfs: a.counters } : {}),
  };
}

/** The session of the node named by target (and portal): an existing one, or a login through the node record. */
async function sessionFor(d: DaemonState, target: string, portal?: NodeFilter["portal"]): Promise<SessionEntry> {
  const filter: NodeFilter = { target, portal };
  const live = d.registry.list().filter((e) => matches(e, filter) && d.registry.active(e.key));
  if (live.length > 1) throw new IscsiError("INVALID_ARGUMENT", `${live.length} sessions match${describeFilter(filter)}; name the portal (--portal HOST:PORT)`);
  if (live.length === 1) return live[0]!;
  const records = d.nodes.list(filter);
  if (records.length === 0) {
    throw new IscsiError("NOT_FOUND", `no node record${describeFilter(filter)}; run discovery first (iscsi -m discovery -t st -p PORTAL)`);
  }
  if (records.length > 1) throw new IscsiError("INVALID_ARGUMENT", `${records.length} node records match${describeFilter(filter)}; name the portal (--portal HOST:PORT)`);
  return loginOnce(d, records[0]!);
}

export interface AttachRequest {
  target: string;
  portal?: NodeFilter["portal"];
  lun: number;
  mount?: string;
  readOnly?: boolean;
  via?: AttachRoute;
}

export async function attachLun(d: DaemonState, req: AttachRequest): Promise<AttachmentView> {
  // macOS: the NFS route needs nothing installed, so it is the default; --via fuse keeps macFUSE selectable.
  const via = req.via ?? (process.platform === "darwin" ? "nfs" : "fuse");
  if (via === "nfs" && req.mount) {
    if (process.platform === "darwin") throw new IscsiError("NOT_SUPPORTED", "--mount is not supported on macOS yet: attach, then mount the disk with diskutil");
    throw new IscsiError("INVALID_ARGUMENT", "--mount needs a block device: on Linux the NFS route only serves the export (mount it with your NFS client)");
  }
  const entry = await sessionFor(d, req.target, req.portal);
  const same = d.attachments.ofSession(entry.sid).find((x) => x.attachment.lun === req.lun);
  if (same) throw new IscsiError("BUSY", `LUN ${req.lun} of ${entry.target} is already attached as ${same.attachment.device ?? same.attachment.file} (attachment ${same.attachment.id})`);
  if (req.mount && d.attachments.list().some((x) => x.attachment.mountPoint === req.mount)) {
    throw new IscsiError("BUSY", `another attachment is mounted on ${req.mount}`);
  }
  // FUSE mount dirs (and on macOS the NFS mounts) live in the daemon's private state dir, one per attachment.
  const runDir = join(d.stateDir, "attach");
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  if (via === "nfs") {
    const { NfsAttachment } = await import("../attach/nfs/attachment.ts");
    const server = () => d.attachments.nfsServer(d.config.nfs.port, d.log);
    const x = { attachment: await NfsAttachment.attach(entry.session as Session, req.lun, server, { readOnly: req.readOnly, runDir, log: d.log }), entry };
    d.attachments.add(x);
    return attachmentView(x);
  }
  const { Attachment } = await import("../attach/attachment.ts");
  const attachment = await Attachment.attach(entry.session as Session, req.lun, { mountDir: req.mount, readOnly: req.readOnly, runDir, log: d.log });
  const x = { attachment, entry };
  d.attachments.add(x);
  return attachmentView(x);
}

export interface DetachRequest {
  id?: number;
  device?: string;
  mount?: string;
  target?: string;
  lun?: number;
  force?: boolean;
}

export async function detachLuns(d: DaemonState, req: DetachRequest): Promise<AttachmentView[]> {
  if (req.id === undefined && !req.device && !req.mount && !req.target) throw new IscsiError("INVALID_ARGUMENT", "name the attachment: id, device, mount point, or target and LUN");
  const picked = d.attachments.list().filter(({ attachment: a, entry }) =>
    (req.id === undefined || a.id === req.id) &&
    (req.device === undefined || a.device === req.device) &&
    (req.mount === undefined || a.mountPoint === req.mount) &&
    (req.target === undefined || entry.target === req.target) &&
    (req.lun === undefined || a.lun === req.lun),
  );
  if (picked.length === 0) throw new IscsiError("NOT_FOUND", `no attachment matches ${describeDetach(req)}`);
  const detached: AttachmentView[] = [];
  for (const x of picked) {
    // Shown as it was (device, mount point) with its final state and counters.
    const before = attachmentView(x);
    await x.attachment.detach({ force: req.force ?? false });
    d.attachments.remove(x);
    detached.push({ ...before, state: x.attachment.state, stats: x.attachment.stats });
  }
  return detached;
}

export function listAttachments(d: DaemonState): AttachmentView[] {
  return d.attachments.list().map(attachmentView);
}

/** At daemon stop: an orderly detach where the session is up, forced after STOP_DETACH_MS or on error. Never throws. */
export async function detachAll(d: DaemonState): Promise<void> {
  for (const x of d.attachments.list()) {
    const a = x.attachment;
    let done = false;
    if (a.state === "attached") {
      done = await Promise.race([a.detach().then(() => true), Bun.sleep(STOP_DETACH_MS).then(() => false)]).catch((err) => {
        d.log.warn(`attachment ${a.id}: ${(err as Error).message}; forcing the detach`);
        return false;
      });
    }
    if (!done) await a.detach({ force: true }).catch((err) => d.log.error(`attachment ${a.id}: forced detach failed: ${(err as Error).message}`));
    d.attachments.remove(x);
  }
  d.attachments.stopNfs();
}

function describeDetach(r: DetachRequest): string {
  const parts = [
    r.id !== undefined ? `id ${r.id}` : "",
    r.device ? `device ${r.device}` : "",
    r.mount ? `mount point ${r.mount}` : "",
    r.target ? `target ${r.target}` : "",
    r.lun !== undefined ? `LUN ${r.lun}` : "",
  ].filter(Boolean);
  return parts.join(", ");
}
