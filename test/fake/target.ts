// A scripted iSCSI target, on real loopback TCP or on an in-memory pipe a session is given (OpenOptions.connect),
// for what real targets won't do: malformed or hostile PDUs
// at any byte (raw, truncated, oversized, wrong digests), odd windows, NOP-In floods, Async Messages, Rejects,
// bent Login Responses. It logs in anyone (AuthMethod=None), switches CRC32C digests on when it answers
// them, and hands every full-feature PDU to the test.
import type { Socket } from "bun";
import {
  PduFramer,
  framePdu,
  encodeLoginResponse,
  encodeScsiResponse,
  encodeDataIn,
  encodeR2T,
  encodeNopIn,
  encodeAsyncMessage,
  encodeReject,
  encodeTextResponse,
  encodeLogoutResponse,
  Opcode,
  RESERVED_TAG,
  crc32c,
  writeDigest,
  type Fields,
  type Frame,
  type LoginRequest,
  type LoginResponse,
  type ScsiCommand,
  type Pdu,
} from "../../src/pdu/index.ts";
import { encodeTextKeys, parseTextKeys } from "../../src/pdu/text.ts";
import type { OpenOptions } from "../../src/session/open.ts";
import { memoryPair } from "../../src/transport/memory.ts";
import { formatPortal, type Portal } from "../../src/transport/portal.ts";
import { concat } from "../support/bytes.ts";

export interface FakeTargetOptions {
  targetName?: string;
  /** Answers for operational keys, overriding the defaults below. A key mapped to null is left unanswered. */
  answers?: Record<string, string | null>;
  /** Called for every PDU in full feature phase that the fake does not handle itself. */
  onPdu?: (conn: FakeConnection, frame: Frame) => void;
  /** SendTargets answer. */
  sendTargets?: Array<[string, string]>;
  window?: number;
  /** First StatSN of each connection (default 0x1000); near 2^32 to test the wrap. */
  statSN?: number;
  /** Answer every login with status class 1 (redirect) to this address. */
  redirect?: { address: () => string; permanent?: boolean };
  /** Takes over a Login Request before the fake answers it; return true when it has answered (or not) itself. */
  onLogin?: (conn: FakeConnection, frame: Frame<LoginRequest>) => boolean;
  /** Takes over a Logout Request; return true when it has answered (or not) itself. */
  onLogout?: (conn: FakeConnection, frame: Frame) => boolean;
  /** Last word on every Login Response the fake builds: change fields or key=value pairs before it is sent. */
  loginTamper?: (r: {
    req: LoginRequest;
    res: Fields<LoginResponse>;
    pairs: Array<[string, string]>;
    final: boolean;
  }) => void;
}

/** Patch DataSegmentLength (bytes 5–7) of a BHS without touching any data: the length the peer will trust. */
export function setDataSegmentLength(bhs: Uint8Array, n: number): Uint8Array {
  bhs[5] = (n >>> 16) & 0xff;
  bhs[6] = (n >>> 8) & 0xff;
  bhs[7] = n & 0xff;
  return bhs;
}

/** Patch the opcode (low 6 bits of byte 0), keeping the I bit. */
export function setOpcode(bhs: Uint8Array, opcode: number): Uint8Array {
  bhs[0] = (bhs[0]! & 0xc0) | (opcode & 0x3f);
  return bhs;
}

const DEFAULT_ANSWERS: Record<string, string> = {
  HeaderDigest: "None",
  DataDigest: "None",
  MaxConnections: "1",
  InitialR2T: "Yes",
  ImmediateData: "Yes",
  MaxBurstLength: "262144",
  FirstBurstLength: "65536",
  DefaultTime2Wait: "2",
  DefaultTime2Retain: "20",
  MaxOutstandingR2T: "1",
  DataPDUInOrder: "Yes",
  DataSequenceInOrder: "Yes",
  ErrorRecoveryLevel: "0",
};

/** What a fake connection needs of its socket: a real Bun socket, or the target end of an in-memory pipe. */
export interface FakeSocket {
  write(data: Uint8Array): number;
  end(): void;
  terminate(): void;
}

