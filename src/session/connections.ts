// Multiple connections per session (MC/S, RFC 7143 §6.1, §6.3): the connections beyond the leading one log
// in with the session's ISID and TSIH and a new CID, and each command goes to one connection by policy
// (round-robin, or the one with the fewest outstanding) and keeps its allegiance there: its Data-Out, R2Ts,
// Data-In and status all travel on that connection. One CmdSN window serves them all; StatSN is counted per
// connection. At ERL 0 the loss of any connection is the loss of the session (recovery.ts reinstates it with
// one connection, then the others log in again).
import { IscsiError } from "../contract/errors.ts";
import type { Connection } from "../connection/connection.ts";
import type { Frame, TargetPdu } from "../pdu/types.ts";
import { placeDataIn } from "./inbound.ts";
import { loginParamsFor, openConnection } from "./open.ts";
import type { SessionCore } from "./core.ts";
import type { ExtraConnection, TaskState } from "./task.ts";

/** What the connections need of their session (Session fits it). */
type ConnectionsHost = Pick<
  SessionCore,
  | "id"
  | "log"
  | "isid"
  | "options"
  | "state"
  | "connection"
  | "negotiated"
  | "portal"
  | "window"
  | "tasks"
  | "connections"
> & {
  /** A PDU from any connection of the session, into its inbound choke point. */
  inboundFrame(frame: Frame): void;
};

export type ConnectionPolicy = "round-robin" | "least-outstanding";

export interface ConnectionView {
  cid: number;
  peer: string;
  outstanding: number;
  commands: number;
}

export class Connections {
  readonly extra: ExtraConnection[] = [];
  policy: ConnectionPolicy = "round-robin";
  /** Commands on the leading connection (CID 0). */
  leadingOutstanding = 0;
  leadingCommands = 0;
  private turn = 0;
  private generation = 0;
  /** The connection whose PDU is being handled now (undefined: the leading one). */
  current: ExtraConnection | undefined;

  constructor(private readonly s: ConnectionsHost) {}

  /** Connections the session should have: what the target granted (MaxConnections, minimum function) and we asked. */
  get wanted(): number {
    return Math.max(1, Math.min(this.s.negotiated.maxConnections, this.s.options.login.proposal?.maxConnections ?? 1));
  }

  /** Log in the connections beyond the leading one; a failure leaves the session with fewer, and says so. */
  async open(): Promise<void> {
    const gen = this.generation;
    const s = this.s;
    for (let cid = this.extra.length + 1; cid < this.wanted; cid++) {
      try {
        const params = loginParamsFor(s.options.login, s.isid, s.window.cmdSN, { tsih: s.negotiated.tsih, cid });
        const opened = await openConnection(s.portal, params, `s${s.id}:c${cid}`, { ...s.options, maxRedirects: 0 });
        if (gen !== this.generation || s.state.kind !== "full-feature") {
          opened.connection.close();
          return;
        }
        this.adopt(cid, opened.connection, opened.negotiated);
      } catch (err) {
        s.log.warn(`connection ${cid} of the session not added: ${(err as Error).message}`);
        return;
      }
    }
  }

  private adopt(
    cid: number,
    connection: Connection,
    n: {
      expStatSN: number;
      headerDigest: boolean;
      dataDigest: boolean;
      maxRecvDataSegmentLength: number;
      maxXmitDataSegmentLength: number;
    },
  ): void {
    const x: ExtraConnection = {
      cid,
      connection,
      expStatSN: n.expStatSN,
      maxXmitDataSegmentLength: n.maxXmitDataSegmentLength,
      outstanding: 0,
      commands: 0,
    };
    this.extra.push(x);
    connection.enterFullFeature(
      { headerDigest: n.headerDigest, dataDigest: n.dataDigest, maxRecvDataSegmentLength: n.maxRecvDataSegmentLength },
      {
        frame: (f) => this.on(x, () => this.s.inboundFrame(f)),
        placeData: (f) => this.on(x, () => placeDataIn(this.s, f as Frame<TargetPdu>)),
        closed: (e) => this.lost(x, e),
      },
    );
    this.s.log.info(`connection ${cid} added (${connection.peer}); ${this.extra.length + 1} connections`);
  }

  /** Handle a PDU of connection `x`: StatSN and NOP answers belong to it. */
  private on<T>(x: ExtraConnection, run: () => T): T {
    this.current = x;
    try {
      return run();
    } finally {
      this.current = undefined;
    }
  }

  /** The connection for a new command (undefined: the leading one), by policy. */
  pick(t: TaskState): void {
    const n = this.extra.length + 1;
    let i = 0;
    if (n > 1) {
      if (this.policy === "round-robin") i = this.turn++ % n;
      else {
        let best = this.leadingOutstanding;
        this.extra.forEach((x, k) => {
          if (x.outstanding < best) [best, i] = [x.outstanding, k + 1];
        });
      }
    }
    const x = i === 0 ? undefined : this.extra[i - 1];
    t.via = x;
    if (x) {
      x.outstanding++;
      x.commands++;
    } else {
      this.leadingOutstanding++;
      this.leadingCommands++;
    }
  }

  /** A command settled or was pulled back: its connection has one fewer outstanding. */
  release(t: TaskState): void {
    // Counts restart at zero when connections close; a late release must not take them below.
    if (t.via) t.via.outstanding = Math.max(0, t.via.outstanding - 1);
    else this.leadingOutstanding = Math.max(0, this.leadingOutstanding - 1);
    t.via = undefined;
  }

  /** At ERL 0 a lost connection is a lost session: the leading connection goes too, and recovery starts. */
  private lost(x: ExtraConnection, error: Error | undefined): void {
    if (!this.extra.includes(x)) return;
    const err = error ?? new IscsiError("TRANSPORT", `connection ${x.cid} to ${x.connection.peer} closed`);
    this.s.log.warn(`connection ${x.cid} lost: ${err.message}; the session recovers (ErrorRecoveryLevel 0)`);
    this.closeAll(err);
    this.s.connection.close(err);
  }

  /** Close every connection beyond the leading one (session loss, logout, close). */
  closeAll(reason?: Error): void {
    this.generation++;
    for (const x of this.extra.splice(0)) x.connection.close(reason);
    this.leadingOutstanding = 0;
    this.current = undefined;
  }

  views(): ConnectionView[] {
    return [
      { cid: 0, peer: this.s.connection.peer, outstanding: this.leadingOutstanding, commands: this.leadingCommands },
      ...this.extra.map((x) => ({
        cid: x.cid,
        peer: x.connection.peer,
        outstanding: x.outstanding,
        commands: x.commands,
      })),
    ];
  }
}
