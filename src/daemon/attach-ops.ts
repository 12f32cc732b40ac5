// Attaching a LUN through the daemon: the node's session (an existing one, or a login through its record), the
// one-LU-once claim, the attach itself, and its record. A failed attach undoes what it did: the attach layer rolls
// back its own steps (FUSE file, loop device, mount) and the session is logged out again if this attach logged it in.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { IscsiError } from "../contract/errors.ts";
import type { AttachmentView } from "../contract/views.ts";
import { attachmentView, type Attached } from "./attachment-table.ts";
import { bootId } from "./boot-id.ts";
import { sessionOf } from "./engine.ts";
import { matches, type NodeFilter } from "./node-db.ts";
import type { SessionEntry } from "./registry.ts";
import { describeFilter, loginOnce } from "./session-ops.ts";
import type { DaemonState } from "./state.ts";

/**
 * The session of the node named by target (and portal): an existing one, or a login through the node record
 * (`loggedIn`: undo it if the attach fails).
 */
export async function sessionFor(d: DaemonState, target: string, portal?: NodeFilter["portal"]): Promise<{ entry: SessionEntry; loggedIn: boolean }> {
  const filter: NodeFilter = { target, portal };
  const live = d.registry.list().filter((e) => matches(e, filter) && d.registry.active(e.key));
  if (live.length > 1) throw new IscsiError("INVALID_ARGUMENT", `${live.length} sessions match${describeFilter(filter)}; name the portal (--portal HOST:PORT)`);
  if (live.length === 1) return { entry: live[0]!, loggedIn: false };
  const records = d.nodes.list(filter);
  if (records.length === 0) {
    throw new IscsiError("NOT_FOUND", `no node record${describeFilter(filter)}; run discovery first (iscsi -m discovery -t st -p PORTAL)`);
  }
  if (records.length > 1) throw new IscsiError("INVALID_ARGUMENT", `${records.length} node records match${describeFilter(filter)}; name the portal (--portal HOST:PORT)`);
  return { entry: await loginOnce(d, records[0]!), loggedIn: true };
}

export interface AttachRequest {
  target: string;
  portal?: NodeFilter["portal"];
  lun: number;
  mount?: string;
  readOnly?: boolean;
  /** How the LU becomes local: a device over FUSE, or the daemon's loopback NFS server (the default on macOS). */
  via?: "fuse" | "nfs";
}

/** The route of a request: NFS where asked, and by default on macOS, where it needs nothing installed. */
export function routeOf(req: AttachRequest): "fuse" | "nfs" {
  return req.via ?? (process.platform === "darwin" ? "nfs" : "fuse");
}

export async function attachLun(d: DaemonState, req: AttachRequest): Promise<AttachmentView> {
  if (routeOf(req) === "nfs" && req.mount) {
    if (process.platform === "darwin") throw new IscsiError("NOT_SUPPORTED", "--mount is not supported on macOS yet: attach, then mount the disk with diskutil");
    throw new IscsiError("INVALID_ARGUMENT", "--mount needs a block device: on Linux the NFS route only serves the export (mount it with your NFS client)");
  }
  const claim = d.attachments.claim(req.target, req.lun);
  try {
    if (req.mount && (d.attachments.list().some((x) => x.attachment.mountPoint === req.mount) || d.attachments.db.list().some((r) => r.mountPoint === req.mount))) {
      throw new IscsiError("EXISTS", `another attachment is mounted on ${req.mount}`);
    }
    const x = await attachThrough(d, { ...req, id: claim.id }, { undoLogin: true });
    return attachmentView(x);
  } finally {
    claim.release();
  }
}

/**
 * Logs in if needed, attaches, records it. On failure undoes what it did: the backend rolls back its own steps
 * (FUSE file, loop device, mount) and the session is logged out again if this call logged it in and `undoLogin`.
 */
export async function attachThrough(d: DaemonState, req: AttachRequest & { id: number; identity?: string; created?: string }, opts: { undoLogin: boolean }): Promise<Attached> {
  const { entry, loggedIn } = await sessionFor(d, req.target, req.portal);
  try {
    const known = entry.luns.map((l) => l.lun);
    if (known.length > 0 && !known.includes(req.lun)) {
      throw new IscsiError("NOT_FOUND", `${entry.target} has no LUN ${req.lun}; it has LUN ${known.join(", ")} (iscsi luns ${entry.target})`);
    }
    // FUSE mount dirs (and on macOS the NFS mounts) live in the daemon's private state dir, one per attachment.
    const runDir = join(d.stateDir, "attach");
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    const attachment = routeOf(req) === "nfs" ? await attachNfs(d, entry, req, runDir) : await attachFuse(d, entry, req, runDir);
    const x = { attachment, entry };
    try {
      d.attachments.db.save({
        version: 1,
        id: attachment.id,
        route: attachment.backend,
        target: entry.target,
        portal: { ...entry.portal },
        lun: req.lun,
        ...(req.mount ? { mountPoint: req.mount } : {}),
        readOnly: req.readOnly ?? false,
        ...(attachment.identity ? { identity: attachment.identity } : {}),
        file: attachment.file,
        ...(attachment.device ? { device: attachment.device } : {}),
        ...(bootId() ? { bootId: bootId() } : {}),
        created: req.created ?? new Date().toISOString(),
      });
    } catch (err) {
      await attachment.detach({ force: true }).catch(() => {});
      throw err;
    }
    d.attachments.add(x);
    return x;
  } catch (err) {
    if (loggedIn && opts.undoLogin && d.attachments.ofSession(entry.sid).length === 0) {
      await d.registry.logout(entry, 5_000).catch(() => {});
      d.log.info(`session ${entry.sid}: logged out of ${entry.target} again, the attach failed`);
    }
    throw err;
  }
}

type Claimed = AttachRequest & { id: number; identity?: string };

async function attachFuse(d: DaemonState, entry: SessionEntry, req: Claimed, runDir: string) {
  const { Attachment } = await import("../attach/attachment.ts");
  return Attachment.attach(sessionOf(entry.session), req.lun, { id: req.id, identity: req.identity, mountDir: req.mount, readOnly: req.readOnly, runDir, log: d.log });
}

async function attachNfs(d: DaemonState, entry: SessionEntry, req: Claimed, runDir: string) {
  const { NfsAttachment } = await import("../attach/nfs/attachment.ts");
  const server = () => d.attachments.nfsServer(d.config.nfs.port, d.log);
  return NfsAttachment.attach(sessionOf(entry.session), req.lun, server, { id: req.id, identity: req.identity, readOnly: req.readOnly, runDir, log: d.log });
}
