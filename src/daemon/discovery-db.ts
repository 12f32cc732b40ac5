// Discovery records (iscsiadm's discoverydb): one per SendTargets portal or iSNS server, holding how to
// authenticate there (SendTargets) or how to watch it (iSNS) and when it was last asked; JSON files under
// <state dir>/discovery, written atomically.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import type { ConsolaInstance } from "consola";
import { ensurePrivateDir, writeFileAtomic } from "../config/atomic.ts";
import { discoveryFileName } from "../config/names.ts";
import { isIsnsSettingName, ISNS_SETTINGS, parseIsnsSetting, storedIsnsSettingsSchema, type IsnsSettings } from "../config/isns-settings.ts";
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

const portalSchema = v.object({ host: v.string(), port: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)) });
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

  constructor(stateDir: string, private readonly log: ConsolaInstance) {
    this.dir = join(stateDir, "discovery");
  }

  load(): void {
    ensurePrivateDir(this.dir);
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(".json") || name.startsWith(".")) continue;
      try {
        const r = v.safeParse(recordSchema, JSON.parse(readFileSync(join(this.dir, name), "utf8")));
        if (!r.success) throw new Error(r.issues[0].message);
        this.records.set(key(r.output.portal), r.output as DiscoveryRecord);
      } catch (err) {
        this.log.error(`discovery database: skipping ${join(this.dir, name)}: ${(err as Error).message}`);
      }
    }
  }

  list(): DiscoveryRecord[] {
    return [...this.records.values()].sort((a, b) => key(a.portal).localeCompare(key(b.portal)));
  }

  get(portal: Portal): DiscoveryRecord | undefined {
    return this.records.get(key(portal));
  }

  /** The SendTargets record of `portal`, created with defaults when missing. */
  ensure(portal: Portal): SendTargetsRecord {
    const existing = this.get(portal);
    if (existing?.type === "sendtargets") return existing;
    if (existing) throw typeClash(portal, existing.type);
    const record: SendTargetsRecord = { version: 1, portal: { ...portal }, type: "sendtargets", settings: { ...DEFAULTS } as SendTargetsRecord["settings"] };
    this.save(record);
    return record;
  }

  /** The iSNS record of server `portal`, created with `defaults` (iscsid.conf's discovery.isns.*) when missing. */
  ensureIsns(portal: Portal, defaults: IsnsSettings): IsnsRecord {
    const existing = this.get(portal);
    if (existing?.type === "isns") return existing;
    if (existing) throw typeClash(portal, existing.type);
    const record: IsnsRecord = { version: 1, portal: { ...portal }, type: "isns", settings: { ...defaults } };
    this.save(record);
    return record;
  }

  update(record: DiscoveryRecord, name: string, text: string): DiscoveryRecord {
    if (record.type === "isns") {
      if (!isIsnsSettingName(name)) throw new IscsiError("INVALID_ARGUMENT", `unknown iSNS discovery setting ${name}; known: ${Object.keys(ISNS_SETTINGS).join(", ")}`);
      const parsed = parseIsnsSetting(name, text);
      if ("problem" in parsed) throw new IscsiError("INVALID_ARGUMENT", `${name} ${parsed.problem}`);
      const next: IsnsRecord = { ...record, settings: { ...record.settings, [name]: parsed.value } };
      this.save(next);
      return next;
    }
    if (!Object.hasOwn(DISCOVERY_SETTINGS, name)) {
      throw new IscsiError("INVALID_ARGUMENT", `unknown discovery setting ${name}; known: ${Object.keys(DISCOVERY_SETTINGS).join(", ")}`);
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
    writeFileAtomic(join(this.dir, discoveryFileName(record.portal.host, record.portal.port)), JSON.stringify(record, null, 2) + "\n", 0o600);
    this.records.set(key(record.portal), record);
  }
}

function typeClash(portal: Portal, type: DiscoveryType): IscsiError {
  return new IscsiError("INVALID_ARGUMENT", `${portal.host}:${portal.port} already has a ${type} discovery record; delete it first (-m discoverydb -t ${type} -p ${portal.host}:${portal.port} -o delete)`);
}
