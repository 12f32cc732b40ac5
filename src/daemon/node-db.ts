// The node database with open-iscsi semantics (docs/architecture.md, "The daemon"): one record per (target, portal) holding its
// settings, one JSON file each under <state dir>/nodes, written atomically, named by a hash of the key.
// Discovery merges into it and never touches a setting the user changed (open-iscsi #58, #286).
import { rmSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { ensurePrivateDir, writeFileAtomic } from "../config/atomic.ts";
import { nodeFileName } from "../config/names.ts";
import { isQuarantined, QUARANTINE_MARK } from "../config/quarantine.ts";
import { readRecords, type DamagedFile } from "../config/record-files.ts";
import { iscsiNameProblem } from "../pdu/iscsi-name.ts";
import { isSettingName, storedSettingsSchema, type NodeSettings, type SettingName } from "../config/node-settings.ts";
import { IscsiError } from "../contract/errors.ts";
import type { ConsolaInstance } from "consola";
import type { Portal } from "../transport/portal.ts";

/** -p HOST matches any port, -p HOST:PORT one portal (as iscsiadm's node mode). */
export interface NodeFilter {
  target?: string;
  portal?: { host: string; port?: number };
}

const recordSchema = v.object({
  version: v.literal(1),
  target: v.pipe(
    v.string(),
    v.check((s) => iscsiNameProblem(s) === undefined, "not a valid iSCSI name"),
  ),
  portal: v.object({ host: v.string(), port: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)) }),
  tpgt: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)),
  isid: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 48 - 1)),
  discovery: v.optional(v.object({ host: v.string(), port: v.number(), type: v.picklist(["sendtargets", "isns"]) })),
  /** Set when discovery found the target gone; cleared when it comes back. */
  stale: v.optional(v.string()),
  settings: storedSettingsSchema,
  userSet: v.array(v.string()),
  created: v.string(),
  updated: v.string(),
});

export type NodeRecord = v.InferOutput<typeof recordSchema>;

export const nodeKey = (target: string, portal: Portal) => `${target}|${portal.host}|${portal.port}`;

/** A random-format ISID (RFC 7143 §11.12.5: T=10b, qualifier random), fixed for the life of the record. */
function newIsid(): number {
  const r = crypto.getRandomValues(new Uint8Array(5));
  return 0x80 * 2 ** 40 + r.reduce((acc, b) => acc * 256 + b, 0);
}

/** Does (target, portal) pass the filter? */
export function matches(node: { target: string; portal: Portal }, f: NodeFilter): boolean {
  if (f.target !== undefined && node.target !== f.target) return false;
  if (
    f.portal &&
    (node.portal.host !== f.portal.host || (f.portal.port !== undefined && node.portal.port !== f.portal.port))
  )
    return false;
  return true;
}

export class NodeDb {
  private readonly records = new Map<string, NodeRecord>();
  private readonly dir: string;

  constructor(
    stateDir: string,
    private readonly log: ConsolaInstance,
  ) {
    this.dir = join(stateDir, "nodes");
  }

  /**
   * Reads every record. A damaged file cannot stop the daemon: it is set aside (renamed, kept: `setAside`, the
   * daemon's way) or only reported (doctor's way, which changes nothing); either way it is returned.
   */
  load(opts: { setAside?: boolean } = {}): DamagedFile[] {
    ensurePrivateDir(this.dir);
    this.records.clear();
    return readRecords(this.dir, recordSchema, (r) => this.records.set(nodeKey(r.target, r.portal), r), {
      setAside: opts.setAside ?? true,
      log: this.log,
      what: "node database",
    });
  }

  list(filter: NodeFilter = {}): NodeRecord[] {
    return [...this.records.values()]
      .filter((r) => matches(r, filter))
      .sort((a, b) => nodeKey(a.target, a.portal).localeCompare(nodeKey(b.target, b.portal)));
  }

  get(key: string): NodeRecord | undefined {
    return this.records.get(key);
  }

