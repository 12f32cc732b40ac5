// What the daemon's operations share: config, the two databases, secrets, sessions and startup logins.
import type { ConsolaInstance } from "consola";
import type { DaemonConfig } from "../config/config-file.ts";
import type { SecretStore } from "../config/secrets.ts";
import type { Attachments } from "./attachment-table.ts";
import type { IsnsTarget } from "../isns/messages.ts";
import type { Portal } from "../transport/portal.ts";
import type { DiscoveryDb, IsnsRecord } from "./discovery-db.ts";
import type { Multipath } from "./multipath.ts";
import type { NodeDb } from "./node-db.ts";
import type { SessionRegistry } from "./registry.ts";
import type { StartupLogins } from "./startup.ts";

export interface DaemonState {
  readonly stateDir: string;
  readonly configPath: string;
  readonly config: DaemonConfig;
  readonly nodes: NodeDb;
  readonly discoveries: DiscoveryDb;
  readonly secrets: SecretStore;
  readonly registry: SessionRegistry;
  readonly startup: StartupLogins;
  /** Background restores of recorded attachments (keyed by restoreKey). */
  readonly restores: StartupLogins;
  /** LUNs attached as local disks; each pins its session. */
  readonly attachments: Attachments;
  /** iSNS servers the daemon stays registered with and listens to. */
  readonly isns: IsnsWatching;
  /** One device per logical unit, over every session that reaches it (docs/multipath.md). */
  readonly multipath: Multipath;
  readonly log: ConsolaInstance;
  /** Read per login, so `iscsi initiator-name --set` applies without a restart. */
  initiatorName(): string;
}

/** The daemon's iSNS watches as the operations see them (src/daemon/isns-watch.ts implements it). */
export interface IsnsWatching {
  /** Targets the server lists for us now; starts the watch the record asks for. */
  discover(record: IsnsRecord): Promise<IsnsTarget[]>;
  /** Stops the watch of one server, deregistering. */
  stop(portal: Portal): Promise<void>;
}
