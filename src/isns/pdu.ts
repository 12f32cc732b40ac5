// iSNSP PDUs (RFC 4171 §5.1): the 12-byte header (version, function ID, PDU length, flags, transaction ID,
// sequence ID), a message cut into PDUs, and a framer that reassembles messages from a TCP byte stream,
// checking each header before its payload is awaited.
import { FLAG, FUNCTION_NAMES, HEADER_BYTES, ISNSP_VERSION } from "./constants.ts";
import { IsnsError } from "./errors.ts";

export interface Message {
  functionId: number;
  flags: number;
  transactionId: number;
  payload: Uint8Array;
}

/** Largest reassembled message we accept: a query answer listing thousands of nodes fits, a flood does not. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Most payload bytes in one PDU: the 16-bit PDU Length, kept to a multiple of 4 so attributes stay aligned. */
const MAX_PDU_PAYLOAD = 0xfffc;

export const functionName = (id: number) => FUNCTION_NAMES[id] ?? `function 0x${id.toString(16).padStart(4, "0")}`;

export function encodeHeader(h: {
  functionId: number;
  pduLength: number;
  flags: number;
  transactionId: number;
  sequenceId: number;
}): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint16(0, ISNSP_VERSION);
  view.setUint16(2, h.functionId);
  view.setUint16(4, h.pduLength);
  view.setUint16(6, h.flags);
  view.setUint16(8, h.transactionId);
  view.setUint16(10, h.sequenceId);
  return out;
}

/** One message as its PDUs, concatenated: First PDU on the first, Last PDU on the last (RFC 4171 §5.1.4). */
export function encodeMessage(m: Message): Uint8Array {
  const chunks: Uint8Array[] = [];
  const count = Math.max(1, Math.ceil(m.payload.length / MAX_PDU_PAYLOAD));
  for (let seq = 0; seq < count; seq++) {
    const part = m.payload.subarray(seq * MAX_PDU_PAYLOAD, (seq + 1) * MAX_PDU_PAYLOAD);
    const flags =
      (m.flags & ~(FLAG.firstPdu | FLAG.lastPdu)) |
      (seq === 0 ? FLAG.firstPdu : 0) |
      (seq === count - 1 ? FLAG.lastPdu : 0);
    chunks.push(
      encodeHeader({
        functionId: m.functionId,
        pduLength: part.length,
        flags,
        transactionId: m.transactionId,
        sequenceId: seq,
      }),
      part,
    );
  }
  return concat(chunks);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of parts) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Reassembles messages from stream chunks. A bad header throws; after that the stream cannot be trusted. */
export class MessageFramer {
  private buffer = new Uint8Array(0);
  private partial:
    | { functionId: number; transactionId: number; flags: number; nextSeq: number; parts: Uint8Array[]; bytes: number }
    | undefined;

  push(chunk: Uint8Array): Message[] {
    const joined = concat([this.buffer, chunk]);
    const out: Message[] = [];
    let at = 0;
    while (joined.length - at >= HEADER_BYTES) {
      const view = new DataView(joined.buffer, joined.byteOffset + at, HEADER_BYTES);
      const version = view.getUint16(0);
      if (version !== ISNSP_VERSION)
        throw new IsnsError(`iSNSP version ${version} in a PDU header; only version ${ISNSP_VERSION} exists`);
      const pduLength = view.getUint16(4);
      if (joined.length - at - HEADER_BYTES < pduLength) break;
      const header = {
        functionId: view.getUint16(2),
        flags: view.getUint16(6),
        transactionId: view.getUint16(8),
        sequenceId: view.getUint16(10),
      };
      const done = this.accept(header, joined.slice(at + HEADER_BYTES, at + HEADER_BYTES + pduLength));
      if (done) out.push(done);
      at += HEADER_BYTES + pduLength;
    }
    this.buffer = joined.slice(at);
    return out;
  }

  private accept(
    h: { functionId: number; flags: number; transactionId: number; sequenceId: number },
    payload: Uint8Array,
  ): Message | undefined {
    const first = (h.flags & FLAG.firstPdu) !== 0;
    const last = (h.flags & FLAG.lastPdu) !== 0;
    if (this.partial === undefined) {
      // QUIRK(open-isns): tolerate a single-PDU message that sets neither First nor Last, read as complete.
      if (!first && h.sequenceId !== 0)
        throw new IsnsError(
          `${functionName(h.functionId)} PDU with sequence ID ${h.sequenceId} but no message started`,
        );
      if (last || !first) return { functionId: h.functionId, flags: h.flags, transactionId: h.transactionId, payload };
      this.partial = {
        functionId: h.functionId,
        transactionId: h.transactionId,
        flags: h.flags,
        nextSeq: 1,
        parts: [payload],
        bytes: payload.length,
      };
      return undefined;
    }
    const p = this.partial;
    if (h.functionId !== p.functionId || h.transactionId !== p.transactionId || h.sequenceId !== p.nextSeq || first) {
      throw new IsnsError(
        `${functionName(h.functionId)} PDU (transaction ${h.transactionId}, sequence ${h.sequenceId}) interrupts ${functionName(p.functionId)} transaction ${p.transactionId} awaiting sequence ${p.nextSeq}`,
      );
    }
    p.bytes += payload.length;
    if (p.bytes > MAX_MESSAGE_BYTES)
      throw new IsnsError(`${functionName(p.functionId)} message exceeds ${MAX_MESSAGE_BYTES} bytes`);
    p.parts.push(payload);
    p.nextSeq++;
    if (!last) return undefined;
    this.partial = undefined;
    return { functionId: p.functionId, flags: p.flags, transactionId: p.transactionId, payload: concat(p.parts) };
  }
}
