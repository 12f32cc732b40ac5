// What the daemon has stored about a portal or target, read without changing anything: node and discovery
// records (CHAP user, digests) and CHAP secrets from the secret store, so a probe logs in as the daemon would.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config/config-file.ts";
import { KeychainSecretStore } from "../config/keychain.ts";
import type { Paths } from "../config/paths.ts";
import { FileSecretStore, type SecretStore } from "../config/secrets.ts";
import { DiscoveryDb } from "../daemon/discovery-db.ts";
import type { EngineAuth, OpenParams } from "../daemon/engine.ts";
import { discoveryAuth, nodeOpenParams } from "../daemon/login-params.ts";
import { NodeDb, type NodeRecord } from "../daemon/node-db.ts";
import type { Portal } from "../transport/portal.ts";
import { logFor } from "../log.ts";

/** A stored login, or why the stored record cannot be used (e.g. CHAP without a stored secret). */
export type StoredLogin = { params: OpenParams; record: NodeRecord } | { problem: string; record: NodeRecord };

export class StoredState {
  private constructor(
    private readonly nodes: NodeDb | undefined,
    private readonly discoveries: DiscoveryDb | undefined,
    private readonly secrets: SecretStore | undefined,
    /** Why nothing (or only part) could be read, for the report. */
    readonly notes: string[],
  ) {}

  /** Reads the databases in `paths.stateDir` if they exist; never creates a file or directory. */
  static open(paths: Paths): StoredState {
    const notes: string[] = [];
    const log = logFor("doctor");
    const load = <T extends { load(opts: { setAside: boolean }): unknown }>(
      dir: string,
      make: () => T,
    ): T | undefined => {
      if (!existsSync(join(paths.stateDir, dir))) return undefined;
      try {
        const db = make();
        // Damaged records are reported by the host checks; doctor never moves or changes a file.
        db.load({ setAside: false });
        return db;
      } catch (err) {
        notes.push(`cannot read ${join(paths.stateDir, dir)}: ${(err as Error).message}`);
        return undefined;
      }
    };
    const nodes = load("nodes", () => new NodeDb(paths.stateDir, log));
    const discoveries = load("discovery", () => new DiscoveryDb(paths.stateDir, log));
    let secrets: SecretStore | undefined;
    try {
      const config = loadConfig(paths.config);
      secrets =
        config.secrets === "keychain"
          ? new KeychainSecretStore()
          : new FileSecretStore(join(paths.stateDir, "secrets.json"));
    } catch (err) {
      notes.push((err as Error).message);
    }
    return new StoredState(nodes, discoveries, secrets, notes);
  }

  /** The node record of (target, portal), else any record of the target, with its login parameters. */
  async node(target: string, portal: Portal, initiatorName: string): Promise<StoredLogin | undefined> {
    const records = this.nodes?.list({ target }) ?? [];
    const record = records.find((r) => r.portal.host === portal.host && r.portal.port === portal.port) ?? records[0];
    if (!record) return undefined;
    if (!this.secrets) return { problem: "the secret store cannot be opened", record };
    try {
      return { params: await nodeOpenParams(record, this.secrets, initiatorName), record };
    } catch (err) {
      return { problem: (err as Error).message, record };
    }
  }

  /** CHAP settings of the discovery record of `portal`, if there is one. */
  async discovery(portal: Portal): Promise<{ auth: EngineAuth } | { problem: string } | undefined> {
    const record = this.discoveries?.get(portal);
    if (!record || record.type !== "sendtargets") return undefined;
    if (!this.secrets) return { problem: "the secret store cannot be opened" };
    try {
      return { auth: await discoveryAuth(record, this.secrets) };
    } catch (err) {
      return { problem: (err as Error).message };
    }
  }
}