  /** Was this node's record damaged and set aside (so nothing may recreate it with defaults)? */
  quarantined(target: string, portal: Portal): boolean {
    return isQuarantined(join(this.dir, nodeFileName(target, portal.host, portal.port)));
  }

  /** Creates a record with `defaults`, or returns the existing one untouched; refuses a node whose record was set aside. */
  create(
    target: string,
    portal: Portal,
    tpgt: number,
    defaults: NodeSettings,
    discovery?: NodeRecord["discovery"],
  ): { record: NodeRecord; created: boolean } {
    const existing = this.records.get(nodeKey(target, portal));
    if (existing) return { record: existing, created: false };
    if (this.quarantined(target, portal)) {
      const path = join(this.dir, nodeFileName(target, portal.host, portal.port));
      throw new IscsiError(
        "NODE_DB",
        `the node record of ${target} at ${portal.host}:${portal.port} was damaged and set aside (${path}${QUARANTINE_MARK}…); not recreating it with defaults: repair it and rename it back, or delete it (see iscsi doctor)`,
      );
    }
    const now = new Date().toISOString();
    const record: NodeRecord = {
      version: 1,
      target,
      portal: { ...portal },
      tpgt,
      isid: newIsid(),
      discovery,
      settings: { ...defaults },
      userSet: [],
      created: now,
      updated: now,
    };
    this.save(record);
    return { record, created: true };
  }

  /**
   * Discovery's merge: a new record gets the defaults; an existing one keeps every setting the user changed,
   * follows the current defaults for the others, and takes the portal group tag the target now reports.
   */
  mergeDiscovered(
    target: string,
    portal: Portal,
    tpgt: number,
    defaults: NodeSettings,
    discovery: NonNullable<NodeRecord["discovery"]>,
  ): "created" | "updated" | "unchanged" | "quarantined" {
    if (!this.records.has(nodeKey(target, portal)) && this.quarantined(target, portal)) return "quarantined";
    const { record, created } = this.create(target, portal, tpgt, defaults, discovery);
    if (created) return "created";
    const settings = { ...record.settings } as Record<SettingName, string | number>;
    for (const [name, value] of Object.entries(defaults) as Array<[SettingName, string | number]>) {
      if (!record.userSet.includes(name)) settings[name] = value;
    }
    const { stale: _wasStale, ...current } = record;
    const next: NodeRecord = { ...current, tpgt, discovery, settings: settings as NodeSettings };
    if (JSON.stringify(next) === JSON.stringify(record)) return "unchanged";
    this.save({ ...next, updated: new Date().toISOString() });
    return "updated";
  }

  /** Discovery no longer finds the target: the record stays (with the user's settings) and is marked stale. */
  markStale(record: NodeRecord): NodeRecord {
    if (record.stale) return record;
    const next: NodeRecord = { ...record, stale: new Date().toISOString() };
    this.save(next);
    return next;
  }

  /** A user's change: stored and remembered as the user's, so discovery leaves it alone. */
  update(record: NodeRecord, name: string, value: string | number): NodeRecord {
    if (!isSettingName(name)) throw new IscsiError("INVALID_ARGUMENT", `unknown node setting ${name}`);
    const next: NodeRecord = {
      ...record,
      settings: { ...record.settings, [name]: value },
      userSet: record.userSet.includes(name) ? record.userSet : [...record.userSet, name],
      updated: new Date().toISOString(),
    };
    this.save(next);
    return next;
  }

  delete(record: NodeRecord): void {
    rmSync(join(this.dir, nodeFileName(record.target, record.portal.host, record.portal.port)), { force: true });
    this.records.delete(nodeKey(record.target, record.portal));
  }

  private save(record: NodeRecord): void {
    ensurePrivateDir(this.dir);
    writeFileAtomic(
      join(this.dir, nodeFileName(record.target, record.portal.host, record.portal.port)),
      JSON.stringify(record, null, 2) + "\n",
      0o600,
    );
    this.records.set(nodeKey(record.target, record.portal), record);
  }
}
