// Discovery records (iscsiadm's discoverydb): one per SendTargets portal or iSNS server, holding how to
// authenticate there (SendTargets) or how to watch it (iSNS) and when it was last asked; JSON files under
// <state dir>/discovery, written atomically.
import { rmSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import type { ConsolaInstance } from "consola";
import { ensurePrivateDir, writeFileAtomic } from "../config/atomic.ts";
import { discoveryFileName } from "../config/names.ts";
import {
  isIsnsSettingName,
  ISNS_SETTINGS,
  parseIsnsSetting,
  storedIsnsSettingsSchema,
  type IsnsSettings,
} from "../config/isns-settings.ts";
import { isQuarantined, QUARANTINE_MARK } from "../config/quarantine.ts";
import { readRecords, type DamagedFile } from "../config/record-files.ts";
import { parseSetting } from "../config/node-settings.ts";
import { IscsiError } from "../contract/errors.ts";
import type { Portal } from "../transport/portal.ts";

/** Discovery setting → the node setting whose rules its values follow. */
export const DISCOVERY_SETTINGS = {
  "discovery.sendtargets.auth.authmethod": "node.session.auth.authmethod",
  "discovery.sendtargets.auth.username": "node.session.auth.username",
  "discovery.sendtargets.auth.username_in": "node.session.auth.username_in",
  "discovery.sendtargets.timeo.login_timeout": "node.conn[0].timeo.login_timeout",
} as const;
export type DiscoverySettingName = keyof typeof DISCOVERY_SETTINGS;

const DEFAULTS: Record<DiscoverySettingName, string | number> = {
  "discovery.sendtargets.auth.authmethod": "None",
  "discovery.sendtargets.auth.username": "",
  "discovery.sendtargets.auth.username_in": "",
  "discovery.sendtargets.timeo.login_timeout": 15,
};

export type DiscoveryType = "sendtargets" | "isns";

const portalSchema = v.object({
  host: v.string(),
  port: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
});
const isnsRecordSchema = v.object({
  version: v.literal(1),
  portal: portalSchema,
  type: v.literal("isns"),
  settings: storedIsnsSettingsSchema,
  lastDiscovered: v.optional(v.string()),
  targets: v.optional(v.number()),
});
const stRecordSchema = v.object({
  version: v.literal(1),
  portal: portalSchema,
  type: v.literal("sendtargets"),
  settings: v.object({
    "discovery.sendtargets.auth.authmethod": v.picklist(["None", "CHAP"]),
    "discovery.sendtargets.auth.username": v.string(),
    "discovery.sendtargets.auth.username_in": v.string(),
    "discovery.sendtargets.timeo.login_timeout": v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3600)),
  }),
  lastDiscovered: v.optional(v.string()),
  targets: v.optional(v.number()),
});
const recordSchema = v.variant("type", [stRecordSchema, isnsRecordSchema]);

export type SendTargetsRecord = v.InferOutput<typeof stRecordSchema>;
export type IsnsRecord = Omit<v.InferOutput<typeof isnsRecordSchema>, "settings"> & { settings: IsnsSettings };
export type DiscoveryRecord = SendTargetsRecord | IsnsRecord;

const key = (p: Portal) => `${p.host}|${p.port}`;

export class DiscoveryDb {
  private readonly records = new Map<string, DiscoveryRecord>();
  private readonly dir: string;

  constructor(
    stateDir: string,
    private readonly log: ConsolaInstance,
  ) {
    this.dir = join(stateDir, "discovery");
  }

  /** Reads every record; a damaged one is set aside (renamed, kept: `setAside`) or only reported, and returned. */
  load(opts: { setAside?: boolean } = {}): DamagedFile[] {
    ensurePrivateDir(this.dir);
    this.records.clear();
    return readRecords(this.dir, recordSchema, (r) => this.records.set(key(r.portal), r as DiscoveryRecord), {
      setAside: opts.setAside ?? true,
      log: this.log,
      what: "discovery database",
    });
  }

  list(): DiscoveryRecord[] {
    return [...this.records.values()].sort((a, b) => key(a.portal).localeCompare(key(b.portal)));
  }

