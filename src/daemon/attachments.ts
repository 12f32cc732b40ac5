// Attached LUNs live in the daemon beside their sessions (design.md §4, §5): attach (logging the node in first
// when needed), list, detach by id, device, mount point or target and LUN. Each is also a record in the state
// directory (attachment-db.ts), written once it works and removed by a detach, so a restarted daemon brings it
// back (attach-restore.ts); one LU is attached once. A failed attach undoes what it did, its login included.
// An attachment pins its session: logout refuses it until it is detached. When a node logs in anew after its
// session failed or closed, its attachments move to the new session if it serves the same LU. The attach layer
// (and its C library) is loaded only when first used.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ConsolaInstance } from "consola";
import type { Attachment, AttachBackend, AttachState } from "../attach/attachment.ts";
import type { AttachStats } from "../attach/serve.ts";
import { IscsiError } from "../errors.ts";
import type { Session } from "../session/session.ts";
import { matches, type NodeFilter, type Portal } from "./node-db.ts";
import { GONE, type SessionEntry } from "./registry.ts";
import { describeFilter, loginOnce } from "./session-ops.ts";
import type { AttachmentDb, AttachmentRecord } from "./attachment-db.ts";
import { bootId } from "./boot-id.ts";
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
}

export interface Attached {
  attachment: Attachment;
  /** The session it uses; replaced when a rebind moves it to a new login of the same node. */
  entry: SessionEntry;
}

/** How long a daemon stop waits for an orderly detach before it forces one. */
const STOP_DETACH_MS = 30_000;

export class Attachments {
  private readonly byId = new Map<number, Attached>();
  /** LUs ("target|lun") with an attach or restore under way, so a second one is refused before either finishes. */
  private readonly claimed = new Map<string, number>();

  constructor(readonly db: AttachmentDb) {}

  /**
   * Reserves an attachment id for the LU, or refuses (EXISTS) when the LU is attached, recorded or being attached.
   * `id`: a restore's own record id, which it may reuse.
   */
  /** Is a restore (or attach) of attachment `id` running at this moment? */
  restoring(id: number): boolean {
    return [...this.claimed.values()].includes(id);
  }

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
  };
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
  const wanted = (v: AttachmentView) =>
    (req.id === undefined || v.id === req.id) &&
    (req.device === undefined || v.device === req.device) &&
    (req.mount === undefined || v.mountPoint === req.mount) &&
    (req.target === undefined || v.target === req.target) &&
    (req.lun === undefined || v.lun === req.lun);
  const picked = d.attachments.list().filter((x) => wanted(attachmentView(x)));
  const waiting = unrestored(d).filter((r) => wanted(recordView(d, r)));
  if (picked.length + waiting.length === 0) throw new IscsiError("NOT_FOUND", `no attachment matches ${describeDetach(req)}`);
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
  return [...d.attachments.list().map(attachmentView), ...unrestored(d).map((r) => recordView(d, r))].sort((a, b) => a.id - b.id);
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
      done = await Promise.race([a.detach().then(() => true), Bun.sleep(STOP_DETACH_MS).then(() => false)]).catch((err) => {
        d.log.warn(`attachment ${a.id}: ${(err as Error).message}; forcing the detach`);
        return false;
      });
    }
    if (!done) await a.detach({ force: true }).catch((err) => d.log.error(`attachment ${a.id}: forced detach failed: ${(err as Error).message}`));
    d.attachments.remove(x);
  }
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
