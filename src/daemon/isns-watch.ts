// Watching an iSNS server (RFC 4171): our initiator registered with a portal whose SCN port we listen on,
// SCNReg for added/removed/updated objects, a query on every SCN and every poll interval (some servers never
// send SCNs), registration refreshed at half the server's registration period, deregistration on stop.
// What the server lists is merged into the node database; a target it no longer lists is marked stale.
import type { IsnsRecord } from "./discovery-db.ts";
import {
  deregister,
  entityIdFor,
  IsnsClient,
  isnsDiscover,
  queryTargets,
  register,
  type IsnsServer,
} from "../discovery/isns-client.ts";
import { listenScn, type ScnListener } from "../discovery/isns-scn.ts";
import { SCN_BIT } from "../isns/constants.ts";
import { scnReg, type IsnsTarget } from "../isns/messages.ts";
import { nodeKey, type NodeRecord } from "./node-db.ts";
import type { DaemonState, IsnsWatching } from "./state.ts";

/** Events that change what we may see (RFC 4171 §6.4.4): objects added, removed or updated, domain membership. */
const SCN_INTEREST =
  SCN_BIT.objectAdded | SCN_BIT.objectRemoved | SCN_BIT.objectUpdated | SCN_BIT.ddMemberAdded | SCN_BIT.ddMemberRemoved;
/** A burst of SCNs (one per changed object) becomes one query after this pause. */
const SCN_SETTLE_MS = 200;

export interface FoundCounts {
  created: number;
  updated: number;
  unchanged: number;
  /** Records set aside as damaged: not recreated with defaults. */
  quarantined: number;
  stale: number;
}

/**
 * Merges what an iSNS server lists into the node database (never clobbering a user's setting), marks nodes it
 * found before and no longer lists as stale, and starts the background login of new nodes whose node.startup
 * asks for it. Returns the touched records.
 */
export function recordIsnsTargets(
  d: DaemonState,
  server: IsnsServer,
  found: IsnsTarget[],
): { counts: FoundCounts; touched: NodeRecord[] } {
  const counts: FoundCounts = { created: 0, updated: 0, unchanged: 0, quarantined: 0, stale: 0 };
  const touched: NodeRecord[] = [];
  const seen = new Set<string>();
  const logins: Array<{ key: string; label: string }> = [];
  for (const t of found) {
    for (const p of t.portals) {
      const key = nodeKey(t.name, p);
      const before = d.nodes.get(key);
      const outcome = d.nodes.mergeDiscovered(
        t.name,
        { host: p.host, port: p.port },
        p.portalGroupTag ?? 1,
        d.config.nodeDefaults,
        { host: server.host, port: server.port, type: "isns" },
      );
      counts[outcome]++;
      seen.add(key);
      if (outcome === "quarantined") {
        d.log.warn(
          `iSNS ${server.host}:${server.port}: the record of ${t.name} at ${p.host}:${p.port} is set aside as damaged; not recreated with defaults (see iscsi doctor)`,
        );
        continue;
      }
      const record = d.nodes.get(key)!;
      touched.push(record);
      const cameBack = outcome === "created" || before?.stale !== undefined;
      if (cameBack && record.settings["node.startup"] !== "manual" && !d.registry.byKey(key))
        logins.push({ key, label: `${t.name} at ${p.host}:${p.port}` });
    }
  }
  for (const r of d.nodes.list()) {
    const mine = r.discovery?.type === "isns" && r.discovery.host === server.host && r.discovery.port === server.port;
    if (mine && !seen.has(nodeKey(r.target, r.portal)) && !r.stale) {
      d.nodes.markStale(r);
      counts.stale++;
      d.log.info(
        `iSNS ${server.host}:${server.port} no longer lists ${r.target} at ${r.portal.host}:${r.portal.port}: node marked stale`,
      );
    }
  }
  if (logins.length > 0) d.startup.start(logins);
  return { counts, touched };
}

export class IsnsWatch {
  private scn: ScnListener | undefined;
  private refreshTimer: ReturnType<typeof setInterval> | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private settle: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** Registration period the server granted, seconds (0 = never expires). */
  period = 0;

  constructor(
    private readonly d: DaemonState,
    readonly record: IsnsRecord,
  ) {}

  get server(): IsnsServer {
    return this.record.portal;
  }

  private get label(): string {
    return `iSNS ${this.server.host}:${this.server.port}`;
  }

  private get timeoutMs(): number {
    return this.record.settings["discovery.isns.timeo.query_timeout"] * 1000;
  }

  /** Registers with an SCN portal (when SCNs are on), asks for SCNs, runs the first query and starts the timers. */
  async start(): Promise<IsnsTarget[]> {
    const client = await IsnsClient.connect(this.server, this.timeoutMs);
    try {
      const useScn = this.record.settings["discovery.isns.use_scn"] === "Yes";
      if (useScn && !this.scn) {
        this.scn = listenScn(client.localAddress, {
          destination: this.d.initiatorName(),
          onScn: (events) => {
            this.d.log.info(`${this.label}: SCN for ${events.map((e) => e.name).join(", ") || "(no object)"}`);
            this.soon();
          },
          onProblem: (message) => this.d.log.warn(`${this.label}: ${message}`),
        });
      }
      this.period = await this.registerOn(client);
      if (useScn) await client.call(scnReg(this.d.initiatorName(), SCN_INTEREST));
      const found = await queryTargets(client, this.d.initiatorName());
      this.startTimers();
      return found;
    } catch (err) {
      this.scn?.stop();
      this.scn = undefined;
      throw err;
    } finally {
      client.close();
    }
  }