  get(portal: Portal): DiscoveryRecord | undefined {
    return this.records.get(key(portal));
  }

  /** The SendTargets record of `portal`, created with defaults when missing; refused when its record was damaged and set aside. */
  ensure(portal: Portal): SendTargetsRecord {
    const existing = this.get(portal);
    if (existing?.type === "sendtargets") return existing;
    if (existing) throw typeClash(portal, existing.type);
    this.refuseSetAside(portal);
    const record: SendTargetsRecord = {
      version: 1,
      portal: { ...portal },
      type: "sendtargets",
      settings: { ...DEFAULTS } as SendTargetsRecord["settings"],
    };
    this.save(record);
    return record;
  }

  /** The iSNS record of server `portal`, created with `defaults` (iscsid.conf's discovery.isns.*) when missing. */
  ensureIsns(portal: Portal, defaults: IsnsSettings): IsnsRecord {
    const existing = this.get(portal);
    if (existing?.type === "isns") return existing;
    if (existing) throw typeClash(portal, existing.type);
    this.refuseSetAside(portal);
    const record: IsnsRecord = { version: 1, portal: { ...portal }, type: "isns", settings: { ...defaults } };
    this.save(record);
    return record;
  }

  private refuseSetAside(portal: Portal): void {
    const path = join(this.dir, discoveryFileName(portal.host, portal.port));
    if (isQuarantined(path)) {
      throw new IscsiError(
        "NODE_DB",
        `the discovery record of ${portal.host}:${portal.port} was damaged and set aside (${path}${QUARANTINE_MARK}…); not recreating it with defaults: repair it and rename it back, or delete it (see iscsi doctor)`,
      );
    }
  }

  update(record: DiscoveryRecord, name: string, text: string): DiscoveryRecord {
    if (record.type === "isns") {
      if (!isIsnsSettingName(name))
        throw new IscsiError(
          "INVALID_ARGUMENT",
          `unknown iSNS discovery setting ${name}; known: ${Object.keys(ISNS_SETTINGS).join(", ")}`,
        );
      const parsed = parseIsnsSetting(name, text);
      if ("problem" in parsed) throw new IscsiError("INVALID_ARGUMENT", `${name} ${parsed.problem}`);
      const next: IsnsRecord = { ...record, settings: { ...record.settings, [name]: parsed.value } };
      this.save(next);
      return next;
    }
    if (!Object.hasOwn(DISCOVERY_SETTINGS, name)) {
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `unknown discovery setting ${name}; known: ${Object.keys(DISCOVERY_SETTINGS).join(", ")}`,
      );
    }
    const parsed = parseSetting(DISCOVERY_SETTINGS[name as DiscoverySettingName], text);
    if ("problem" in parsed) throw new IscsiError("INVALID_ARGUMENT", `${name} ${parsed.problem}`);
    const next = { ...record, settings: { ...record.settings, [name]: parsed.value } } as SendTargetsRecord;
    this.save(next);
    return next;
  }

  noteDiscovered(record: DiscoveryRecord, targets: number): void {
    this.save({ ...record, lastDiscovered: new Date().toISOString(), targets });
  }

  delete(record: DiscoveryRecord): void {
    rmSync(join(this.dir, discoveryFileName(record.portal.host, record.portal.port)), { force: true });
    this.records.delete(key(record.portal));
  }

  private save(record: DiscoveryRecord): void {
    ensurePrivateDir(this.dir);
    writeFileAtomic(
      join(this.dir, discoveryFileName(record.portal.host, record.portal.port)),
      JSON.stringify(record, null, 2) + "\n",
      0o600,
    );
    this.records.set(key(record.portal), record);
  }
}

function typeClash(portal: Portal, type: DiscoveryType): IscsiError {
  return new IscsiError(
    "INVALID_ARGUMENT",
    `${portal.host}:${portal.port} already has a ${type} discovery record; delete it first (-m discoverydb -t ${type} -p ${portal.host}:${portal.port} -o delete)`,
  );
}
