// What a session is to its helpers (inbound, data-out, requests, keepalive, timeouts, recovery, logical units):
// its state union, its options, and SessionCore, the one interface they read and act through. Each helper
// narrows it further to what it uses; only session.ts writes the fields, and only transition() the state.
import type { ConsolaInstance } from "consola";
import type { Connection } from "../connection/connection.ts";
import type { LoginParams, Negotiated } from "../login/login.ts";
import type { Portal } from "../transport/portal.ts";
import type { OpenedConnection, OpenOptions } from "./open.ts";
import type { Requests } from "./requests.ts";
import type { ExtraConnection, PendingRequest, ScsiResult, ScsiTask, TaskState } from "./task.ts";
import type { TaskTable } from "./tasks.ts";
import type { CommandWindow } from "./window.ts";

export type SessionState =
  | { kind: "full-feature" }
  /** Connection lost; reinstating. `ioFailed` once the replacement timeout has passed. */
  | { kind: "recovering"; since: number; attempt: number; error: Error; ioFailed: boolean }
  /** Logged in again; re-checking LU identity before queued commands go out. */
  | { kind: "verifying" }
  | { kind: "logging-out" }
  | { kind: "failed"; error: Error }
  | { kind: "closed" };

export interface RecoveryOptions {
  /** Reinstate after a lost connection (off: the session fails, as one-shot tools may prefer). */
  enabled: boolean;
  /** 0 = fail waiting I/O at once, -1 = never, else ms after the loss. open-iscsi's default is 120 s. */
  replacementTimeoutMs: number;
  /** Cap of the exponential backoff between login attempts. */
  maxBackoffMs: number;
  /** NOP-Out after this much silence (0 = off), and the connection is declared dead after nopTimeoutMs more. */
  nopIntervalMs: number;
  nopTimeoutMs: number;
  /** A command without status after this long is aborted (ABORT TASK → LUN RESET → drop); 0 = off. */
  commandTimeoutMs: number;
}

export const DEFAULT_RECOVERY: RecoveryOptions = {
  enabled: true,
  replacementTimeoutMs: 120_000,
  maxBackoffMs: 30_000,
  nopIntervalMs: 5_000,
  nopTimeoutMs: 5_000,
  commandTimeoutMs: 30_000,
};

export interface RecoveryEvent {
  at: number;
  event: "lost" | "attempt-failed" | "reinstated" | "io-failed" | "identity-changed";
  detail: string;
}

export interface SessionOptions extends OpenOptions {
  portal: Portal;
  login: Omit<LoginParams, "isid" | "tsih" | "cid" | "initialCmdSN"> & { isid?: number; initialCmdSN?: number };
  /** Most SCSI commands in flight at once (the CmdSN window may allow fewer). */
  queueDepth?: number;
  recovery?: Partial<RecoveryOptions>;
  /** The number users know the session by (the daemon's sid), used in its log tag; default a per-process counter. */
  id?: number;
  /** Portals where the target may be now, asked when a reinstatement cannot reach the known ones (reconnect.ts). */
  alternatePortals?: () => Promise<Portal[]>;
}

/** MC/S as the helpers see it: the connection whose PDU is being handled, and a listing for status output. */
export interface SessionConnections {
  readonly current: ExtraConnection | undefined;
  views(): Array<{ cid: number; peer: string; outstanding: number; commands: number }>;
}

export interface SessionCore {
  readonly id: number;
  readonly log: ConsolaInstance;
  readonly isid: number;
  readonly options: SessionOptions;
  readonly recoveryOptions: RecoveryOptions;
  readonly targetName: string | undefined;
  readonly state: SessionState;
  readonly connection: Connection;
  readonly negotiated: Negotiated;
  /** Where the connection is (after redirects). */
  readonly portal: Portal;
  readonly window: CommandWindow;
  readonly expStatSN: number;
  readonly tasks: TaskTable<TaskState | PendingRequest>;
  readonly requests: Requests;
  /** Counters (the helpers add to them). */
  readonly stats: Record<
    | "commands"
    | "completed"
    | "latencyMicros"
    | "dataInPdus"
    | "dataOutPdus"
    | "r2ts"
    | "bytesIn"
    | "bytesOut"
    | "nopInAnswered"
    | "reinstatements"
    | "reissued",
    number
  >;
  /** The one way the state changes; logged when its kind does. */
  transition(next: SessionState, why: string): void;
  execute(task: ScsiTask, opts?: { priority?: boolean }): Promise<ScsiResult>;
  pump(): void;
  finish(t: TaskState, outcome: { result: ScsiResult } | { error: Error }): void;
  noteStatSN(statSN: number): void;
  adopt(opened: OpenedConnection): void;
  failEverything(error: Error): void;
  failQueued(error: Error): void;
  requeueOutstanding(error: Error): void;
  /** A target-requested logout is under way: no new commands until the next connection. */
  holdNewCommands(): void;
  /** Time2Wait (s) from an Async Message event 2 or 3, used once by the next reinstatement (RFC 7143 §11.9.1). */
  hintTime2Wait(seconds: number): void;
  takeTime2WaitHint(): number | undefined;
  /** The identity of an LU in use (VPD 0x80/0x83, capacity), recorded when it is read, re-checked after a reinstatement. */
  recordIdentity(lun: number, identity: string): void;
  recordedIdentity(lun: number): string | undefined;
  recordedIdentities(): ReadonlyMap<number, string>;
  /** MC/S: the connections beyond the leading one (connections.ts implements this). */
  readonly connections: SessionConnections;
  /** Reconnect history, newest last. */
  readonly history: readonly RecoveryEvent[];
  logout(timeoutMs?: number): Promise<void>;
  close(reason?: Error): void;
}
