// Attached LUNs live in the daemon beside their sessions (design.md §4, §5): attach (logging every portal of
// the target in first when needed), list, detach by id, device, mount point or target and LUN. An attachment
// sits on the LU's multipath device (docs/multipath.md), never on one session: it pins the device's last
// live path (logout refuses it until it is detached). A new login of the same LU becomes a path of the device,
// so the attachment is served again; a different LU at the same LUN never is. The attach layer (and its C
// library) is loaded only when first used.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { IscsiError, type ErrorCode } from "../contract/errors.ts";
import type { AttachmentView } from "../contract/views.ts";
import type { MultipathDevice } from "../multipath/device.ts";
import { attachmentView } from "./attachment-table.ts";
import type { NodeFilter } from "./node-db.ts";
import { describeFilter, loginNodes } from "./session-ops.ts";
import type { DaemonState } from "./state.ts";

/** How long a daemon stop waits for an orderly detach before it forces one. */
const STOP_DETACH_MS = 30_000;

/** The multipath device of LUN `lun` of the target: an existing one, or after logging in every portal of the target. */
async function deviceFor(d: DaemonState, target: string, lun: number, portal?: NodeFilter["portal"]): Promise<MultipathDevice> {
  const filter: NodeFilter = { target, portal };
  const live = () => d.multipath.find(filter, lun).filter((x) => x.state.kind !== "failed");
  if (live().length === 0) {
    if (d.nodes.list(filter).length === 0) throw new IscsiError("NOT_FOUND", `no node record${describeFilter(filter)}; run discovery first (iscsi -m discovery -t st -p PORTAL)`);
    const results = await loginNodes(d, filter);
    const failed = results.find((r) => !r.ok);
    if (!results.some((r) => r.ok) && failed?.error) throw new IscsiError(failed.error.code as ErrorCode, failed.error.message);
  }
  const found = live();
  if (found.length > 1) throw new IscsiError("INVALID_ARGUMENT", `LUN ${lun}${describeFilter(filter)} is ${found.length} different logical units (${found.map((x) => x.name).join(", ")}); name the portal (--portal HOST:PORT)`);
  if (found.length === 0) throw new IscsiError("NOT_FOUND", `no disk at LUN ${lun}${describeFilter(filter)}`);
  return found[0]!;
}

export interface AttachRequest {
  target: string;
  portal?: NodeFilter["portal"];
  lun: number;
  mount?: string;
  readOnly?: boolean;
}

export async function attachLun(d: DaemonState, req: AttachRequest): Promise<AttachmentView> {
  const device = await deviceFor(d, req.target, req.lun, req.portal);
  const same = d.attachments.onDevice(device)[0];
  if (same) throw new IscsiError("BUSY", `LUN ${req.lun} of ${req.target} is already attached as ${same.attachment.device ?? same.attachment.file} (attachment ${same.attachment.id})`);
  if (req.mount && d.attachments.list().some((x) => x.attachment.mountPoint === req.mount)) {
    throw new IscsiError("BUSY", `another attachment is mounted on ${req.mount}`);
  }
  const { Attachment } = await import("../attach/attachment.ts");
  // FUSE mount dirs live in the daemon's private state dir, one per attachment, removed at detach.
  const runDir = join(d.stateDir, "attach");
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const attachment = await Attachment.attach(device, req.lun, { mountDir: req.mount, readOnly: req.readOnly, runDir, log: d.log });
  const x = { attachment, device };
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
  const picked = d.attachments.list().filter(({ attachment: a, device }) =>
    (req.id === undefined || a.id === req.id) &&
    (req.device === undefined || a.device === req.device) &&
    (req.mount === undefined || a.mountPoint === req.mount) &&
    (req.target === undefined || device.paths.some((p) => p.meta.target === req.target)) &&
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
