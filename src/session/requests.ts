// Session requests that are not SCSI commands: NOP-Out pings and answers, Text (SendTargets), Logout
// and Task Management (RFC 7143 §11.5, §11.10, §11.14, §11.18). They share the task table's ITT space.
import { IscsiError } from "../contract/errors.ts";
import { encodeLogoutRequest } from "../pdu/logout.ts";
import { encodeNopOut } from "../pdu/nop.ts";
import { encodeTaskMgmtRequest } from "../pdu/task-mgmt.ts";
import { encodeTextRequest } from "../pdu/text-pdu.ts";
import { encodeTextKeys, TextAccumulator } from "../pdu/text.ts";
import { Opcode, RESERVED_TAG, type Frame, type TargetPdu, type NopIn } from "../pdu/types.ts";
import type { Connection } from "../connection/connection.ts";
import type { Negotiated } from "../login/login.ts";
import type { PendingRequest, TaskState } from "./task.ts";
import type { TaskTable } from "./tasks.ts";
import type { CommandWindow } from "./window.ts";

/** What requests may read and do of their session. */
export interface RequestsHost {
  readonly connection: Connection;
  readonly window: CommandWindow;
  readonly negotiated: Negotiated;
  readonly expStatSN: number;
  readonly tasks: TaskTable<TaskState | PendingRequest>;
  /** MC/S: the connection whose PDU is being handled (a NOP-In is answered on it). */
  readonly connections: { readonly current: { connection: Connection; expStatSN: number } | undefined };
  noteStatSN(statSN: number): void;
}

/** TMF function codes, RFC 7143 §11.5.1. */
export const TaskManagementFunction = {
  AbortTask: 1,
  AbortTaskSet: 2,
  ClearAca: 3,
  ClearTaskSet: 4,
  LogicalUnitReset: 5,
  TargetWarmReset: 6,
  TargetColdReset: 7,
  TaskReassign: 8,
} as const;

/** TMF response codes, RFC 7143 §11.6.1. */
const TMF_RESPONSES: Record<number, string> = {
  0: "function complete",
  1: "task does not exist",
  2: "LUN does not exist",
  3: "task still allegiant",
  4: "task allegiance reassignment not supported",
  5: "task management function not supported",
  6: "function authorization failed",
  255: "function rejected",
};

export class Requests {
  constructor(private readonly s: RequestsHost) {}

  /** NOP-Out ping (RFC 7143 §11.18): resolves with the round trip in ms when the NOP-In comes back. */
  ping(timeoutMs = 5_000): Promise<number> {
    const started = performance.now();
    return this.request(
      "NOP-Out ping",
      timeoutMs,
      (itt) => {
        this.s.connection.send(
          encodeNopOut({
            immediate: true,
            lun: 0n,
            itt,
            ttt: RESERVED_TAG,
            cmdSN: this.s.window.cmdSN,
            expStatSN: this.s.expStatSN,
          }),
        );
      },
      (frame) => {
        // RFC 7143 §11.19: the answer echoes our ping data, and we sent none (Linux: ISCSI_ERR_PROTO).
        if (frame.data.length !== 0)
          throw new IscsiError(
            "PROTOCOL",
            `NOP-In answering our ping carries ${frame.data.length} bytes of data we did not send`,
          );
        return true;
      },
    ).then(() => performance.now() - started);
  }

  /** Answer a target's NOP-In that asks for one (TTT ≠ 0xffffffff), echoing its LUN, TTT and ping data. */
  answerNopIn(p: NopIn, data: Uint8Array): void {
    const echo = data.length <= this.s.negotiated.maxXmitDataSegmentLength ? data : data.subarray(0, 0);
    // The answer goes on the connection the NOP-In came on (MC/S: connections.ts), with its StatSN.
    const via = this.s.connections.current;
    (via?.connection ?? this.s.connection).send(
      encodeNopOut({
        immediate: true,
        lun: p.lun,
        itt: RESERVED_TAG,
        ttt: p.ttt,
        cmdSN: this.s.window.cmdSN,
        expStatSN: via?.expStatSN ?? this.s.expStatSN,
        dataSegmentLength: echo.length,
      }),
      echo.length > 0 ? echo : undefined,
    );
  }

  /** A Text Request with continuation (RFC 7143 §11.10, §6.1 C bit): returns all key=value pairs of the answer. */
  text(pairs: Array<[string, string]>, timeoutMs = 15_000, maxBytes = 1 << 20): Promise<Array<[string, string]>> {
    const acc = new TextAccumulator(maxBytes, "Text Response");
    const data = encodeTextKeys(pairs);
    let result: Array<[string, string]> = [];
    return this.request(
      "Text",
      timeoutMs,
      (itt) => {
        this.sendText(itt, RESERVED_TAG, data);
      },
      (frame) => {
        if (frame.pdu.opcode !== Opcode.TextResponse)
          throw new IscsiError("PROTOCOL", `expected a Text Response for ITT 0x${frame.pdu.itt.toString(16)}`);
        const p = frame.pdu;
        this.s.noteStatSN(p.statSN);
        acc.append(frame.data);
        if (p.continue) {
          if (p.final) throw new IscsiError("PROTOCOL", "Text Response has both F and C set");
          this.sendText(p.itt, p.ttt, new Uint8Array(0));
          return false;
        }
        if (!p.final) {
          // Target has more to say in a new exchange: pull it with an empty request (RFC 7143 §11.11.1).
          this.sendText(p.itt, p.ttt, new Uint8Array(0));
          return false;
        }
        result = acc.finish();
        return true;
      },
    ).then(() => result);
  }

