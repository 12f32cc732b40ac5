// What the daemon does about the system's events (system-events.ts). Network changed: every connection is
// checked at once (a vanished local address drops it, else a NOP-Out must come back quickly) and recovering
// sessions try their next login now, instead of waiting for keepalive timeouts or the backoff. Will sleep:
// SYNCHRONIZE CACHE on every attached LUN, keepalive paused, then the source is acknowledged. Did wake:
// keepalive resumed, every connection probed, what died reinstated. Nothing ever logs out for sleep.
import type { ConsolaInstance } from "consola";
import { IscsiError } from "../contract/errors.ts";
import { LogicalUnit } from "../session/logical-unit.ts";
import { dropIfAddressGone, pauseKeepalive, probe, resumeKeepalive } from "../session/probe.ts";
import type { Session } from "../session/session.ts";
import type { Attached } from "./attachment-table.ts";
import type { ReactionReport } from "../contract/views.ts";
import type { SystemEvent, SystemEventSource } from "./system-events.ts";

/** How long a NOP-Out probe after a network change may take before the connection counts as dead. */
export const PROBE_TIMEOUT_MS = 2_500;
/** The whole will-sleep flush; macOS sleeps anyway 30 s after the notification. */
export const SLEEP_FLUSH_BUDGET_MS = 20_000;

export interface ReactionTargets {
  sessions(): Session[];
  attached(): Attached[];
  readonly log: ConsolaInstance;
}

export class SystemReactions {
  private asleep = false;
  private readonly pinging = new Set<Session>();
  /** Set when the daemon starts its platform source, so will-sleep can be acknowledged to it. */
  source: SystemEventSource | undefined;

  constructor(private readonly t: ReactionTargets) {}

  /** React to one event; resolves when the reaction is done (for will-sleep: after the flush and the ack). */
  async handle(e: SystemEvent): Promise<ReactionReport> {
    const report: ReactionReport = { event: e.kind, sessions: [], flushed: 0, problems: [] };
    switch (e.kind) {
      case "network-changed":
        if (this.asleep) return report; // interfaces go down on the way to sleep; wake probes everything
        this.t.log.debug(`network changed: ${e.detail}`);
        await this.probeAll("network changed", report);
        return report;
      case "will-sleep":
        this.asleep = true;
        this.t.log.info("system will sleep: flushing attached LUNs, pausing keepalive (sessions stay logged in)");
        await this.flushAttached(report);
        for (const s of this.t.sessions()) {
          pauseKeepalive(s);
          report.sessions.push({ id: s.id, outcome: "paused" });
        }
        if (e.ack) this.source?.acknowledge(e.ack);
        return report;
      case "did-wake":
        this.asleep = false;
        this.t.log.info("system woke: resuming keepalive, probing every connection");
        for (const s of this.t.sessions()) resumeKeepalive(s);
        await this.probeAll("woke from sleep", report);
        return report;
    }
  }

  private async probeAll(why: string, report: ReactionReport): Promise<void> {
    await Promise.all(
      this.t.sessions().map(async (s) => {
        // A ping already under way covers this change too, except that an address may have gone since.
        if (this.pinging.has(s)) {
          report.sessions.push({ id: s.id, outcome: dropIfAddressGone(s, why) ? "dropped" : "probing" });
          return;
        }
        this.pinging.add(s);
        try {
          report.sessions.push({ id: s.id, outcome: await probe(s, why, PROBE_TIMEOUT_MS) });
        } finally {
          this.pinging.delete(s);
        }
      }),
    );
  }

  private async flushAttached(report: ReactionReport): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const budget = new Promise<void>((resolve) => (timer = setTimeout(resolve, SLEEP_FLUSH_BUDGET_MS)));
    const flushes = this.t.attached().map(async (x) => {
      const a = x.attachment;
      try {
        await new LogicalUnit(a.session, a.lun).synchronizeCache();
        report.flushed++;
      } catch (err) {
        const e = new IscsiError(
          "GENERIC",
          `SYNCHRONIZE CACHE of LUN ${a.lun} (attachment ${a.id}) before sleep failed: ${(err as Error).message}`,
        );
        report.problems.push(e.message);
        this.t.log.warn(e.message);
      }
    });
    await Promise.race([Promise.all(flushes), budget]);
    clearTimeout(timer);
    if (report.flushed + report.problems.length < flushes.length)
      report.problems.push(`flush before sleep took longer than ${SLEEP_FLUSH_BUDGET_MS / 1000} s; sleeping anyway`);
  }
}
