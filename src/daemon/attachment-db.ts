// Attachments as persistent records (one JSON file each under <state dir>/attachments, written atomically):
// what the user asked for (target, portal, LUN, mount point, read-only, route) and what the daemon made of it
// (FUSE dir, device, LU identity, boot), so a restarted daemon can clean up after a killed one and restore it.
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { ConsolaInstance } from "consola";
import * as v from "valibot";
import { ensurePrivateDir, writeFileAtomic } from "../config/atomic.ts";
import { iscsiNameProblem } from "../pdu/iscsi-name.ts";
import { readRecords, type DamagedFile } from "../config/record-files.ts";

const absolute = v.pipe(v.string(), v.startsWith("/"), v.maxLength(4096));

const recordSchema = v.object({
  version: v.literal(1),
  id: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /** How the LU reaches the kernel: "fuse-loop", "fuse-hdiutil", … (other routes add their own names). */
  route: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,31}$/)),
  target: v.pipe(
    v.string(),
    v.check((s) => iscsiNameProblem(s) === undefined, "not a valid iSCSI name"),
  ),
  portal: v.object({ host: v.string(), port: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)) }),
  lun: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(16383)),
  mountPoint: v.optional(absolute),
  readOnly: v.boolean(),
  /** The LU identity seen at attach; a restore refuses a LUN that no longer has it. */
  identity: v.optional(v.string()),
  /** Left by the last run (its FUSE file and block device), for the clean-up after a killed daemon. */
  file: v.optional(absolute),
  device: v.optional(absolute),
  /** The boot it was made in: after a reboot only attachments of automatic nodes come back. */
  bootId: v.optional(v.string()),
  created: v.string(),
});

export type AttachmentRecord = v.InferOutput<typeof recordSchema>;

export class AttachmentDb {
  private readonly records = new Map<number, AttachmentRecord>();
  readonly dir: string;

  constructor(
    stateDir: string,
    private readonly log: ConsolaInstance,
  ) {
    this.dir = join(stateDir, "attachments");
  }

  /** Reads every record; a damaged one is set aside (renamed, kept) and reported, never dropped silently. */
  load(opts: { setAside?: boolean } = {}): DamagedFile[] {
    ensurePrivateDir(this.dir);
    this.records.clear();
    return readRecords(
      this.dir,
      recordSchema,
      (r, name) => {
        if (name !== `${r.id}.json`) throw new Error(`holds attachment ${r.id}, not what its name says`);
        this.records.set(r.id, r);
      },
      { setAside: opts.setAside ?? true, log: this.log, what: "attachment records" },
    );
  }

  list(): AttachmentRecord[] {
    return [...this.records.values()].sort((a, b) => a.id - b.id);
  }

  get(id: number): AttachmentRecord | undefined {
    return this.records.get(id);
  }

  /** The record of this LU (target and LUN, on any portal of it), if one exists. */
  find(target: string, lun: number): AttachmentRecord | undefined {
    return this.list().find((r) => r.target === target && r.lun === lun);
  }

  /** An id no record (and no attachment of this run, `inUse`) has. */
  nextId(inUse: Iterable<number> = []): number {
    return Math.max(0, ...this.records.keys(), ...inUse) + 1;
  }

  save(record: AttachmentRecord): void {
    ensurePrivateDir(this.dir);
    writeFileAtomic(join(this.dir, `${record.id}.json`), JSON.stringify(record, null, 2) + "\n", 0o600);
    this.records.set(record.id, record);
  }

  delete(id: number): void {
    rmSync(join(this.dir, `${id}.json`), { force: true });
    this.records.delete(id);
  }
}