export class FakeConnection {
  statSN = 0x1000;
  expCmdSN = 0;
  maxCmdSN = 0;
  readonly received: Frame[] = [];
  /** What went wrong on our side: initiator PDUs our framer refused, exceptions from handlers. */
  readonly errors: unknown[] = [];
  /** CRC32C digests in force (switched on after the final Login Response when the fake answered them). */
  digests = { headerDigest: false, dataDigest: false };
  /** Bytes written to the socket so far, and bytes still queued (Bun's write may take only part). */
  bytesSent = 0;
  private pending: Uint8Array[] = [];
  private ending: "fin" | "rst" | undefined;
  private readonly framer = new PduFramer({
    headerDigest: false,
    dataDigest: false,
    maxRecvDataSegmentLength: 1 << 20,
    accept: "initiator",
  });
  private fullFeature = false;

  constructor(
    readonly socket: FakeSocket,
    private readonly opts: FakeTargetOptions,
  ) {
    if (opts.statSN !== undefined) this.statSN = opts.statSN >>> 0;
  }

  /** True once the final Login Response went out. */
  get inFullFeature(): boolean {
    return this.fullFeature;
  }

  /** Send a BHS (from an encode* function) and optional data; StatSN etc. are the caller's. */
  send(bhs: Uint8Array, data?: Uint8Array): void {
    this.raw(this.wire(bhs, data));
  }

  /**
   * The bytes of one PDU as the fake would send it (digests as negotiated), for tests that cut, bend or
   * split them before `raw()`. `ahs` (whole 4-byte words) is put after the BHS and counted in byte 4.
   * The BHS's DataSegmentLength and TotalAHSLength are taken as they are, so patched ones can lie.
   */
  wire(bhs: Uint8Array, data?: Uint8Array, ahs?: Uint8Array): Uint8Array {
    const claimed = (bhs[5]! << 16) | (bhs[6]! << 8) | bhs[7]!;
    if (ahs || bhs[4] !== 0 || claimed !== (data?.length ?? 0))
      return this.wireLoose(bhs, data ?? new Uint8Array(0), ahs);
    return concat(framePdu(bhs, data, this.digests));
  }

  /** Framing without consistency checks: header digest over BHS+AHS, data padded, data digest if on. */
  private wireLoose(bhs: Uint8Array, data: Uint8Array, ahs?: Uint8Array): Uint8Array {
    const head = new Uint8Array(48 + (ahs?.length ?? 0));
    head.set(bhs.subarray(0, 48));
    if (ahs) {
      head[4] = ahs.length >>> 2;
      head.set(ahs, 48);
    }
    const pieces: Uint8Array[] = [head];
    if (this.digests.headerDigest) pieces.push(digestOf(head));
    if (data.length > 0) {
      pieces.push(data, new Uint8Array(-data.length & 3));
      if (this.digests.dataDigest) pieces.push(digestOf(concat(pieces.slice(-2))));
    }
    return concat(pieces);
  }

  /** Queue bytes for the initiator, whatever they are. */
  raw(bytes: Uint8Array): void {
    if (this.ending || bytes.length === 0) return;
    this.pending.push(bytes);
    this.flush();
  }