  /** Logout, reason 0 "close the session" (RFC 7143 §11.14.1). */
  logout(timeoutMs: number): Promise<void> {
    return this.request(
      "Logout",
      timeoutMs,
      (itt) => {
        this.s.connection.send(
          encodeLogoutRequest({
            immediate: true,
            reasonCode: 0,
            itt,
            cid: 0,
            cmdSN: this.s.window.cmdSN,
            expStatSN: this.s.expStatSN,
          }),
        );
      },
      (frame) => {
        if (frame.pdu.opcode !== Opcode.LogoutResponse) throw new IscsiError("PROTOCOL", "expected a Logout Response");
        this.s.noteStatSN(frame.pdu.statSN);
        if (frame.pdu.response !== 0)
          throw new IscsiError("LOGOUT", `target refused the logout (response ${frame.pdu.response})`);
        return true;
      },
    ).then(() => undefined);
  }

  /** One task management request (RFC 7143 §11.5); resolves with the response name, rejects unless complete. */
  taskManagement(
    fn: number,
    lun: bigint,
    referencedTaskTag = RESERVED_TAG,
    refCmdSN = 0,
    timeoutMs = 30_000,
  ): Promise<void> {
    return this.request(
      `Task Management ${fn}`,
      timeoutMs,
      (itt) => {
        this.s.connection.send(
          encodeTaskMgmtRequest({
            immediate: true,
            function: fn,
            lun,
            itt,
            referencedTaskTag,
            cmdSN: this.s.window.cmdSN,
            expStatSN: this.s.expStatSN,
            refCmdSN,
            expDataSN: 0,
          }),
        );
      },
      (frame) => {
        if (frame.pdu.opcode !== Opcode.TaskMgmtResponse)
          throw new IscsiError("PROTOCOL", "expected a Task Management Response");
        this.s.noteStatSN(frame.pdu.statSN);
        const r = frame.pdu.response;
        if (r !== 0)
          throw new IscsiError(
            "SCSI_STATUS",
            `task management function ${fn} failed: ${TMF_RESPONSES[r] ?? `response ${r}`}`,
          );
        return true;
      },
    ).then(() => undefined);
  }

  /** Text Requests are non-immediate: they wait for room in the CmdSN window like commands (RFC 7143 §4.2.2.1). */
  private readonly waitingForWindow: Array<() => void> = [];

  /** Send what waited for the window; called by the session whenever the window may have opened. */
  sendWaiting(): void {
    while (this.waitingForWindow.length > 0 && this.s.window.open && !this.s.connection.closed)
      this.waitingForWindow.shift()!();
  }

  private sendText(itt: number, ttt: number, data: Uint8Array): void {
    if (!this.s.window.open || this.waitingForWindow.length > 0) {
      this.waitingForWindow.push(() => {
        if (this.s.tasks.get(itt)) this.sendText(itt, ttt, data); // unless it timed out meanwhile
      });
      return;
    }
    const cmdSN = this.s.window.take();
    this.s.connection.send(
      encodeTextRequest({
        immediate: false,
        final: true,
        continue: false,
        lun: 0n,
        itt,
        ttt,
        cmdSN,
        expStatSN: this.s.expStatSN,
        dataSegmentLength: data.length,
      }),
      data.length > 0 ? data : undefined,
    );
  }

  private request(
    what: string,
    timeoutMs: number,
    send: (itt: number) => void,
    onResponse: (f: Frame<TargetPdu>) => boolean,
  ): Promise<void> {
    if (this.s.connection.closed)
      return Promise.reject(new IscsiError("TRANSPORT", `${what}: connection to ${this.s.connection.peer} is closed`));
    return new Promise<void>((resolve, reject) => {
      const itt = this.s.tasks.allocate();
      const timer = setTimeout(() => {
        if (this.s.tasks.get(itt) !== req) return;
        this.s.tasks.delete(itt);
        const w = this.s.window;
        const closed = w.open
          ? ""
          : `; its command window stayed closed (ExpCmdSN ${w.expCmdSN}, MaxCmdSN ${w.maxCmdSN})`;
        reject(
          new IscsiError(
            "PDU_TIMEOUT",
            `${what}: no answer from ${this.s.connection.peer} within ${timeoutMs} ms${closed}`,
          ),
        );
      }, timeoutMs);
      const req: PendingRequest = {
        kind: "request",
        itt,
        what,
        onResponse: (frame) => {
          let done: boolean;
          try {
            done = onResponse(frame);
          } catch (err) {
            this.s.tasks.delete(itt);
            clearTimeout(timer);
            reject(err as Error);
            return true;
          }
          if (done) {
            this.s.tasks.delete(itt);
            clearTimeout(timer);
            resolve();
          }
          return done;
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.s.tasks.add(itt, req);
      send(itt);
    });
  }
}
