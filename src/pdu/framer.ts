// Incoming PDU framing with digest checks and length limits, RFC 7143 §11.2, §13.1 and §13.12.

import { hex, PDU_NAMES } from "./bhs.ts";
import { decodePdu } from "./codec.ts";
import { crc32c, readDigest } from "./crc32c.ts";
import { PduError } from "./errors.ts";
import { BHS_LENGTH, Opcode, type Frame, type OpcodeValue } from "./types.ts";

export interface FramerOptions {
  headerDigest: boolean;
  dataDigest: boolean;
  /** What we declared (RFC 7143 §13.12); larger data segments from the peer are errors. */
  maxRecvDataSegmentLength: number;
  /** Which side's PDUs this framer accepts: "target" on an initiator, "initiator" in test targets. */
  accept: "target" | "initiator";
}

// RFC 7143 §6.3: login runs with the default MaxRecvDataSegmentLength of 8192 bytes. Linux holds Text, Reject
// and Asynchronous Message to the same bound whatever was negotiated; so do we.
const SMALL_SEGMENT_LIMIT = 8192;
const SMALL_SEGMENT_OPCODES: ReadonlySet<number> = new Set([
  Opcode.LoginRequest,
  Opcode.LoginResponse,
  Opcode.TextRequest,
  Opcode.TextResponse,
  Opcode.AsyncMessage,
  Opcode.Reject,
]);
// Target PDUs that carry no data segment at all: R2T (RFC 7143 §11.8), Task Management Function Response (§11.6)
// and Logout Response (§11.15) have DataSegmentLength 0 by definition.
const NO_DATA_OPCODES: ReadonlySet<number> = new Set([Opcode.R2T, Opcode.TaskMgmtResponse, Opcode.LogoutResponse]);
// TotalAHSLength is one byte of 4-byte words (RFC 7143 §11.2.1.5), so a header never exceeds this.
const MAX_HEADER = BHS_LENGTH + 255 * 4 + 4;
const EMPTY = new Uint8Array(0);
// Known opcodes as a table: the check runs on every PDU.
const KNOWN = new Uint8Array(64);
for (const op of Object.values(Opcode)) KNOWN[op] = 1;

/**
 * Chooses where the data segment of a PDU goes, given its decoded header: a buffer of exactly
 * DataSegmentLength bytes that receives the data as it arrives (e.g. the destination of a read at the
 * PDU's BufferOffset), or undefined to let the framer keep the data. Called before any data byte is read,
 * and only while no data digest is in force (a digest must match before data may reach the caller).
 */
export type DataPlacer = (frame: Frame) => Uint8Array | undefined;

/** The part of a placed data segment not received yet, and the whole segment's length. */
export interface Placement {
  rest: Uint8Array;
  segmentLength: number;
}

interface Pending {
  frame: Frame; // data still EMPTY
  segment: number; // data + padding + data digest, the bytes still to read
  buffer: Uint8Array | undefined; // only when the segment spans chunks
  fill: number;
  dest: Uint8Array | undefined; // from the DataPlacer: data goes straight here
}

/**
 * Cuts a byte stream into whole PDUs. Use `push(chunk)` for all frames a chunk completes, or `feed(chunk)` and
 * then `next()` one frame at a time when options may change between frames (digests turn on right after the
 * final Login Response). Frames alias the pushed chunks where a PDU lies within one chunk, so a chunk must
 * not be reused by its producer, unless it is fed as lent: then frames get copies, and `releaseLent()`
 * copies its unread rest before the producer reuses it. With a DataPlacer, data segments are copied once
 * into the buffers it names instead, or read straight into them by a producer that asks `placement()`.
 * After any error the framer stays failed and throws that error again.
 */
export class PduFramer {
  #opts: FramerOptions;
  #cur: FramerOptions; // the options of the PDU being read, fixed when its first byte arrives
  #failed: unknown = undefined;
  #queue: Uint8Array[] = [];
  #pos = 0; // read position in #queue[0]
  #head = new Uint8Array(MAX_HEADER); // header bytes gathered across chunks
  #headFill = 0;
  #headLength = 0; // known once 48 bytes are in
  #pending: Pending | undefined = undefined;
  #place: DataPlacer | undefined;
  #lent: Uint8Array | undefined = undefined; // the queued chunk its producer will reuse
  #ready: Frame | undefined = undefined; // completed by placed(), returned by the next next()

