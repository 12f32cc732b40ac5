// A scripted iSCSI target on real loopback TCP for what real targets won't do: malformed or hostile PDUs,
// odd windows, NOP-In pings. It logs in anyone (AuthMethod=None) and hands every full-feature PDU to the test.
import type { Socket, TCPSocketListener } from "bun";
import {
  PduFramer, framePdu, encodeLoginResponse, encodeScsiResponse, encodeDataIn, encodeR2T, encodeNopIn,
  encodeTextResponse, encodeLogoutResponse, Opcode, RESERVED_TAG, type Frame, type LoginRequest, type ScsiCommand, type Pdu,
} from "../../src/pdu/index.ts";
import { encodeTextKeys, parseTextKeys } from "../../src/pdu/text.ts";

export interface FakeTargetOptions {
  targetName?: string;
  /** Answers for operational keys, overriding the defaults below. A key mapped to null is left unanswered. */
  answers?: Record<string, string | null>;
  /** Called for every PDU in full feature phase that the fake does not handle itself. */
  onPdu?: (conn: FakeConnection, frame: Frame) => void;
  /** SendTargets answer. */
  sendTargets?: Array<[string, string]>;
  window?: number;
  /** Answer every login with status class 1 (redirect) to this address. */
  redirect?: { address: () => string; permanent?: boolean };
}

const DEFAULT_ANSWERS: Record<string, string> = {
  HeaderDigest: "None", DataDigest: "None", MaxConnections: "1", InitialR2T: "Yes", ImmediateData: "Yes",
  MaxBurstLength: "262144", FirstBurstLength: "65536", DefaultTime2Wait: "2", DefaultTime2Retain: "20",
  MaxOutstandingR2T: "1", DataPDUInOrder: "Yes", DataSequenceInOrder: "Yes", ErrorRecoveryLevel: "0",
};

export class FakeConnection {
  statSN = 0x1000;
  expCmdSN = 0;
  maxCmdSN = 0;
  readonly received: Frame[] = [];
  private readonly framer = new PduFramer({ headerDigest: false, dataDigest: false, maxRecvDataSegmentLength: 1 << 20, accept: "initiator" });
  private fullFeature = false;

  constructor(
    readonly socket: Socket<unknown>,
    private readonly opts: FakeTargetOptions,
  ) {}

  /** Send a BHS (from an encode* function) and optional data; StatSN etc. are the caller's. */
  send(bhs: Uint8Array, data?: Uint8Array): void {
    for (const piece of framePdu(bhs, data, { headerDigest: false, dataDigest: false })) this.socket.write(piece);
  }

  raw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sequence fields for a response PDU that carries status (advances StatSN). */
  status(): { statSN: number; expCmdSN: number; maxCmdSN: number } {
    return { statSN: this.statSN++ >>> 0, expCmdSN: this.expCmdSN, maxCmdSN: this.maxCmdSN };
  }

  /** Sequence fields without advancing StatSN (R2T, Data-In without status). */
  seq(): { statSN: number; expCmdSN: number; maxCmdSN: number } {
    return { statSN: this.statSN >>> 0, expCmdSN: this.expCmdSN, maxCmdSN: this.maxCmdSN };
  }

  /** Acknowledge a command: ExpCmdSN moves past it and the window slides. */
  ack(cmd: { cmdSN: number; immediate: boolean }): void {
    if (!cmd.immediate) {
      this.expCmdSN = (cmd.cmdSN + 1) >>> 0;
      this.maxCmdSN = (this.expCmdSN + (this.opts.window ?? 32) - 1) >>> 0;
    }
  }

  good(cmd: ScsiCommand, extra: Partial<Parameters<typeof encodeScsiResponse>[0]> = {}, data?: Uint8Array): void {
    this.send(encodeScsiResponse({
      bidiReadResidualOverflow: false, bidiReadResidualUnderflow: false, residualOverflow: false, residualUnderflow: false,
      response: 0, status: 0, itt: cmd.itt, snackTag: 0, expDataSN: 0, bidirectionalReadResidualCount: 0, residualCount: 0,
      ...this.status(), ...extra, dataSegmentLength: data?.length ?? 0,
    }), data);
  }

  dataIn(cmd: ScsiCommand, data: Uint8Array, f: Partial<Parameters<typeof encodeDataIn>[0]> = {}): void {
    const withStatus = f.statusPresent ?? false;
    this.send(encodeDataIn({
      final: withStatus, acknowledge: false, residualOverflow: false, residualUnderflow: false, statusPresent: false, status: 0,
      lun: 0n, itt: cmd.itt, ttt: RESERVED_TAG, dataSN: 0, bufferOffset: 0, residualCount: 0,
      ...(withStatus ? this.status() : this.seq()), ...f, dataSegmentLength: data.length,
    }), data);
  }

  r2t(cmd: ScsiCommand, r2tSN: number, bufferOffset: number, length: number, ttt = 0x100 + r2tSN): void {
    this.send(encodeR2T({ lun: 0n, itt: cmd.itt, ttt, ...this.seq(), r2tSN, bufferOffset, desiredDataTransferLength: length }));
  }

