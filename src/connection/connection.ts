// One TCP connection of a session: frames PDUs both ways, applies digests, runs the login exchange,
// then hands every inbound frame to the session (RFC 7143 §11.2 framing, §6.3 login, §13.1 digests).
import { IscsiError } from "../contract/errors.ts";
import { logFor } from "../log.ts";
import { encodeLoginRequest } from "../pdu/login.ts";
import { framePdu } from "../pdu/frame.ts";
import { PduFramer } from "../pdu/framer.ts";
import { BHS_LENGTH, Opcode, type Fields, type Frame, type LoginRequest, type LoginResponse } from "../pdu/types.ts";
import type { LoginExchange } from "../login/login.ts";
import type { Transport } from "../transport/types.ts";

/** RFC 7143 §13.12: MaxRecvDataSegmentLength is 8192 until the login has negotiated another value. */
const LOGIN_MAX_RECV = 8192;

export interface FrameHandler {
  frame(frame: Frame): void;
  /**
   * Optional: where the data segment of an inbound PDU should land (see DataPlacer), asked once its header
   * is decoded and every earlier frame was handled. Lets Data-In go straight into the read's buffer.
   */
  placeData?(frame: Frame): Uint8Array | undefined;
  /** The connection is gone; `error` says why (undefined after an orderly close). */
  closed(error: Error | undefined): void;
}

export class Connection {
  private readonly framer = new PduFramer(
    { headerDigest: false, dataDigest: false, maxRecvDataSegmentLength: LOGIN_MAX_RECV, accept: "target" },
    (frame) => (this.loginWaiter ? undefined : this.handler?.placeData?.(frame)),
  );
  private digests = { headerDigest: false, dataDigest: false };
  private handler: FrameHandler | undefined;
  private loginWaiter: { resolve: (f: Frame) => void; reject: (e: Error) => void } | undefined;
  private closeError: Error | undefined;
  private isClosed = false;
  private paused = false;
  readonly log;

  constructor(
    readonly transport: Transport,
    readonly tag: string,
  ) {
    this.log = logFor(tag);
    transport.attach({
      data: (chunk, lent) => this.onData(chunk, lent === true),
      // Only in full feature phase with nothing left to hand over: the framer then knows where data goes.
      placement: () => (this.isClosed || this.paused || this.loginWaiter ? undefined : this.framer.placement()),
      placed: (n) => this.onPlaced(n),
      close: (error) =>
        this.onClose(error ?? new IscsiError("TRANSPORT", `connection to ${transport.peer} closed by the target`)),
    });
  }

  get peer(): string {
    return this.transport.peer;
  }

