// One iSCSI session (ERL0, one connection): the CmdSN window and its postponed queue, the task table, the
// inbound choke point, and the public `execute(task)` (RFC 7143 §4.2.2, §11.3–§11.19). When the connection
// is lost the session reinstates itself (recovery.ts, RFC 7143 §6.3.5, §7.1) and re-issues what it can.
import { errorCodeOf, IscsiError } from "../contract/errors.ts";
import { logFor } from "../log.ts";
import type { Negotiated } from "../login/login.ts";
import { serialAdd, serialGe } from "../pdu/serial.ts";
import type { Frame, TargetPdu } from "../pdu/types.ts";
import { encodeLun } from "../scsi/lun.ts";
import type { Connection } from "../connection/connection.ts";
import { CommandWindow } from "./window.ts";
import { TaskTable } from "./tasks.ts";
import { handleInbound, placeDataIn } from "./inbound.ts";
import { sendScsiCommand } from "./data-out.ts";
import { loginParamsFor, openConnection, type OpenedConnection } from "./open.ts";
import type { Portal } from "../transport/portal.ts";
import { replayable, type PendingRequest, type ScsiResult, type ScsiTask, type TaskState } from "./task.ts";
import { Requests } from "./requests.ts";
import { Recovery } from "./recovery.ts";
import {
  DEFAULT_RECOVERY,
  type RecoveryEvent,
  type RecoveryOptions,
  type SessionCore,
  type SessionOptions,
  type SessionState,
} from "./core.ts";
import { Keepalive } from "./keepalive.ts";
import { CommandTimeouts } from "./timeouts.ts";
import { WindowStall } from "./window-stall.ts";
import { Connections } from "./connections.ts";

let nextSessionId = 1;

/** A random-format ISID, RFC 7143 §11.12.5: T=10b, A=0, B and C random, D a qualifier. */
export function makeIsid(): number {
  const r = crypto.getRandomValues(new Uint8Array(5));
  return 0x80 * 2 ** 40 + r[0]! * 2 ** 32 + r[1]! * 2 ** 24 + r[2]! * 2 ** 16 + r[3]! * 2 ** 8 + r[4]!;
}

export type { SessionOptions, SessionState } from "./core.ts";

export class Session implements SessionCore {
  readonly id: number;
  readonly log;
  private current: SessionState = { kind: "full-feature" };
  connection: Connection;
  negotiated: Negotiated;
  portal: Portal;
  window: CommandWindow;
  expStatSN: number;
  readonly isid: number;
  readonly tasks = new TaskTable<TaskState | PendingRequest>();
  readonly requests: Requests;
  readonly recoveryOptions: RecoveryOptions;
  /**
   * Counters for status output and tests (e.g. how many R2Ts a write took). `completed` counts commands that
   * got a status and `latencyMicros` sums their times from send to status, so a reader sampling twice gets
   * the mean latency of the commands in between.
   */
  readonly stats = {
    commands: 0,
    completed: 0,
    latencyMicros: 0,
    dataInPdus: 0,
    dataOutPdus: 0,
    r2ts: 0,
    bytesIn: 0,
    bytesOut: 0,
    nopInAnswered: 0,
    reinstatements: 0,
    reissued: 0,
  };
  /** Identity of each LU in use (VPD 0x80/0x83, capacity), re-checked after a reinstatement. */
  private readonly identities = new Map<number, string>();
  /** No new commands go out (a target-requested logout is under way); cleared on the next connection. */
  private holdCommands = false;
  private time2WaitHint: number | undefined;
  private readonly postponed: TaskState[] = [];
  private inFlight = 0;
  private readonly queueDepth: number;
  private readonly recovery: Recovery;
  readonly keepalive: Keepalive;
  private readonly timeouts: CommandTimeouts;
  readonly windowStall: WindowStall;
  /** MC/S: the connections beyond the leading one (connections.ts). */
  readonly connections: Connections;