  nopIn(ttt: number, data?: Uint8Array): void {
    this.send(encodeNopIn({ lun: 0n, itt: RESERVED_TAG, ttt, ...this.seq(), dataSegmentLength: data?.length ?? 0 }), data);
  }

  close(): void {
    this.socket.end();
  }

  onData(chunk: Uint8Array): void {
    for (const frame of this.framer.push(chunk)) {
      this.received.push(frame);
      if (frame.pdu.opcode === Opcode.LoginRequest) this.login(frame as Frame<LoginRequest>);
      else if (frame.pdu.opcode === Opcode.TextRequest && this.opts.sendTargets && !this.opts.onPdu) this.text(frame);
      else if (frame.pdu.opcode === Opcode.LogoutRequest) {
        this.send(encodeLogoutResponse({ response: 0, itt: frame.pdu.itt, ...this.status(), time2Wait: 0, time2Retain: 0 }));
      } else if (this.fullFeature) this.opts.onPdu?.(this, frame);
    }
  }

  private text(frame: Frame): void {
    const p = frame.pdu as Pdu & { cmdSN: number; immediate: boolean; itt: number };
    this.ack(p);
    const data = encodeTextKeys(this.opts.sendTargets!);
    this.send(encodeTextResponse({ final: true, continue: false, lun: 0n, itt: p.itt, ttt: RESERVED_TAG, ...this.status(), dataSegmentLength: data.length }), data);
  }

  /** Accept any login: answer AuthMethod=None, then every operational key from DEFAULT_ANSWERS/answers. */
  private login(frame: Frame<LoginRequest>): void {
    const req = frame.pdu;
    if (this.opts.redirect) {
      const data = encodeTextKeys([["TargetAddress", this.opts.redirect.address()]]);
      this.send(encodeLoginResponse({
        transit: false, continue: false, csg: req.csg, nsg: 0, versionMax: 0, versionActive: 0, isid: req.isid, tsih: 0, itt: req.itt,
        statSN: 0, expCmdSN: req.cmdSN, maxCmdSN: req.cmdSN, statusClass: 1, statusDetail: this.opts.redirect.permanent ? 2 : 1, dataSegmentLength: data.length,
      }), data);
      return;
    }
    this.expCmdSN = req.cmdSN;
    this.maxCmdSN = (req.cmdSN + (this.opts.window ?? 32) - 1) >>> 0;
    const keys = parseTextKeys(frame.data);
    const out: Array<[string, string]> = [];
    const answers = { ...DEFAULT_ANSWERS, ...this.opts.answers };
    const discovery = keys.some(([k, v]) => k === "SessionType" && v === "Discovery");
    for (const [k] of keys) {
      if (k === "AuthMethod") out.push([k, "None"]);
      else if (k === "MaxRecvDataSegmentLength") continue; // declarative: ours is sent below
      else if (req.csg === 1 && Object.hasOwn(answers, k)) {
        const v = answers[k];
        if (v !== null && v !== undefined) out.push([k, discovery && !["HeaderDigest", "DataDigest"].includes(k) ? "Irrelevant" : v]);
      }
    }
    if (req.csg === 1 && answers.MaxRecvDataSegmentLength !== null) out.push(["MaxRecvDataSegmentLength", answers.MaxRecvDataSegmentLength ?? "262144"]);
    if (req.csg === 0 && !discovery) out.push(["TargetPortalGroupTag", "1"]);
    const data = encodeTextKeys(out);
    const final = req.transit && req.nsg === 3;
    this.send(encodeLoginResponse({
      transit: req.transit, continue: false, csg: req.csg, nsg: req.transit ? req.nsg : 0, versionMax: 0, versionActive: 0,
      isid: req.isid, tsih: final ? 7 : 0, itt: req.itt, ...this.status(), statusClass: 0, statusDetail: 0, dataSegmentLength: data.length,
    }), data);
    if (final) this.fullFeature = true;
  }
}

export class FakeTarget {
  readonly connections: FakeConnection[] = [];
  private constructor(private readonly server: TCPSocketListener<{ conn?: FakeConnection }>) {}

  get port(): number {
    return this.server.port;
  }

  static listen(opts: FakeTargetOptions = {}): FakeTarget {
    let self!: FakeTarget;
    const server = Bun.listen<{ conn?: FakeConnection }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        binaryType: "uint8array",
        open(socket) {
          const conn = new FakeConnection(socket as unknown as Socket<unknown>, opts);
          socket.data = { conn };
          self.connections.push(conn);
        },
        data(socket, chunk) {
          try {
            socket.data.conn!.onData(chunk);
          } catch {
            socket.end();
          }
        },
      },
      data: {},
    });
    self = new FakeTarget(server);
    return self;
  }

  stop(): void {
    for (const c of this.connections) c.socket.end();
    this.server.stop(true);
  }
}
