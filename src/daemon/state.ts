// What the daemon's operations share: config, the two databases, secrets, sessions and startup logins.
import type { ConsolaInstance } from "consola";
import type { DaemonConfig } from "../config/config-file.ts";
import type { SecretStore } from "../config/secrets.ts";
import type { Attachments } from "./attachment-table.ts";
import type { DiscoveryDb } from "./discovery-db.ts";
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
  readonly log: ConsolaInstance;
  /** Read per login, so `iscsi initiator-name --set` applies without a restart. */
  initiatorName(): string;
}