  get localAddress(): string | undefined {
    return this.transport.localAddress;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get queuedBytes(): number {
    return this.transport.queuedBytes;
  }

  /** The login phase's request/response exchange (one Login Response per Login Request, §6.3). */
  loginExchange(): LoginExchange {
    return {
      exchange: (request: Fields<LoginRequest>, data: Uint8Array) => {
        if (this.isClosed)
          return Promise.reject(this.closeError ?? new IscsiError("TRANSPORT", `connection to ${this.peer} is closed`));
        const response = new Promise<Frame>((resolve, reject) => {
          this.loginWaiter = { resolve, reject };
        });
        const bhs = encodeLoginRequest({ ...request, dataSegmentLength: data.length });
        this.transport.send(framePdu(bhs, data, { headerDigest: false, dataDigest: false }));
        this.resume();
        return response.then((frame) => {
          if (frame.pdu.opcode !== Opcode.LoginResponse) {
            throw new IscsiError(
              "PROTOCOL",
              `${this.peer}: expected a Login Response during login, got opcode 0x${frame.pdu.opcode.toString(16)}`,
            );
          }
          return { pdu: frame.pdu as LoginResponse, data: frame.data };
        });
      },
    };
  }

  /** Switch to full feature phase: digests and our declared MaxRecvDataSegmentLength apply from now (§13.1, §13.12). */
  enterFullFeature(
    opts: { headerDigest: boolean; dataDigest: boolean; maxRecvDataSegmentLength: number },
    handler: FrameHandler,
  ): void {
    this.digests = { headerDigest: opts.headerDigest, dataDigest: opts.dataDigest };
    this.framer.setOptions({ ...this.digests, maxRecvDataSegmentLength: opts.maxRecvDataSegmentLength });
    this.handler = handler;
    if (this.isClosed) handler.closed(this.closeError);
    else this.resume();
  }

  /**
   * Send one PDU: its 48-byte BHS and optional data. The BHS is copied before this returns, so a caller may
   * encode every PDU into one reused buffer (a fresh one per PDU costs more: the encoders' DataView makes
   * the engine give each new small array its own ArrayBuffer). The data is not copied: keep it unchanged.
   */
  send(bhs: Uint8Array, data?: Uint8Array): void {
    // With a header digest framePdu builds a new header itself.
    const header = this.digests.headerDigest ? bhs : bhs.slice(0, BHS_LENGTH);
    this.transport.send(framePdu(header, data, this.digests));
  }

  drained(): Promise<void> {
    return this.transport.drained();
  }

  /** Close the connection; the handler hears `closed(error)` once. */
  close(error?: Error): void {
    if (this.isClosed) return;
    this.onClose(error);
    this.transport.close();
  }

  private onData(chunk: Uint8Array, lent: boolean): void {
    try {
      this.framer.feed(chunk, lent);
    } catch (err) {
      this.close(asIscsiError(err, this.peer));
      return;
    }
    this.drainFrames();
    // A pause (after a Login Response) can leave bytes of a lent chunk unread: the framer keeps a copy.
    if (lent) this.framer.releaseLent();
  }

  private onPlaced(n: number): void {
    try {
      this.framer.placed(n);
    } catch (err) {
      this.close(asIscsiError(err, this.peer));
      return;
    }
    this.drainFrames();
  }

  /**
   * Deliver whole frames one at a time. After a Login Response the loop pauses until the login code has
   * either sent its next request or switched to full feature phase, so PDUs that follow the final Login
   * Response in the same chunk are framed with the digests and limits that apply to them (RFC 7143 §13.1).
   */
  private drainFrames(): void {
    while (!this.isClosed && !this.paused) {
      let frame: Frame | undefined;
      try {
        frame = this.framer.next();
      } catch (err) {
        this.close(asIscsiError(err, this.peer));
        return;
      }
      if (!frame) return;
      if (this.loginWaiter) {
        const w = this.loginWaiter;
        this.loginWaiter = undefined;
        this.paused = true;
        w.resolve(frame);
      } else if (this.handler) {
        try {
          this.handler.frame(frame);
        } catch (err) {
          this.close(asIscsiError(err, this.peer));
          return;
        }
      } else {
        this.close(
          new IscsiError(
            "PROTOCOL",
            `${this.peer}: unexpected PDU (opcode 0x${frame.pdu.opcode.toString(16)}) outside login and full feature phase`,
          ),
        );
        return;
      }
    }
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    queueMicrotask(() => this.drainFrames());
  }

  private onClose(error: Error | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeError = error;
    if (error) this.log.debug(`closed: ${error.message}`);
    const w = this.loginWaiter;
    this.loginWaiter = undefined;
    w?.reject(error ?? new IscsiError("TRANSPORT", `connection to ${this.peer} closed during login`));
    this.handler?.closed(error);
  }
}

/** Wrap leaf-module errors (PduError, TransportError…) so their code survives and the peer is named. */
export function asIscsiError(err: unknown, peer: string): IscsiError {
  if (err instanceof IscsiError) return err;
  const code = (err as { code?: unknown })?.code;
  const message = (err as Error)?.message ?? String(err);
  const known = code === "PROTOCOL" || code === "DIGEST" || code === "TRANSPORT" ? code : "PROTOCOL";
  return new IscsiError(known, `${peer}: ${message}`, { cause: err });
}
