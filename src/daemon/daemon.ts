// The long-lived process (docs/architecture.md, "One executable, three roles" and "The daemon"): takes the state directory's lock, loads the config, node, discovery
// and attachment databases, secrets and the initiator name, owns the session registry, cleans up after a killed
// predecessor and starts the background logins of automatic nodes and restores of recorded attachments.
import { dirname, join } from "node:path";
import type { ConsolaInstance } from "consola";
import { ensurePrivateDir } from "../config/atomic.ts";
import { quarantine } from "../config/quarantine.ts";
import { loadConfig, type DaemonConfig } from "../config/config-file.ts";
import { ensureInitiatorName, readInitiatorName } from "../config/initiator-name.ts";
import { KeychainSecretStore } from "../config/keychain.ts";
import { FileSecretStore, type SecretStore } from "../config/secrets.ts";
import { logFor } from "../log.ts";
import { VERSION } from "../version.ts";
import { cleanAttachLeftovers, restoreAttachments, restoreAttempt } from "./attach-restore.ts";
import { AttachmentDb } from "./attachment-db.ts";
import { Attachments } from "./attachment-table.ts";
import { detachAll } from "./attachments.ts";
import { Multipath } from "./multipath.ts";
import { DiscoveryDb } from "./discovery-db.ts";
import { IsnsWatches } from "./isns-watch.ts";
import { nodeKey, NodeDb } from "./node-db.ts";
import { GONE, SessionRegistry } from "./registry.ts";
import { startupAttempt } from "./session-ops.ts";
import { StartupLogins } from "./startup.ts";
import { lockStateDir, type StateLock } from "./state-lock.ts";
import type { DaemonState } from "./state.ts";
import { setAsideView } from "./views.ts";
import { serveUi } from "./ui/server.ts";
import { startSystemEvents, type SystemEventSource } from "./system-events.ts";
import { SystemReactions } from "./system-reactions.ts";
import { sessionOf } from "./engine.ts";
import type { AnswerLine, UiEndpoint } from "./ui/state.ts";
import type { StatusView, UiInfo } from "../contract/views.ts";

export interface DaemonOptions {
  stateDir: string;
  configPath: string;
  /** Port of the loopback NFS server, over iscsid.nfs.port of the config. */
  nfsPort?: number;
}

/** Logout of every session at shutdown is bounded, so a dead target cannot hold the daemon. */
const SHUTDOWN_LOGOUT_MS = 5000;
/** How often sessions the engine gave up on are looked for. */
const WATCH_MS = 5000;

export class Daemon implements DaemonState {
  readonly startedAt = new Date();
  readonly nodes: NodeDb;
  readonly discoveries: DiscoveryDb;
  readonly secrets: SecretStore;
  readonly registry: SessionRegistry;
  readonly startup: StartupLogins;
  /** Background restores of recorded attachments, retried as startup logins are. */
  readonly restores: StartupLogins;
  readonly attachments: Attachments;
  readonly isns: IsnsWatches = new IsnsWatches(this);
  readonly multipath: Multipath;
  readonly reactions: SystemReactions;
  private events: SystemEventSource | undefined;
  private cachedName: string;
  private watch: ReturnType<typeof setInterval> | undefined;
  private ui: UiEndpoint | undefined;
  private uiOff = "";

  private constructor(
    readonly stateDir: string,
    readonly configPath: string,
    readonly config: DaemonConfig,
    readonly log: ConsolaInstance,
    private readonly lock: StateLock,
  ) {
    this.nodes = new NodeDb(stateDir, log);
    this.attachments = new Attachments(new AttachmentDb(stateDir, log));
    this.discoveries = new DiscoveryDb(stateDir, log);
    this.secrets =
      config.secrets === "keychain" ? new KeychainSecretStore() : new FileSecretStore(join(stateDir, "secrets.json"));
    this.registry = new SessionRegistry(log);
    this.multipath = new Multipath(log);
    this.startup = new StartupLogins((key) => startupAttempt(this, key), config.startup, log);
    this.restores = new StartupLogins((key) => restoreAttempt(this, key), config.startup, log, "restore of");
    this.cachedName = ensureInitiatorName(stateDir);
    this.reactions = new SystemReactions({
      sessions: () => this.registry.list().map((e) => sessionOf(e.session)),
      attached: () => this.attachments.list(),
      log,
    });
  }

