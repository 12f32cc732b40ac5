// Attaching a LUN through the daemon: the LU's multipath device (an existing one, or every portal of the target
// logged in), the one-LU-once claim, the attach itself, and its record. A failed attach undoes what it did: the
// attach layer rolls back its own steps (FUSE file, loop device, mount) and the sessions this attach logged in are
// logged out again.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { IscsiError } from "../contract/errors.ts";
import type { AttachmentView } from "../contract/views.ts";
import { attachmentView, type Attached } from "./attachment-table.ts";
import { bootId } from "./boot-id.ts";
import type { MultipathDevice } from "../multipath/device.ts";
import { matches, nodeKey, type NodeFilter } from "./node-db.ts";
import type { SessionEntry } from "./registry.ts";
import { describeFilter, loginOnce } from "./session-ops.ts";
import type { DaemonState } from "./state.ts";

/**
 * The multipath device of LUN `lun` of the target (docs/multipath.md): an existing one, or one made by logging in
 * every portal of the target (`loggedIn`: those sessions, to undo if the attach fails).
 */
export async function deviceFor(
  d: DaemonState,
  target: string,
  lun: number,
  portal?: NodeFilter["portal"],
): Promise<{ device: MultipathDevice; loggedIn: SessionEntry[] }> {
  const filter: NodeFilter = { target, portal };
  const live = () => d.multipath.find(filter, lun).filter((x) => x.state.kind !== "failed");
  const loggedIn: SessionEntry[] = [];
  if (live().length === 0) {
    const records = d.nodes.list(filter).filter((r) => !d.registry.active(nodeKey(r.target, r.portal)));
    if (d.nodes.list(filter).length === 0)
      throw new IscsiError(
        "NOT_FOUND",
        `no node record${describeFilter(filter)}; run discovery first (iscsi -m discovery -t st -p PORTAL)`,
      );
    const errors: unknown[] = [];
    await Promise.all(
      records.map((r) =>
        loginOnce(d, r).then(
          (e) => loggedIn.push(e),
          (err) => errors.push(err),
        ),
      ),
    );
    if (loggedIn.length === 0 && errors.length > 0) throw errors[0];
  }
  const found = live();
  const undo = () => logOutAgain(d, loggedIn);
  if (found.length > 1) {
    await undo();
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `LUN ${lun}${describeFilter(filter)} is ${found.length} different logical units (${found.map((x) => x.name).join(", ")}); name the portal (--portal HOST:PORT)`,
    );
  }
  if (found.length === 0) {
    const known = d.registry
      .list()
      .filter((e) => matches(e, filter))
      .flatMap((e) => e.luns.map((l) => l.lun));
    await undo();
    throw new IscsiError(
      "NOT_FOUND",
      `${target} has no LUN ${lun}${known.length ? `; it has LUN ${[...new Set(known)].sort((a, b) => a - b).join(", ")} (iscsi luns ${target})` : ""}`,
    );
  }
  return { device: found[0]!, loggedIn };
}

/** Log out the sessions an attach logged in, when nothing is attached over them. */
async function logOutAgain(d: DaemonState, entries: SessionEntry[]): Promise<void> {
  for (const e of entries) {
    if (d.attachments.pinning(e.sid).length > 0) continue;
    await d.registry.logout(e, 5_000).catch(() => {});
    d.multipath.leave(e, (x) => d.attachments.onDevice(x).length > 0);
    d.log.info(`session ${e.sid}: logged out of ${e.target} again, the attach failed`);
  }
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
    if (process.platform === "darwin")
      throw new IscsiError(
        "NOT_SUPPORTED",
        "--mount is not supported on macOS yet: attach, then mount the disk with diskutil",
      );
    throw new IscsiError(
      "INVALID_ARGUMENT",
      "--mount needs a block device: on Linux the NFS route only serves the export (mount it with your NFS client)",
    );
  }
  const claim = d.attachments.claim(req.target, req.lun);
  try {
    if (
      req.mount &&
      (d.attachments.list().some((x) => x.attachment.mountPoint === req.mount) ||
        d.attachments.db.list().some((r) => r.mountPoint === req.mount))
    ) {
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
export async function attachThrough(
  d: DaemonState,
  req: AttachRequest & { id: number; identity?: string; created?: string },
  opts: { undoLogin: boolean },
): Promise<Attached> {
  const { device, loggedIn } = await deviceFor(d, req.target, req.lun, req.portal);
  try {
    // FUSE mount dirs (and on macOS the NFS mounts) live in the daemon's private state dir, one per attachment.
    const runDir = join(d.stateDir, "attach");
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    const opts = { id: req.id, identity: req.identity, readOnly: req.readOnly, runDir, log: d.log };
    const attachment =
      routeOf(req) === "nfs"
        ? await (await import("../attach/nfs/attachment.ts")).NfsAttachment.attach(
            device,
            req.lun,
            () => d.attachments.nfsServer(d.config.nfs.port, d.log),
            opts,
          )
        : await (await import("../attach/attachment.ts")).Attachment.attach(device, req.lun, {
            ...opts,
            mountDir: req.mount,
          });
    const x = { attachment, device };
    const path = device.activePath ?? device.upPaths()[0] ?? device.paths[0]!;
    try {
      d.attachments.db.save({
        version: 1,
        id: attachment.id,
        route: attachment.backend,
        target: path.meta.target,
        portal: { ...path.meta.portal },
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
    if (opts.undoLogin) await logOutAgain(d, loggedIn);
    throw err;
  }
}