  constructor(opts: FramerOptions, place?: DataPlacer) {
    this.#opts = checkOptions(opts);
    this.#cur = this.#opts;
    this.#place = place;
  }

  /** Change options; they apply from the next PDU whose header has not started to arrive. */
  setOptions(partial: Partial<FramerOptions>): void {
    this.#opts = checkOptions({ ...this.#opts, ...partial });
  }

  /**
   * Queue a chunk for `next()`; empty chunks are ignored. A `lent` chunk's memory will be reused by its
   * producer: frames made from it get copies, and `releaseLent()` must be called before it is reused.
   */
  feed(chunk: Uint8Array, lent = false): void {
    if (this.#failed !== undefined) throw this.#failed;
    if (lent && this.#lent) throw new RangeError("a lent chunk was fed before the previous one was released");
    if (chunk.length === 0) return;
    this.#queue.push(chunk);
    if (lent) this.#lent = chunk;
  }

  /** The lent chunk is about to be reused: keep a copy of its bytes not read yet (the rare partial leftover). */
  releaseLent(): void {
    const lent = this.#lent;
    if (!lent) return;
    this.#lent = undefined;
    const at = this.#queue.indexOf(lent);
    if (at < 0) return;
    this.#queue[at] = lent.slice(at === 0 ? this.#pos : 0);
    if (at === 0) this.#pos = 0;
  }

  /**
   * Where the next bytes of the stream belong, if the framer knows: the unfilled rest of a placed data
   * segment, when every queued byte has been read. A producer may read the stream straight into it and
   * then report the count with `placed(n)` instead of feeding those bytes.
   */
  placement(): Placement | undefined {
    const p = this.#pending;
    if (this.#failed !== undefined || this.#queue.length > 0 || !p?.dest || p.fill >= p.dest.length) return undefined;
    return { rest: p.dest.subarray(p.fill), segmentLength: p.dest.length };
  }

  /** `n` bytes were written into the start of the last `placement()`; a completed frame comes from `next()`. */
  placed(n: number): void {
    if (this.#failed !== undefined) throw this.#failed;
    const p = this.#pending;
    const room = this.#queue.length === 0 && p?.dest ? p.dest.length - p.fill : 0;
    if (!Number.isInteger(n) || n <= 0 || n > room)
      throw new RangeError(`placed ${n} bytes where ${room} were asked for`);
    p!.fill += n;
    if (p!.fill < p!.segment) return;
    this.#pending = undefined;
    p!.frame.data = p!.dest!;
    this.#ready = p!.frame;
  }

  /** The next whole frame from the queued chunks, or undefined when more input is needed. */
  next(): Frame | undefined {
    if (this.#failed !== undefined) throw this.#failed;
    const ready = this.#ready;
    if (ready) {
      this.#ready = undefined;
      return ready;
    }
    try {
      while (this.#queue.length > 0) {
        const frame = this.#pending ? this.#takeData(this.#pending) : this.#takeHeader();
        if (frame) return frame;
      }
      return undefined;
    } catch (error) {
      this.#failed = error;
      throw error;
    }
  }

  /** Feed a chunk and return every frame it completes, in order; on an error, frames of this call are dropped. */
  push(chunk: Uint8Array): Frame[] {
    this.feed(chunk);
    const frames: Frame[] = [];
    for (let frame = this.next(); frame; frame = this.next()) frames.push(frame);
    return frames;
  }

  /** Advance past `n` bytes of the current chunk, dropping it once consumed. */
  #advance(n: number): void {
    this.#pos += n;
    if (this.#pos === this.#queue[0]!.length) {
      if (this.#queue.shift() === this.#lent) this.#lent = undefined;
      this.#pos = 0;
    }
  }

  #takeHeader(): Frame | undefined {
    const chunk = this.#queue[0]!;
    const pos = this.#pos;
    const avail = chunk.length - pos;
    if (this.#headFill === 0) this.#cur = this.#opts;
    // Fast path: the whole header lies in this chunk, so it is used in place.
    if (this.#headFill === 0 && avail >= BHS_LENGTH) {
      const length = this.#headerLength(chunk, pos);
      if (avail >= length) {
        const lent = chunk === this.#lent; // known before #advance lets go of it
        this.#advance(length);
        return this.#onHeader(chunk, pos, length, lent);
      }
    }
    const want = this.#headFill < BHS_LENGTH ? BHS_LENGTH : this.#headLength;
    const n = Math.min(want - this.#headFill, avail);
    this.#head.set(chunk.subarray(pos, pos + n), this.#headFill);
    this.#headFill += n;
    this.#advance(n);
    if (this.#headFill === BHS_LENGTH && want === BHS_LENGTH) this.#headLength = this.#headerLength(this.#head, 0);
    if (this.#headFill < BHS_LENGTH || this.#headFill < this.#headLength) return undefined;
    const length = this.#headLength;
    this.#headFill = 0;
    this.#headLength = 0;
    return this.#onHeader(this.#head, 0, length, true);
  }

  /**
   * Length of BHS + AHS + header digest (at most 1072 bytes). Without a header digest the BHS is checked here,
   * before any AHS is read; with one, only after the digest matched. From a target no AHS is allowed, so the
   * digest is looked for right after the BHS and a corrupted TotalAHSLength shows as a digest error.
   */
  #headerLength(bytes: Uint8Array, offset: number): number {
    const { headerDigest, accept } = this.#cur;
    if (!headerDigest) this.#check(bytes, offset);
    const ahsLength = accept === "target" ? 0 : bytes[offset + 4]! * 4;
    return BHS_LENGTH + ahsLength + (headerDigest ? 4 : 0);
  }

  /**
   * A complete header of `length` bytes at `at` in `src`: verify its digest, check, decode; return the frame
   * if it carries no data. A header from the scratch buffer or a lent chunk (`copy`) is copied out only after it
   * passed the checks, and decoded before that from where it lies (a DataView over a fresh small copy costs more).
   */
  #onHeader(src: Uint8Array, at: number, length: number, copy: boolean): Frame | undefined {
    if (this.#cur.headerDigest) {
      const end = at + length - 4;
      const received = readDigest(src, end);
      const computed = crc32c(src.subarray(at, end));
      if (received !== computed) {
        throw new PduError(
          "DIGEST",
          `header digest mismatch: received ${hex(received, 8)}, computed ${hex(computed, 8)}`,
        );
      }
      this.#check(src, at);
    }
    const view = src.subarray(at, at + length);
    const pdu = decodePdu(length === BHS_LENGTH ? view : view.subarray(0, BHS_LENGTH));
    const header = copy ? view.slice() : view;
    const bhs = length === BHS_LENGTH ? header : header.subarray(0, BHS_LENGTH);
    const ahsLength = bhs[4]! * 4;
    const frame: Frame = {
      pdu,
      bhs,
      ahs: ahsLength === 0 ? EMPTY : header.subarray(BHS_LENGTH, BHS_LENGTH + ahsLength),
      data: EMPTY,
    };
    const dataLength = frame.pdu.dataSegmentLength;
    if (dataLength === 0) return frame;
    // RFC 7143 §11.2.3: a data digest follows only a non-empty data segment, which is padded to 4 bytes.
    const segment = ((dataLength + 3) & ~3) + (this.#cur.dataDigest ? 4 : 0);
    // With a data digest the segment is kept until the digest matched: no unverified byte reaches a placed buffer.
    const dest = this.#cur.dataDigest ? undefined : this.#place?.(frame);
    if (dest && dest.length !== dataLength)
      throw new RangeError(`DataPlacer gave ${dest.length} bytes for a ${dataLength}-byte data segment`);
    this.#pending = { frame, segment, buffer: undefined, fill: 0, dest };
    return undefined;
  }

  #takeData(p: Pending): Frame | undefined {
    if (p.dest) return this.#placeData(p, p.dest);
    const chunk = this.#queue[0]!;
    const pos = this.#pos;
    const avail = chunk.length - pos;
    const dataLength = p.frame.pdu.dataSegmentLength;
    let segment: Uint8Array;
    if (p.fill === 0 && avail >= p.segment) {
      const keep = chunk === this.#lent ? chunk.slice(pos, pos + p.segment) : chunk.subarray(pos, pos + p.segment);
      this.#advance(p.segment);
      if (!this.#cur.dataDigest) {
        this.#pending = undefined;
        p.frame.data = keep.length === dataLength ? keep : keep.subarray(0, dataLength); // zero copy unless lent
        return p.frame;
      }
      segment = keep;
    } else {
      // The length was checked in #check before this allocation.
      p.buffer ??= new Uint8Array(p.segment);
      const n = Math.min(p.segment - p.fill, avail);
      p.buffer.set(chunk.subarray(pos, pos + n), p.fill);
      p.fill += n;
      this.#advance(n);
      if (p.fill < p.segment) return undefined;
      segment = p.buffer;
    }
    this.#pending = undefined;
    const { frame } = p;
    if (this.#cur.dataDigest) {
      const at = p.segment - 4;
      const received = readDigest(segment, at);
      const computed = crc32c(segment.subarray(0, at));
      if (received !== computed) {
        const name = PDU_NAMES[frame.pdu.opcode];
        throw new PduError(
          "DIGEST",
          `${name}: data digest mismatch: received ${hex(received, 8)}, computed ${hex(computed, 8)}`,
        );
      }
    }
    frame.data = segment.length === dataLength ? segment : segment.subarray(0, dataLength);
    return frame;
  }

  /** Copy data bytes straight into the placed buffer, then skip the padding. */
  #placeData(p: Pending, dest: Uint8Array): Frame | undefined {
    const chunk = this.#queue[0]!;
    const pos = this.#pos;
    const avail = chunk.length - pos;
    const dataLength = dest.length;
    const n = Math.min((p.fill < dataLength ? dataLength : p.segment) - p.fill, avail);
    if (p.fill < dataLength) dest.set(chunk.subarray(pos, pos + n), p.fill);
    p.fill += n;
    this.#advance(n);
    if (p.fill < p.segment) return undefined;
    this.#pending = undefined;
    p.frame.data = dest;
    return p.frame;
  }

  /** Opcode, direction, AHS and DataSegmentLength rules, applied before anything is allocated for the PDU. */
  #check(bytes: Uint8Array, at: number): void {
    const opcode = bytes[at]! & 0x3f;
    if (KNOWN[opcode] !== 1) throw new PduError("PROTOCOL", `BHS: unknown opcode ${hex(opcode)}`);
    const name = PDU_NAMES[opcode as OpcodeValue];
    const { accept, maxRecvDataSegmentLength } = this.#cur;
    // RFC 7143 §11.2.1.2: initiator opcodes are 0x00–0x1f, target opcodes 0x20–0x3f.
    if (opcode >= 0x20 !== (accept === "target")) {
      const sender = accept === "target" ? "a target" : "an initiator";
      throw new PduError("PROTOCOL", `${name}: opcode ${hex(opcode)} is not one ${sender} may send`);
    }
    // No RFC 7143 target PDU needs an AHS and targets send none, so any is treated as a broken stream.
    if (accept === "target" && bytes[at + 4] !== 0)
      throw new PduError("PROTOCOL", `${name}: TotalAHSLength ${bytes[at + 4]} != 0 from a target`);
    const dataLength = (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!;
    if (dataLength > maxRecvDataSegmentLength) {
      throw new PduError(
        "PROTOCOL",
        `${name}: DataSegmentLength ${dataLength} > MaxRecvDataSegmentLength ${maxRecvDataSegmentLength}`,
      );
    }
    if (dataLength > 0 && NO_DATA_OPCODES.has(opcode))
      throw new PduError("PROTOCOL", `${name}: DataSegmentLength ${dataLength} != 0`);
    if (dataLength > SMALL_SEGMENT_LIMIT && SMALL_SEGMENT_OPCODES.has(opcode)) {
      throw new PduError("PROTOCOL", `${name}: DataSegmentLength ${dataLength} > ${SMALL_SEGMENT_LIMIT}`);
    }
  }
}

function checkOptions(opts: FramerOptions): FramerOptions {
  const max = opts.maxRecvDataSegmentLength;
  if (!Number.isInteger(max) || max < 0 || max > 0xffffff)
    throw new RangeError(`maxRecvDataSegmentLength ${max} outside 0..16777215`);
  if (opts.accept !== "target" && opts.accept !== "initiator")
    throw new RangeError(`accept ${String(opts.accept)} is not "target" or "initiator"`);
  return { ...opts };
}