  /**
   * Everything that can be wrong with the state dir or config fails here, before the socket opens: first of all
   * another daemon holding the state directory (its sessions use the same ISIDs; a second one would throw them out).
   */
  static open(opts: DaemonOptions): Daemon {
    const config = loadConfig(opts.configPath);
    if (opts.nfsPort !== undefined) config.nfs.port = opts.nfsPort;
    ensurePrivateDir(opts.stateDir);
    const lock = lockStateDir(opts.stateDir);
    try {
      const d = new Daemon(opts.stateDir, opts.configPath, config, logFor("iscsid"), lock);
      d.nodes.load();
      d.discoveries.load();
      d.attachments.db.load();
      d.setAsideDamagedSecrets();
      return d;
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /** A secrets file with damaged content is set aside (kept, never overwritten by the next `secret set`). */
  private setAsideDamagedSecrets(): void {
    if (!(this.secrets instanceof FileSecretStore)) return;
    const problem = this.secrets.problem();
    if (!problem?.damaged) return;
    this.log.error(
      `${problem.message}; set aside as ${quarantine(this.secrets.path)}: CHAP logins fail until the secrets are set again or the file is repaired (see iscsi doctor)`,
    );
  }

  /** Removes what a killed daemon left (before anything new is attached). */
  cleanLeftovers(): Promise<void> {
    return cleanAttachLeftovers(this);
  }

  /** Brings recorded attachments back in the background; returns at once. */
  restoreAttachments(): void {
    restoreAttachments(this, this.restores);
  }

  initiatorName(): string {
    try {
      this.cachedName = readInitiatorName(this.stateDir) ?? this.cachedName;
    } catch (err) {
      this.log.warn(`keeping initiator name ${this.cachedName}: ${(err as Error).message}`);
    }
    return this.cachedName;
  }

  /** Background logins of nodes with node.startup automatic or onboot, and the watches of iSNS servers; returns at once. */
  startAutomaticLogins(): void {
    const nodes = this.nodes.list().filter((r) => r.settings["node.startup"] !== "manual");
    if (nodes.length > 0) this.log.info(`starting background login of ${nodes.length} automatic node(s)`);
    this.startup.start(
      nodes.map((r) => ({
        key: nodeKey(r.target, r.portal),
        label: `${r.target} at ${r.portal.host}:${r.portal.port}`,
      })),
    );
    this.watch ??= setInterval(() => this.restartLostSessions(), WATCH_MS);
    this.isns.startAll();
  }

  /**
   * A session the engine's own recovery gave up on (state failed) of an automatic node goes back to the
   * background login loop; a manual node's stays listed as failed until the user logs it out or in.
   */
  restartLostSessions(): void {
    for (const e of this.registry.list()) {
      const record = this.nodes.get(e.key);
      if (!GONE.has(e.session.state.kind) || !record || record.settings["node.startup"] === "manual") continue;
      this.log.warn(`session ${e.sid} to ${e.target} is ${e.session.state.kind}; logging in again in the background`);
      this.registry.forget(e);
      e.session.close();
      this.startup.start([{ key: e.key, label: `${record.target} at ${record.portal.host}:${record.portal.port}` }]);
    }
  }

  /** Watch the system's sleep, wake and network events (system-events.ts); returns at once. */
  startSystemEvents(): void {
    const helper = process.env.ISCSI_POWER_EVENTS ?? join(dirname(process.execPath), "iscsi-power-events");
    this.events = startSystemEvents(
      (e) =>
        void this.reactions.handle(e).catch((err) => this.log.warn(`reacting to ${e.kind}: ${(err as Error).message}`)),
      this.log,
      helper,
    );
    this.reactions.source = this.events;
    this.log.info(
      this.events
        ? `system events from ${this.events.name}`
        : "no system event source on this platform; link loss is noticed by keepalive",
    );
  }

  /** The web dashboard unless turned off (config `iscsid.ui = off`, or `--no-ui`); `--ui-port` wins over the config. */
  startUi(answer: AnswerLine, flags: { enabled?: boolean; port?: number } = {}): void {
    if (flags.enabled === false || !this.config.ui.enabled) {
      this.uiOff =
        flags.enabled === false
          ? "the daemon was started with --no-ui"
          : `the dashboard is turned off in ${this.configPath} (iscsid.ui = off)`;
      return;
    }
    this.ui = serveUi({ stateDir: this.stateDir, port: flags.port ?? this.config.ui.port, answer, log: this.log });
  }

  uiInfo(once: boolean): UiInfo {
    return this.ui?.info(once) ?? { enabled: false, problem: this.uiOff || "the dashboard has not been started" };
  }

  status(): StatusView {
    const nodes = this.nodes.list();
    return {
      version: VERSION,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      stateDir: this.stateDir,
      configPath: this.configPath,
      initiatorName: this.initiatorName(),
      nodes: nodes.length,
      automaticNodes: nodes.filter((r) => r.settings["node.startup"] !== "manual").length,
      sessions: this.registry.list().length,
      startup: [...this.startup.pending(), ...this.restores.pending()],
      ...setAsideView(this.stateDir),
    };
  }

  /** Stops retrying, detaches every attached LUN, then logs every session out (each bounded), dropping what does not answer. */
  async stop(): Promise<void> {
    clearInterval(this.watch);
    this.events?.stop();
    await this.ui?.close();
    this.startup.cancelAll();
    this.restores.cancelAll();
    await this.isns.stopAll();
    await detachAll(this);
    await Promise.all(
      this.registry
        .list()
        .map((e) =>
          this.registry
            .logout(e, SHUTDOWN_LOGOUT_MS)
            .catch((err) => this.log.warn(`session ${e.sid}: ${(err as Error).message}`)),
        ),
    );
    this.lock.release();
  }
}
