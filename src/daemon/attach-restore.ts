// A daemon start after a crash, a kill or a reboot: first remove what a killed daemon left (dead FUSE mounts,
// loop devices on them, mounts of those), then bring every recorded attachment back in the background, each in
// its own retry loop like the logins of automatic nodes: log in, attach the same LU, mount it at the same place.
// After a reboot only attachments of automatic nodes come back; the others' records are dropped (as their nodes'
// sessions are not logged in at boot either).
import { join } from "node:path";
import { isMountPoint } from "../attach/loop.ts";
import { errorCodeOf, IscsiError } from "../contract/errors.ts";
import type { AttachmentRecord } from "./attachment-db.ts";
import { attachThrough } from "./attach-ops.ts";
import { restoreId, restoreKey } from "./attachments.ts";
import { bootId } from "./boot-id.ts";
import { nodeKey } from "./node-db.ts";
import type { StartupLogins } from "./startup.ts";
import type { DaemonState } from "./state.ts";

/**
 * Linux: unmounts, detaches and removes what a killed daemon left under <state dir>/attach. macOS: force-unmounts
 * the NFS mounts of our exports a killed daemon left (hard mounts of a server that is gone hang whoever touches
 * them). Never throws.
 */
export async function cleanAttachLeftovers(d: DaemonState): Promise<void> {
  if (process.platform === "darwin") {
    const { unmountStale } = await import("../attach/macos/nfs-mount.ts");
    const removed = await unmountStale((m) => d.log.warn(m)).catch(
      (err: Error) => (d.log.error(`looking for stale NFS mounts failed: ${err.message}`), []),
    );
    for (const dir of removed) d.log.warn(`unmounted the stale NFS mount ${dir} a killed daemon left`);
    return;
  }
  if (process.platform !== "linux") return;
  const { cleanLeftovers } = await import("../attach/leftovers.ts");
  try {
    const { removed, problems } = await cleanLeftovers(join(d.stateDir, "attach"));
    for (const r of removed) d.log.warn(`removed what a killed daemon left: ${r}`);
    for (const p of problems) d.log.error(`could not remove what a killed daemon left: ${p}`);
  } catch (err) {
    d.log.error(`looking for what a killed daemon left failed: ${(err as Error).message}`);
  }
}

const describe = (r: AttachmentRecord) =>
  `attachment ${r.id} (LUN ${r.lun} of ${r.target} at ${r.portal.host}:${r.portal.port}${r.mountPoint ? ` on ${r.mountPoint}` : ""})`;

/** Starts one background restore per record (returns at once); `loops` retries each as startup logins are. */
export function restoreAttachments(d: DaemonState, loops: StartupLogins): void {
  const boot = bootId();
  const wanted: Array<{ key: string; label: string }> = [];
  for (const r of d.attachments.db.list()) {
    const node = d.nodes.get(nodeKey(r.target, r.portal));
    const rebooted = r.bootId !== undefined && boot !== undefined && r.bootId !== boot;
    if (rebooted && node?.settings["node.startup"] === "manual") {
      d.log.info(
        `${describe(r)} is not restored after a reboot: its node is manual (node.startup = automatic brings it back); record removed`,
      );
      d.attachments.db.delete(r.id);
      continue;
    }
    wanted.push({ key: restoreKey(r.id), label: describe(r) });
  }
  if (wanted.length > 0) d.log.info(`restoring ${wanted.length} attachment(s) in the background`);
  loops.start(wanted);
}

/** One restore attempt of the record behind `key` (what the retry loop calls). */
export async function restoreAttempt(d: DaemonState, key: string): Promise<void> {
  const r = d.attachments.db.get(restoreId(key));
  if (!r) throw new IscsiError("NOT_FOUND", "the attachment was detached meanwhile");
  if (d.attachments.list().some((x) => x.attachment.id === r.id)) return;
  if (r.mountPoint && isMountPoint(r.mountPoint))
    throw new IscsiError("BUSY", `${r.mountPoint} is still a mount point; unmount it to let the attachment come back`);
  const claim = d.attachments.claim(r.target, r.lun, r.id);
  try {
    const manual = d.nodes.get(nodeKey(r.target, r.portal))?.settings["node.startup"] === "manual";
    const req = {
      target: r.target,
      portal: r.portal,
      lun: r.lun,
      mount: r.mountPoint,
      readOnly: r.readOnly,
      id: r.id,
      identity: r.identity,
      created: r.created,
      via: r.route === "nfs" ? ("nfs" as const) : ("fuse" as const),
    };
    const { attachment } = await attachThrough(d, req, { undoLogin: manual });
    d.log.info(`${describe(r)} restored as ${attachment.device ?? attachment.file}`);
  } catch (err) {
    // Another login of the node won a race with ours: not final, the next attempt finds its session.
    if (errorCodeOf(err) === "SESSION_EXISTS") throw new IscsiError("BUSY", (err as Error).message, { cause: err });
    throw err;
  } finally {
    claim.release();
  }
}
