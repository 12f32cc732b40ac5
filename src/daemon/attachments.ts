// Attached LUNs live in the daemon beside their sessions: listed, and detached by id, device,
// mount point or target and LUN (attaching is attach-ops.ts). Each is also a record in the state directory
// (attachment-db.ts), removed by a detach and kept by a daemon stop, so the next start brings it back
// (attach-restore.ts); records not restored yet are listed and can be detached too. An attachment pins its
// session: logout refuses it until it is detached.
import type { AttachStats } from "../attach/serve.ts";
import type { AttachBackend, AttachmentView } from "../contract/views.ts";
import { IscsiError } from "../contract/errors.ts";
import type { AttachmentRecord } from "./attachment-db.ts";
import { attachmentView } from "./attachment-table.ts";
import type { DaemonState } from "./state.ts";

/** How long a daemon stop waits for an orderly detach before it forces one. */
const STOP_DETACH_MS = 30_000;

export interface DetachRequest {
  id?: number;
  device?: string;
  mount?: string;
  target?: string;
  lun?: number;
  force?: boolean;
}

export async function detachLuns(d: DaemonState, req: DetachRequest): Promise<AttachmentView[]> {
  if (req.id === undefined && !req.device && !req.mount && !req.target)
    throw new IscsiError("INVALID_ARGUMENT", "name the attachment: id, device, mount point, or target and LUN");
  const wanted = (v: AttachmentView) =>
    (req.id === undefined || v.id === req.id) &&
    (req.device === undefined || v.device === req.device) &&
    (req.mount === undefined || v.mountPoint === req.mount) &&
    (req.target === undefined || v.target === req.target) &&
    (req.lun === undefined || v.lun === req.lun);
  const picked = d.attachments.list().filter((x) => wanted(attachmentView(x)));
  const waiting = unrestored(d).filter((r) => wanted(recordView(d, r)));
  if (picked.length + waiting.length === 0)
    throw new IscsiError("NOT_FOUND", `no attachment matches ${describeDetach(req)}`);
  const busy = waiting.find((r) => d.attachments.restoring(r.id));
  if (busy) throw new IscsiError("BUSY", `attachment ${busy.id} is being restored right now; try again in a moment`);
  const detached: AttachmentView[] = [];
  for (const x of picked) {
    // Shown as it was (device, mount point) with its final state and counters.
    const before = attachmentView(x);
    await x.attachment.detach({ force: req.force ?? false });
    d.attachments.remove(x);
    d.attachments.db.delete(x.attachment.id);
    detached.push({ ...before, state: x.attachment.state, stats: x.attachment.stats });
  }
  // Not restored yet: nothing local exists; the restore stops and the record goes.
  for (const r of waiting) {
    d.restores.cancel(restoreKey(r.id));
    d.attachments.db.delete(r.id);
    detached.push(recordView(d, r));
  }
  return detached;
}

/** Live attachments, then recorded ones not (yet) restored, each once. */
export function listAttachments(d: DaemonState): AttachmentView[] {
  return [...d.attachments.list().map(attachmentView), ...unrestored(d).map((r) => recordView(d, r))].sort(
    (a, b) => a.id - b.id,
  );
}

const RESTORE_PREFIX = "attachment:";
/** The key of a record's restore loop, and back. */
export const restoreKey = (id: number) => `${RESTORE_PREFIX}${id}`;
export const restoreId = (key: string) => Number(key.slice(RESTORE_PREFIX.length));

function unrestored(d: DaemonState): AttachmentRecord[] {
  const live = new Set(d.attachments.list().map((x) => x.attachment.id));
  return d.attachments.db.list().filter((r) => !live.has(r.id));
}

const NO_STATS: AttachStats = { reads: 0, writes: 0, flushes: 0, trims: 0, bytesRead: 0, bytesWritten: 0, errors: 0 };

/** A record waiting for its restore: no session (sid 0), no file or device yet; "failed" once its restore gave up. */
function recordView(d: DaemonState, r: AttachmentRecord): AttachmentView {
  const loop = d.restores.pending().find((p) => p.key === restoreKey(r.id));
  return {
    id: r.id,
    target: r.target,
    portal: { ...r.portal },
    lun: r.lun,
    sid: 0,
    mpath: "",
    backend: r.route as AttachBackend,
    state: loop?.state === "gave-up" ? "failed" : "restoring",
    file: "",
    ...(r.mountPoint ? { mountPoint: r.mountPoint } : {}),
    readOnly: r.readOnly,
    sizeBytes: "0",
    blockSize: 0,
    since: r.created,
    stats: { ...NO_STATS },
  };
}

/**
 * At daemon stop: an orderly detach where the session is up, forced after STOP_DETACH_MS or on error. The records
 * stay, so the next start (after a service restart or a reboot) brings them back. Never throws.
 */
export async function detachAll(d: DaemonState): Promise<void> {
  for (const x of d.attachments.list()) {
    const a = x.attachment;
    let done = false;
    if (a.state === "attached") {
      done = await Promise.race([a.detach().then(() => true), Bun.sleep(STOP_DETACH_MS).then(() => false)]).catch(
        (err) => {
          d.log.warn(`attachment ${a.id}: ${(err as Error).message}; forcing the detach`);
          return false;
        },
      );
    }
    if (!done)
      await a
        .detach({ force: true })
        .catch((err) => d.log.error(`attachment ${a.id}: forced detach failed: ${(err as Error).message}`));
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