  private constructor(
    opened: OpenedConnection,
    readonly options: SessionOptions,
    isid: number,
  ) {
    this.id = options.id ?? nextSessionId++;
    this.log = logFor(`s${this.id}:c0`);
    this.isid = isid;
    this.connection = opened.connection;
    this.negotiated = opened.negotiated;
    this.portal = opened.portal;
    this.window = new CommandWindow(opened.negotiated);
    this.expStatSN = opened.negotiated.expStatSN;
    this.queueDepth = options.queueDepth ?? 128;
    this.requests = new Requests(this);
    this.recoveryOptions = { ...DEFAULT_RECOVERY, ...options.recovery };
    this.recovery = new Recovery(this);
    this.keepalive = new Keepalive(this);
    this.timeouts = new CommandTimeouts(this);
    this.windowStall = new WindowStall(this, this.postponed);
    this.connections = new Connections(this);
    this.adopt(opened);
  }

  /** Connect, log in (following redirects) and enter full feature phase. */
  static async open(options: SessionOptions): Promise<Session> {
    const isid = options.login.isid ?? makeIsid();
    const opened = await openConnection(
      options.portal,
      loginParamsFor(options.login, isid, options.login.initialCmdSN ?? 1),
      `s${options.id ?? nextSessionId}:c0`,
      options,
    );
    const session = new Session(opened, options, isid);
    await session.connections.open();
    return session;
  }

  /** Take over a freshly logged-in connection: its window, StatSN and digests (also after a reinstatement). */
  adopt(opened: OpenedConnection): void {
    this.connection = opened.connection;
    this.negotiated = opened.negotiated;
    this.portal = opened.portal;
    this.window = new CommandWindow(opened.negotiated);
    this.expStatSN = opened.negotiated.expStatSN;
    this.holdCommands = false;
    const n = opened.negotiated;
    const connection = opened.connection;
    connection.enterFullFeature(
      { headerDigest: n.headerDigest, dataDigest: n.dataDigest, maxRecvDataSegmentLength: n.maxRecvDataSegmentLength },
      {
        frame: (f) => this.inbound(f),
        placeData: (f) => placeDataIn(this, f as Frame<TargetPdu>),
        closed: (e) => this.connectionClosed(connection, e),
      },
    );
    this.keepalive.start();
    this.timeouts.start();
  }

  get targetName(): string | undefined {
    return this.options.login.targetName;
  }

  /** Reconnect history, newest last (for status output). */
  get history(): readonly RecoveryEvent[] {
    return this.recovery.history;
  }

  /** While recovering: attempt the next login now (the network changed or the machine woke). */
  retryNow(): void {
    this.recovery.retryNow();
  }

  get state(): SessionState {
    return this.current;
  }

  /** Change state and say so in the log: the only place the state changes. */
  transition(next: SessionState, why: string): void {
    const from = this.current.kind;
    this.current = next;
    if (from !== next.kind) this.log.info(`${from} → ${next.kind}: ${why}`);
    // MC/S: after a reinstatement the other connections log in again (at ERL 0 they went with the session).
    if (from !== "full-feature" && next.kind === "full-feature") void this.connections.open();
  }

  holdNewCommands(): void {
    this.holdCommands = true;
  }

  hintTime2Wait(seconds: number): void {
    this.time2WaitHint = seconds;
  }

  takeTime2WaitHint(): number | undefined {
    const hint = this.time2WaitHint;
    this.time2WaitHint = undefined;
    return hint;
  }

  recordIdentity(lun: number, identity: string): void {
    this.identities.set(lun, identity);
  }

  recordedIdentity(lun: number): string | undefined {
    return this.identities.get(lun);
  }

  recordedIdentities(): ReadonlyMap<number, string> {
    return this.identities;
  }

  /**
   * Run one SCSI command. Resolves with the status whatever it is; rejects only when the outcome is not
   * known or the session cannot carry it. While the session recovers, commands wait (replacement timeout).
   */
  execute(task: ScsiTask, opts: { priority?: boolean } = {}): Promise<ScsiResult> {
    const refusal = this.refusal(opts.priority ?? false);
    if (refusal) return Promise.reject(refusal);
    const problem = checkTask(task);
    if (problem) return Promise.reject(new IscsiError("INVALID_ARGUMENT", problem));
    return new Promise<ScsiResult>((resolve, reject) => {
      const t: TaskState = {
        kind: "scsi",
        itt: 0,
        task,
        lunField: lunFieldOf(task.lun),
        cmdSN: 0,
        buffer: task.direction === "read" ? (task.buffer ?? new Uint8Array(task.transferLength)) : EMPTY,
        nextDataSN: 0,
        nextR2TSN: 0,
        received: 0,
        resolve,
        reject,
        sent: false,
        sentAt: 0,
        queuedAt: performance.now(),
        priority: opts.priority ?? false,
        expired: false,
      };
      if (t.priority) this.postponed.unshift(t);
      else this.postponed.push(t);
      this.pump();
    });
  }