  /** Write what is queued as far as the socket takes it; called again on drain. */
  flush(): void {
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const n = this.socket.write(head);
      if (n <= 0) return;
      this.bytesSent += n;
      if (n < head.length) {
        this.pending[0] = head.subarray(n);
        return;
      }
      this.pending.shift();
    }
    if (this.ending === "fin") this.socket.end();
  }

  /** The first `n` bytes of a PDU, then FIN: a truncated PDU. */
  truncated(bytes: Uint8Array, n: number): void {
    this.raw(bytes.subarray(0, n));
    this.close();
  }

  /** Asynchronous Message (RFC 7143 §11.9) with StatSN advanced; `data` is sense data for event 0. */
  asyncMessage(
    asyncEvent: number,
    f: { parameter1?: number; parameter2?: number; parameter3?: number; asyncVCode?: number; lun?: bigint } = {},
    data?: Uint8Array,
  ): void {
    this.send(
      encodeAsyncMessage({
        lun: f.lun ?? 0n,
        itt: RESERVED_TAG,
        ...this.status(),
        asyncEvent,
        asyncVCode: f.asyncVCode ?? 0,
        parameter1: f.parameter1 ?? 0,
        parameter2: f.parameter2 ?? 0,
        parameter3: f.parameter3 ?? 0,
        dataSegmentLength: data?.length ?? 0,
      }),
      data,
    );
  }

  /** Reject (RFC 7143 §11.17) carrying `header` (normally the 48-byte BHS of the rejected PDU) as its data. */
  reject(reason: number, header: Uint8Array): void {
    this.send(
      encodeReject({ reason, itt: RESERVED_TAG, ...this.status(), dataSNOrR2TSN: 0, dataSegmentLength: header.length }),
      header,
    );
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
    this.send(
      encodeScsiResponse({
        bidiReadResidualOverflow: false,
        bidiReadResidualUnderflow: false,
        residualOverflow: false,
        residualUnderflow: false,
        response: 0,
        status: 0,
        itt: cmd.itt,
        snackTag: 0,
        expDataSN: 0,
        bidirectionalReadResidualCount: 0,
        residualCount: 0,
        ...this.status(),
        ...extra,
        dataSegmentLength: data?.length ?? 0,
      }),
      data,
    );
  }

  dataIn(cmd: ScsiCommand, data: Uint8Array, f: Partial<Parameters<typeof encodeDataIn>[0]> = {}): void {
    const withStatus = f.statusPresent ?? false;
    this.send(
      encodeDataIn({
        final: withStatus,
        acknowledge: false,
        residualOverflow: false,
        residualUnderflow: false,
        statusPresent: false,
        status: 0,
        lun: 0n,
        itt: cmd.itt,
        ttt: RESERVED_TAG,
        dataSN: 0,
        bufferOffset: 0,
        residualCount: 0,
        ...(withStatus ? this.status() : this.seq()),
        ...f,
        dataSegmentLength: data.length,
      }),
      data,
    );
  }

  r2t(cmd: ScsiCommand, r2tSN: number, bufferOffset: number, length: number, ttt = 0x100 + r2tSN): void {
    this.send(
      encodeR2T({ lun: 0n, itt: cmd.itt, ttt, ...this.seq(), r2tSN, bufferOffset, desiredDataTransferLength: length }),
    );
  }

  nopIn(ttt: number, data?: Uint8Array): void {
    this.send(
      encodeNopIn({ lun: 0n, itt: RESERVED_TAG, ttt, ...this.seq(), dataSegmentLength: data?.length ?? 0 }),
      data,
    );
  }

  /** FIN once everything queued has been written. */
  close(): void {
    if (this.ending) return;
    this.ending = "fin";
    this.flush();
  }

  /** RST now; queued bytes are dropped. */
  reset(): void {
    this.ending = "rst";
    this.pending = [];
    this.socket.terminate();
  }

  onData(chunk: Uint8Array): void {
    for (const frame of this.framer.push(chunk)) {
      this.received.push(frame);
      if (frame.pdu.opcode === Opcode.LoginRequest) {
        if (!this.opts.onLogin?.(this, frame as Frame<LoginRequest>)) this.login(frame as Frame<LoginRequest>);
      } else if (frame.pdu.opcode === Opcode.TextRequest && this.opts.sendTargets && !this.opts.onPdu) this.text(frame);
      else if (frame.pdu.opcode === Opcode.LogoutRequest) {
        if (this.opts.onLogout?.(this, frame)) continue;
        this.send(
          encodeLogoutResponse({ response: 0, itt: frame.pdu.itt, ...this.status(), time2Wait: 0, time2Retain: 0 }),
        );
      } else if (this.fullFeature) this.opts.onPdu?.(this, frame);
    }
  }

  private text(frame: Frame): void {
    const p = frame.pdu as Pdu & { cmdSN: number; immediate: boolean; itt: number };
    this.ack(p);
    const data = encodeTextKeys(this.opts.sendTargets!);
    this.send(
      encodeTextResponse({
        final: true,
        continue: false,
        lun: 0n,
        itt: p.itt,
        ttt: RESERVED_TAG,
        ...this.status(),
        dataSegmentLength: data.length,
      }),
      data,
    );
  }

  /** Accept any login: answer AuthMethod=None, then every operational key from DEFAULT_ANSWERS/answers. */
  private login(frame: Frame<LoginRequest>): void {
    const req = frame.pdu;
    if (this.opts.redirect) {
      const data = encodeTextKeys([["TargetAddress", this.opts.redirect.address()]]);
      this.send(
        encodeLoginResponse({
          transit: false,
          continue: false,
          csg: req.csg,
          nsg: 0,
          versionMax: 0,
          versionActive: 0,
          isid: req.isid,
          tsih: 0,
          itt: req.itt,
          statSN: 0,
          expCmdSN: req.cmdSN,
          maxCmdSN: req.cmdSN,
          statusClass: 1,
          statusDetail: this.opts.redirect.permanent ? 2 : 1,
          dataSegmentLength: data.length,
        }),
        data,
      );
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
      else if (k === "MaxRecvDataSegmentLength")
        continue; // declarative: ours is sent below
      else if (req.csg === 1 && Object.hasOwn(answers, k)) {
        const v = answers[k];
        if (v !== null && v !== undefined)
          out.push([k, discovery && !["HeaderDigest", "DataDigest"].includes(k) ? "Irrelevant" : v]);
      }
    }
    if (req.csg === 1 && answers.MaxRecvDataSegmentLength !== null)
      out.push(["MaxRecvDataSegmentLength", answers.MaxRecvDataSegmentLength ?? "262144"]);
    if (req.csg === 0 && !discovery) out.push(["TargetPortalGroupTag", "1"]);
    const final = req.transit && req.nsg === 3;
    const res: Fields<LoginResponse> = {
      transit: req.transit,
      continue: false,
      csg: req.csg,
      nsg: req.transit ? req.nsg : 0,
      versionMax: 0,
      versionActive: 0,
      // A login that adds a connection (MC/S) names the session's TSIH, echoed in every response (RFC 7143 §11.13.4).
      isid: req.isid,
      tsih: req.tsih !== 0 ? req.tsih : final ? 7 : 0,
      itt: req.itt,
      ...this.status(),
      statusClass: 0,
      statusDetail: 0,
    };
    this.opts.loginTamper?.({ req, res, pairs: out, final });
    const data = encodeTextKeys(out);
    this.send(encodeLoginResponse({ ...res, dataSegmentLength: data.length }), data);
    if (final && res.statusClass === 0) {
      this.fullFeature = true;
      // RFC 7143 §13.1: digests start with the first PDU after the final Login Response.
      this.digests = { headerDigest: answers.HeaderDigest === "CRC32C", dataDigest: answers.DataDigest === "CRC32C" };
      this.framer.setOptions(this.digests);
    }
  }
}