  private registerOn(client: IsnsClient): Promise<number> {
    const name = this.d.initiatorName();
    return register(client, {
      source: name,
      entityId: entityIdFor(name),
      ...(this.scn ? { scn: { host: client.localAddress, port: this.scn.port } } : {}),
    });
  }

  private startTimers(): void {
    clearInterval(this.refreshTimer);
    clearInterval(this.pollTimer);
    // RFC 4171 §6.2.6: an entity not refreshed within the registration period is removed; refresh at half of it.
    if (this.period > 0)
      this.refreshTimer = setInterval(() => this.serial(() => this.refresh()), (this.period * 1000) / 2);
    const poll = this.record.settings["discovery.isns.discoveryd_poll_inval"];
    if (poll > 0) this.pollTimer = setInterval(() => this.soon(0), poll * 1000);
  }

  /** One query soon; SCNs that arrive together share it. */
  private soon(delayMs = SCN_SETTLE_MS): void {
    if (this.stopped || this.settle) return;
    this.settle = setTimeout(() => {
      this.settle = undefined;
      this.serial(() => this.rediscover());
    }, delayMs);
  }

  private serial(step: () => Promise<void>): void {
    this.running = this.running.then(step).catch((err) => this.d.log.warn(`${this.label}: ${(err as Error).message}`));
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    const client = await IsnsClient.connect(this.server, this.timeoutMs);
    try {
      this.period = await this.registerOn(client);
      // A server that restarted without its database lost our SCN registration too.
      if (this.scn) await client.call(scnReg(this.d.initiatorName(), SCN_INTEREST));
    } finally {
      client.close();
    }
  }

  /** The targets the server lists for us now. */
  async query(): Promise<IsnsTarget[]> {
    const client = await IsnsClient.connect(this.server, this.timeoutMs);
    try {
      return await queryTargets(client, this.d.initiatorName());
    } finally {
      client.close();
    }
  }

  private async rediscover(): Promise<void> {
    if (this.stopped) return;
    const found = await this.query();
    const { counts } = recordIsnsTargets(this.d, this.server, found);
    this.d.discoveries.noteDiscovered(this.d.discoveries.get(this.server) ?? this.record, found.length);
    if (counts.created + counts.updated + counts.stale > 0) {
      this.d.log.info(
        `${this.label}: ${found.length} target(s); nodes ${counts.created} new, ${counts.updated} updated, ${counts.stale} stale`,
      );
    }
  }

  /** Stops the timers and the SCN port, then deregisters (bounded by the query timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.refreshTimer);
    clearInterval(this.pollTimer);
    clearTimeout(this.settle);
    this.scn?.stop();
    this.scn = undefined;
    await this.running;
    const name = this.d.initiatorName();
    const client = await IsnsClient.connect(this.server, this.timeoutMs);
    try {
      await deregister(client, name, entityIdFor(name));
      this.d.log.info(`${this.label}: deregistered ${name}`);
    } finally {
      client.close();
    }
  }
}

/** How long a watch that could not start waits before trying again. */
const RETRY_START_MS = 30_000;

/** The daemon's watches, one per iSNS discovery record with discovery.isns.use_discoveryd = Yes. */
export class IsnsWatches implements IsnsWatching {
  private readonly watches = new Map<string, IsnsWatch>();
  private readonly retries = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly d: DaemonState) {}

  /** Targets the server lists for us now; starts the watch the record asks for (or queries the running one). */
  async discover(record: IsnsRecord): Promise<IsnsTarget[]> {
    const key = `${record.portal.host}|${record.portal.port}`;
    const running = this.watches.get(key);
    if (running) return running.query();
    if (record.settings["discovery.isns.use_discoveryd"] === "No") {
      return isnsDiscover({
        server: record.portal,
        initiatorName: this.d.initiatorName(),
        timeoutMs: record.settings["discovery.isns.timeo.query_timeout"] * 1000,
      });
    }
    const watch = new IsnsWatch(this.d, record);
    const found = await watch.start();
    this.watches.set(key, watch);
    return found;
  }

  /** At daemon start: a watch for every record that asks for one, in the background, retried until it starts. */
  startAll(): void {
    for (const r of this.d.discoveries.list()) {
      if (r.type === "isns" && r.settings["discovery.isns.use_discoveryd"] === "Yes") this.startInBackground(r);
    }
  }

  private startInBackground(record: IsnsRecord): void {
    const key = `${record.portal.host}|${record.portal.port}`;
    this.discover(record)
      .then((found) => recordIsnsTargets(this.d, record.portal, found))
      .catch((err) => {
        this.d.log.warn(
          `iSNS ${record.portal.host}:${record.portal.port}: ${(err as Error).message}; trying again in ${RETRY_START_MS / 1000} s`,
        );
        this.retries.set(
          key,
          setTimeout(
            () => this.startInBackground((this.d.discoveries.get(record.portal) as IsnsRecord) ?? record),
            RETRY_START_MS,
          ),
        );
      });
  }

  /** Stops the watch of `portal` (its record was deleted or changed), deregistering. */
  async stop(portal: IsnsServer): Promise<void> {
    const key = `${portal.host}|${portal.port}`;
    clearTimeout(this.retries.get(key));
    this.retries.delete(key);
    const w = this.watches.get(key);
    this.watches.delete(key);
    await w?.stop();
  }

  async stopAll(): Promise<void> {
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    const all = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(
      all.map((w) =>
        w
          .stop()
          .catch((err) =>
            this.d.log.warn(`iSNS ${w.server.host}:${w.server.port}: deregistration failed: ${(err as Error).message}`),
          ),
      ),
    );
  }
}