  /** Send postponed commands while the CmdSN window and the queue depth allow (RFC 7143 §4.2.2.1). */
  pump(): void {
    this.requests.sendWaiting();
    while (this.postponed.length > 0 && this.window.open && this.inFlight < this.queueDepth && !this.holdCommands) {
      const head = this.postponed[0]!;
      if (!(this.state.kind === "full-feature" || (this.state.kind === "verifying" && head.priority))) return;
      this.postponed.shift();
      head.itt = this.tasks.allocate();
      this.tasks.add(head.itt, head);
      head.cmdSN = this.window.take();
      head.sent = true;
      head.sentAt = performance.now();
      this.connections.pick(head);
      this.inFlight++;
      this.stats.commands++;
      sendScsiCommand(this, head);
    }
    if (this.postponed.length > 0 && !this.window.open) this.windowStall.stalled();
  }

  /** Complete a task exactly once and free its tag. */
  finish(t: TaskState, outcome: { result: ScsiResult } | { error: Error }): void {
    if (this.tasks.get(t.itt) !== t) return;
    this.tasks.delete(t.itt);
    if (t.sent) {
      this.inFlight--;
      this.connections.release(t);
    }
    if ("result" in outcome) {
      this.stats.completed++;
      this.stats.latencyMicros += Math.round((performance.now() - t.sentAt) * 1000);
      t.resolve(outcome.result);
    } else t.reject(outcome.error);
    this.pump();
  }

  /** StatSN acknowledgement (RFC 7143 §4.2.2.2): ExpStatSN = last StatSN + 1, only forward. */
  noteStatSN(statSN: number): void {
    const next = serialAdd(statSN, 1);
    const via = this.connections.current;
    if (via) {
      if (serialGe(next, via.expStatSN)) via.expStatSN = next;
      return;
    }
    if (serialGe(next, this.expStatSN)) this.expStatSN = next;
  }

  /** Orderly end: Logout (reason 0, close the session) then close the TCP connection (RFC 7143 §11.14). */
  async logout(timeoutMs = 10_000): Promise<void> {
    const wasUp = this.state.kind === "full-feature";
    this.transition({ kind: "logging-out" }, "logout requested");
    this.recovery.cancel();
    this.keepalive.stop();
    this.timeouts.stop();
    try {
      if (wasUp) await this.requests.logout(timeoutMs);
    } catch (err) {
      // QUIRK(istgt 0.4): about one logout in 20 it logs "Logout from …" and ends the connection without its
      // Logout Response reaching us. The session is over at both ends either way (RFC 7143 §11.14: the target
      // closes the connection after a logout), so a close by the target after our Logout Request is success.
      if (!(errorCodeOf(err) === "TRANSPORT" && this.connection.closed)) throw err;
      this.log.debug(`the target closed the connection instead of answering the logout: ${(err as Error).message}`);
    } finally {
      this.transition({ kind: "closed" }, "logged out");
      this.failEverything(new IscsiError("ABORTED", "session logged out"));
      this.connections.closeAll();
      this.connection.close();
    }
  }

  /** Drop the connection without a logout; nothing is retried. */
  close(reason?: Error): void {
    if (this.state.kind !== "closed") this.transition({ kind: "closed" }, reason?.message ?? "closed");
    this.recovery.cancel();
    this.keepalive.stop();
    this.timeouts.stop();
    this.failEverything(reason ?? new IscsiError("ABORTED", "session closed"));
    this.connections.closeAll(reason);
    this.connection.close(reason);
  }

  /** Fail every queued and outstanding command (replacement timeout, logout, close). */
  failEverything(error: Error): void {
    this.failQueued(error);
    for (const t of this.tasks.drain()) t.reject(error);
    this.inFlight = 0;
  }

  /** Fail the commands still waiting to be sent. */
  failQueued(error: Error): void {
    for (const t of this.postponed.splice(0)) t.reject(error);
  }

