// The JSON the CLI prints, one shape per kind of object whichever form printed it (native or iscsiadm):
// an object at the top level with `schemaVersion`, checked against these valibot schemas before printing.
// scripts/json-schema.ts turns them into docs/json-schema/*.json for users' scripts.
import * as v from "valibot";
import { RESULTS } from "../contract/protocol.ts";
import { printJson } from "./_shared.ts";

/** Raised when a field is removed or changes meaning; additions keep the version. */
export const SCHEMA_VERSION = 1;

const version = v.literal(SCHEMA_VERSION);
const portal = v.strictObject({ host: v.string(), port: v.number() });
const daemonDiscover = RESULTS.discover.entries;

export const OUTPUTS = {
  /** `iscsi discover [--isns] --json`, `iscsi -m discovery -t st|isns -p P --json` */
  discovery: v.strictObject({
    schemaVersion: version,
    portal,
    targets: daemonDiscover.targets,
    /** Whether the daemon recorded the targets as nodes (false: asked directly, nothing stored). */
    recorded: v.boolean(),
    nodes: v.optional(daemonDiscover.nodes),
    logins: v.optional(daemonDiscover.logins.wrapped),
  }),
  /** `iscsi attach --list --json` */
  attachments: v.strictObject({
    schemaVersion: version,
    attachments: RESULTS["attach.list"],
    quarantined: RESULTS.status.entries.quarantined,
  }),
  /** `iscsi sessions --json`, `iscsi -m session --json` */
  sessions: v.strictObject({ schemaVersion: version, sessions: RESULTS["sessions.list"].entries.sessions }),
  /** `iscsi nodes --json`, `iscsi -m node --json` */
  nodes: v.strictObject({
    schemaVersion: version,
    nodes: RESULTS["nodes.list"].entries.nodes,
    quarantined: RESULTS["nodes.list"].entries.quarantined,
  }),
} as const;

export type OutputKind = keyof typeof OUTPUTS;
export type Output<K extends OutputKind> = Omit<v.InferInput<(typeof OUTPUTS)[K]>, "schemaVersion">;

/** Print one object of `kind` as JSON, with its schema version; a shape that does not fit is our bug. */
export function printOutput<K extends OutputKind>(kind: K, value: Output<K>): void {
  printJson(v.parse(OUTPUTS[kind], { schemaVersion: SCHEMA_VERSION, ...value }));
}