export class FakeTarget {
  readonly connections: FakeConnection[] = [];
  private constructor(
    /** Where a session connects: the listening port, or the in-memory pipe's `connect`. */
    readonly endpoint: { portal: Portal; connect?: OpenOptions["connect"] },
    private readonly stopServer: () => void,
  ) {}

  get port(): number {
    return this.endpoint.portal.port;
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
          const conn = socket.data.conn!;
          try {
            conn.onData(chunk);
          } catch (err) {
            conn.errors.push(err);
            socket.end();
          }
        },
        drain(socket) {
          socket.data.conn?.flush();
        },
      },
      data: {},
    });
    self = new FakeTarget({ portal: { host: "127.0.0.1", port: server.port } }, () => server.stop(true));
    return self;
  }

  /** The same target without a socket: each `connect` makes an in-memory pipe and a connection on its far end. */
  static inMemory(opts: FakeTargetOptions = {}): FakeTarget {
    const connect = async (portal: Portal) => {
      const [initiator, end] = memoryPair(formatPortal(portal));
      const socket: FakeSocket = {
        write: (data) => (end.send([data]), data.length),
        end: () => void end.drained().then(() => end.close()),
        terminate: () => end.close(),
      };
      const conn = new FakeConnection(socket, opts);
      self.connections.push(conn);
      end.attach({
        data(chunk) {
          try {
            conn.onData(chunk);
          } catch (err) {
            conn.errors.push(err);
            socket.end();
          }
        },
        close() {},
      });
      return initiator;
    };
    const self = new FakeTarget({ portal: { host: "fake.invalid", port: 3260 }, connect }, () => {});
    return self;
  }

  stop(): void {
    for (const c of this.connections) c.socket.end();
    this.stopServer();
  }
}

function digestOf(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4);
  writeDigest(out, 0, crc32c(bytes));
  return out;
}