  /**
   * The connection is gone: pull every outstanding command back into the queue in CmdSN order (they will
   * be re-issued on the new connection), except those whose replay could do harm, which fail with
   * "outcome unknown". Pending NOP/Text/TMF requests fail.
   */
  requeueOutstanding(error: Error): void {
    const sent: TaskState[] = [];
    for (const t of this.tasks.drain()) {
      if (t.kind === "request") {
        t.reject(error);
        continue;
      }
      if (!replayable(t.task)) {
        t.reject(
          new IscsiError(
            "OUTCOME_UNKNOWN",
            `${t.task.name ?? `opcode 0x${t.task.cdb[0]!.toString(16)}`}: connection lost before its status arrived; not re-issued because it is not idempotent`,
            { cause: error },
          ),
        );
        continue;
      }
      sent.push(t);
    }
    sent.sort((a, b) => (a.cmdSN === b.cmdSN ? 0 : serialGe(a.cmdSN, b.cmdSN) ? 1 : -1));
    for (const t of sent) {
      Object.assign(t, {
        nextDataSN: 0,
        nextR2TSN: 0,
        received: 0,
        sent: false,
        priority: false,
        expired: false,
        via: undefined,
      });
    }
    this.stats.reissued += sent.length;
    this.postponed.unshift(...sent);
    this.inFlight = 0;
    this.tasks.nextGeneration();
  }

  /** A PDU from any connection of the session (the leading one, or one of connections.ts). */
  inboundFrame(frame: Frame): void {
    this.inbound(frame);
  }

  private inbound(frame: Frame): void {
    this.keepalive.activity();
    handleInbound(this, frame as Frame<TargetPdu>);
  }

  private connectionClosed(connection: Connection, error: Error | undefined): void {
    if (connection !== this.connection) return; // an older connection's late report
    const err = error ?? new IscsiError("TRANSPORT", `connection to ${connection.peer} closed`);
    this.connections.closeAll(err);
    this.keepalive.stop();
    this.timeouts.stop();
    switch (this.state.kind) {
      case "full-feature":
      case "verifying":
        this.recovery.connectionLost(err);
        return;
      case "logging-out":
      case "closed":
      case "failed":
        this.failEverything(err);
        return;
      case "recovering":
        return;
    }
  }

  private refusal(priority: boolean): Error | undefined {
    const s = this.state;
    switch (s.kind) {
      case "full-feature":
        return undefined;
      case "verifying":
        return undefined;
      case "recovering":
        if (!s.ioFailed || priority) return undefined;
        return new IscsiError(
          "TRANSPORT",
          `session to ${this.portal.host}:${this.portal.port} is down (since ${new Date(s.since).toISOString()}; replacement timeout passed): ${s.error.message}`,
          { cause: s.error },
        );
      case "failed":
        return new IscsiError(
          "TRANSPORT",
          `session to ${this.portal.host}:${this.portal.port} has failed: ${s.error.message}`,
          { cause: s.error },
        );
      default:
        return new IscsiError("SESSION_NOT_FOUND", `session to ${this.portal.host}:${this.portal.port} is ${s.kind}`);
    }
  }
}

const EMPTY = new Uint8Array(0);
const LUN_FIELDS = new Map<number, bigint>();
function lunFieldOf(lun: number): bigint {
  let f = LUN_FIELDS.get(lun);
  if (f === undefined) LUN_FIELDS.set(lun, (f = encodeLun(lun)));
  return f;
}

function checkTask(task: ScsiTask): string | undefined {
  if (task.cdb.length < 6 || task.cdb.length > 16) return `CDB length ${task.cdb.length} is outside 6..16`;
  if (!Number.isInteger(task.transferLength) || task.transferLength < 0 || task.transferLength > 0xffffffff)
    return `transfer length ${task.transferLength} is invalid`;
  if (task.direction === "write" && (task.data?.length ?? 0) < task.transferLength)
    return `write data (${task.data?.length ?? 0} bytes) is shorter than the transfer length ${task.transferLength}`;
  if (task.direction === "read" && task.buffer && task.buffer.length < task.transferLength)
    return `read buffer (${task.buffer.length} bytes) is shorter than the transfer length ${task.transferLength}`;
  if (task.direction === "none" && task.transferLength !== 0)
    return "a command without data phase must have transfer length 0";
  return undefined;
}
