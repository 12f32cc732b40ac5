// One iSCSI session over one connection (ERL0): the CmdSN window and its postponed queue, the task
// table, the inbound choke point and its handlers, and the public `execute(task)` (RFC 7143 §4.2.2,
// §11.3–§11.19). Recovery policy sits above this object; here a lost connection fails what is outstanding.
import { IscsiError } from "../errors.ts";
import { logFor } from "../log.ts";
import type { LoginParams, Negotiated } from "../login/login.ts";
import { serialAdd, serialGe } from "../pdu/serial.ts";
import type { Frame, TargetPdu } from "../pdu/types.ts";
import { encodeLun } from "../scsi/lun.ts";
import type { Connection } from "../connection/connection.ts";
import { CommandWindow } from "./window.ts";
import { TaskTable } from "./tasks.ts";
import { handleInbound } from "./inbound.ts";
import { sendScsiCommand } from "./data-out.ts";
import { openConnection, type OpenOptions, type Portal } from "./open.ts";
import type { ScsiResult, ScsiTask, TaskState } from "./task.ts";
import { Requests, type PendingRequest } from "./requests.ts";

export type SessionState =
  | { kind: "full-feature" }
  | { kind: "logging-out" }
  | { kind: "failed"; error: Error }
  | { kind: "closed" };

export interface SessionOptions extends OpenOptions {
  portal: Portal;
  login: Omit<LoginParams, "isid" | "tsih" | "cid" | "initialCmdSN"> & { isid?: number; initialCmdSN?: number };
  /** Most SCSI commands in flight at once (the CmdSN window may allow fewer). */
  queueDepth?: number;
}

let nextSessionId = 1;

/** A random-format ISID, RFC 7143 §11.12.5: T=10b, A=0, B and C random, D a qualifier. */
export function makeIsid(): number {
  const r = crypto.getRandomValues(new Uint8Array(5));
  return 0x80 * 2 ** 40 + r[0]! * 2 ** 32 + r[1]! * 2 ** 24 + r[2]! * 2 ** 16 + r[3]! * 2 ** 8 + r[4]!;
}

export class Session {
  readonly id = nextSessionId++;
  readonly log;
  state: SessionState = { kind: "full-feature" };
  readonly window: CommandWindow;
  readonly tasks = new TaskTable<TaskState | PendingRequest>();
  readonly requests: Requests;
  expStatSN: number;
  /** Counters for status output and tests (e.g. how many R2Ts a write took). */
  readonly stats = { commands: 0, dataInPdus: 0, dataOutPdus: 0, r2ts: 0, bytesIn: 0, bytesOut: 0, nopInAnswered: 0 };
  private readonly postponed: TaskState[] = [];
  private inFlight = 0;
  private readonly queueDepth: number;

  private constructor(
    readonly connection: Connection,
    readonly negotiated: Negotiated,
    readonly portal: Portal,
    readonly options: SessionOptions,
  ) {
    this.log = logFor(`s${this.id}:c0`);
    this.window = new CommandWindow({ cmdSN: negotiated.cmdSN, expCmdSN: negotiated.expCmdSN, maxCmdSN: negotiated.maxCmdSN });
    this.expStatSN = negotiated.expStatSN;
    this.queueDepth = options.queueDepth ?? 128;
    this.requests = new Requests(this);
    connection.enterFullFeature(
      { headerDigest: negotiated.headerDigest, dataDigest: negotiated.dataDigest, maxRecvDataSegmentLength: negotiated.maxRecvDataSegmentLength },
      { frame: (f) => this.inbound(f), closed: (e) => this.connectionClosed(e) },
    );
  }

  /** Connect, log in (following redirects) and enter full feature phase. */
  static async open(options: SessionOptions): Promise<Session> {
    const isid = options.login.isid ?? makeIsid();
    const initialCmdSN = options.login.initialCmdSN ?? 1;
    const tag = `s${nextSessionId}:c0`;
    const opened = await openConnection(options.portal, { ...options.login, isid, tsih: 0, cid: 0, initialCmdSN }, tag, options);
    return new Session(opened.connection, opened.negotiated, opened.portal, options);
  }

  get targetName(): string | undefined {
    return this.options.login.targetName;
  }

  /** Run one SCSI command. Resolves with the status whatever it is; rejects only when the outcome is not known. */
  execute(task: ScsiTask): Promise<ScsiResult> {
    if (this.state.kind !== "full-feature") return Promise.reject(this.notUsable());
    const problem = checkTask(task);
    if (problem) return Promise.reject(new IscsiError("INVALID_ARGUMENT", problem));
    return new Promise<ScsiResult>((resolve, reject) => {
      const itt = this.tasks.allocate();
      const t: TaskState = {
        kind: "scsi", itt, task, lunField: encodeLun(task.lun), cmdSN: 0,
        buffer: task.direction === "read" ? (task.buffer ?? new Uint8Array(task.transferLength)) : EMPTY,
        nextDataSN: 0, nextR2TSN: 0, received: 0, resolve, reject, sent: false,
      };
      this.tasks.add(itt, t);
      this.postponed.push(t);
      this.pump();
    });
  }

  /** Send postponed commands while the CmdSN window and the queue depth allow (RFC 7143 §4.2.2.1). */
  pump(): void {
    while (this.postponed.length > 0 && this.window.open && this.inFlight < this.queueDepth && this.state.kind === "full-feature") {
      const t = this.postponed.shift()!;
      t.cmdSN = this.window.take();
      t.sent = true;
      this.inFlight++;
      this.stats.commands++;
      sendScsiCommand(this, t);
    }
  }

  /** Complete a task exactly once and free its tag. */
  finish(t: TaskState, outcome: { result: ScsiResult } | { error: Error }): void {
    if (this.tasks.get(t.itt) !== t) return;
    this.tasks.delete(t.itt);
    if (t.sent) this.inFlight--;
    if ("result" in outcome) t.resolve(outcome.result);
    else t.reject(outcome.error);
    this.pump();
  }

  /** StatSN acknowledgement (RFC 7143 §4.2.2.2): ExpStatSN = last StatSN + 1, only forward. */
  noteStatSN(statSN: number): void {
    const next = serialAdd(statSN, 1);
    if (serialGe(next, this.expStatSN)) this.expStatSN = next;
  }

  /** Orderly end: Logout (reason 0, close the session) then close the TCP connection (RFC 7143 §11.14). */
  async logout(timeoutMs = 10_000): Promise<void> {
    if (this.state.kind !== "full-feature") {
      this.connection.close();
      return;
    }
    this.state = { kind: "logging-out" };
    try {
      await this.requests.logout(timeoutMs);
    } finally {
      this.state = { kind: "closed" };
      this.failAll(new IscsiError("ABORTED", "session logged out"));
      this.connection.close();
    }
  }

  /** Drop the connection without a logout. */
  close(reason?: Error): void {
    if (this.state.kind === "full-feature") this.state = { kind: "closed" };
    this.failAll(reason ?? new IscsiError("ABORTED", "session closed"));
    this.connection.close(reason);
  }

  private inbound(frame: Frame): void {
    handleInbound(this, frame as Frame<TargetPdu>);
  }

  private connectionClosed(error: Error | undefined): void {
    const err = error ?? new IscsiError("TRANSPORT", `connection to ${this.connection.peer} closed`);
    if (this.state.kind === "full-feature") {
      this.state = { kind: "failed", error: err };
      this.log.warn(`connection lost: ${err.message}`);
    }
    this.failAll(err);
  }

  private failAll(error: Error): void {
    this.postponed.length = 0;
    for (const t of this.tasks.drain()) t.reject(error);
    this.inFlight = 0;
  }

  private notUsable(): Error {
    if (this.state.kind === "failed") return new IscsiError("TRANSPORT", `session to ${this.connection.peer} has failed: ${this.state.error.message}`, { cause: this.state.error });
    return new IscsiError("SESSION_NOT_FOUND", `session to ${this.connection.peer} is ${this.state.kind}`);
  }
}

const EMPTY = new Uint8Array(0);

function checkTask(task: ScsiTask): string | undefined {
  if (task.cdb.length < 6 || task.cdb.length > 16) return `CDB length ${task.cdb.length} is outside 6..16`;
  if (!Number.isInteger(task.transferLength) || task.transferLength < 0 || task.transferLength > 0xffffffff) return `transfer length ${task.transferLength} is invalid`;
  if (task.direction === "write" && (task.data?.length ?? 0) < task.transferLength) return `write data (${task.data?.length ?? 0} bytes) is shorter than the transfer length ${task.transferLength}`;
  if (task.direction === "read" && task.buffer && task.buffer.length < task.transferLength) return `read buffer (${task.buffer.length} bytes) is shorter than the transfer length ${task.transferLength}`;
  if (task.direction === "none" && task.transferLength !== 0) return "a command without data phase must have transfer length 0";
  return undefined;
}

