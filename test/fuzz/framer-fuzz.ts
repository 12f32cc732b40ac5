// Framer fuzzer, no sockets: streams of target PDUs, framed with or without digests, mutated before and after
// framing and cut at random offsets, fed to the PduFramer an initiator uses (RFC 7143 §11.2, §13.1, §13.12).
// What must hold: the only exception is a PduError (PROTOCOL or DIGEST) and it sticks; every frame handed out
// is a target PDU whose data is exactly DataSegmentLength bytes within the limits; an unmutated stream comes
// out as it went in, whatever the cuts.
import {
  encodeDataIn,
  encodeR2T,
  encodeScsiResponse,
  framePdu,
  PduError,
  PduFramer,
  RESERVED_TAG,
  type Frame,
} from "../../src/pdu/index.ts";
import { Rng } from "./prng.ts";
import { corruptBytes, mutatePdu, split, strayPdu, type RawPdu } from "./mutate.ts";
import type { Finding } from "./session-fuzz.ts";
import { concat } from "../support/bytes.ts";

function corpusPdu(rng: Rng, maxData: number): RawPdu {
  const seq = { statSN: rng.u32(), expCmdSN: rng.u32(), maxCmdSN: rng.u32() };
  const itt = rng.int(0x1000000);
  switch (rng.int(4)) {
    case 0: {
      const data = rng.bytes(rng.int(Math.min(maxData, 3000) + 1));
      return {
        bhs: encodeDataIn({
          final: true,
          acknowledge: false,
          residualOverflow: false,
          residualUnderflow: false,
          statusPresent: rng.chance(0.5),
          status: 0,
          lun: 0n,
          itt,
          ttt: RESERVED_TAG,
          ...seq,
          dataSN: rng.int(4),
          bufferOffset: rng.int(1 << 20),
          residualCount: 0,
          dataSegmentLength: data.length,
        }),
        data,
      };
    }
    case 1:
      return {
        bhs: encodeR2T({
          lun: 0n,
          itt,
          ttt: rng.u32(),
          ...seq,
          r2tSN: rng.int(4),
          bufferOffset: rng.u32(),
          desiredDataTransferLength: rng.u32(),
        }),
        data: new Uint8Array(0),
      };
    case 2: {
      const data = rng.chance(0.3) ? rng.bytes(rng.int(40)) : new Uint8Array(0);
      return {
        bhs: encodeScsiResponse({
          bidiReadResidualOverflow: false,
          bidiReadResidualUnderflow: false,
          residualOverflow: false,
          residualUnderflow: false,
          response: 0,
          status: rng.pick([0, 2]),
          itt,
          snackTag: 0,
          ...seq,
          expDataSN: 0,
          bidirectionalReadResidualCount: 0,
          residualCount: 0,
          dataSegmentLength: data.length,
        }),
        data,
      };
    }
    default:
      return strayPdu(rng, seq, [itt], []);
  }
}

function frameLoose(p: RawPdu, digests: { headerDigest: boolean; dataDigest: boolean }): Uint8Array[] {
  const claimed = (p.bhs[5]! << 16) | (p.bhs[6]! << 8) | p.bhs[7]!;
  if (claimed === p.data.length && p.bhs[4] === 0) return framePdu(p.bhs, p.data, digests);
  // A lying header is sent as is: BHS, (digest), the real data and padding.
  return [p.bhs, ...(digests.headerDigest ? [new Uint8Array(4)] : []), p.data, new Uint8Array(-p.data.length & 3)];
}

export function framerEpisode(seed: number, episode: number): { frames: number; error: string; findings: Finding[] } {
  const rng = Rng.episode(seed, episode);
  const findings: Finding[] = [];
  const find = (what: string) => findings.push({ episode, what });
  const digests = { headerDigest: rng.chance(0.4), dataDigest: rng.chance(0.4) };
  const maxRecv = rng.pick([512, 8192, 65536, 262144]);
  const mutate = rng.chance(0.7);
  const pdus = Array.from({ length: rng.range(1, 12) }, () => corpusPdu(rng, maxRecv));
  const sent = pdus.map((p) => ({ bhs: p.bhs.slice(), data: p.data }));
  if (mutate) for (let i = rng.range(1, 3); i > 0; i--) mutatePdu(rng, rng.pick(pdus));
  let stream = concat(pdus.flatMap((p) => frameLoose(p, digests)));
  if (mutate && rng.chance(0.3)) stream = corruptBytes(rng, stream, rng.range(1, 4));
  if (mutate && rng.chance(0.2)) stream = stream.subarray(0, rng.int(stream.length));

  const framer = new PduFramer({ ...digests, maxRecvDataSegmentLength: maxRecv, accept: "target" });
  const got: Frame[] = [];
  let error: unknown;
  for (const piece of split(rng, stream)) {
    try {
      got.push(...framer.push(piece.slice()));
    } catch (err) {
      error = err;
      break;
    }
  }
  if (error !== undefined) {
    if (!(error instanceof PduError) || (error.code !== "PROTOCOL" && error.code !== "DIGEST"))
      find(`framer threw ${String((error as Error)?.stack ?? error)}`);
    try {
      framer.push(new Uint8Array(1));
      find("framer accepted input after an error");
    } catch (again) {
      if (again !== error) find("framer threw a different error after its first");
    }
  }
  for (const f of got) {
    if (f.bhs.length !== 48) find(`frame with a ${f.bhs.length}-byte BHS`);
    if ((f.bhs[0]! & 0x3f) < 0x20) find(`initiator opcode 0x${(f.bhs[0]! & 0x3f).toString(16)} handed out`);
    if (f.data.length !== f.pdu.dataSegmentLength || f.data.length > maxRecv)
      find(`frame data ${f.data.length} bytes for DataSegmentLength ${f.pdu.dataSegmentLength} (limit ${maxRecv})`);
    if (f.ahs.length !== 0) find("a target frame with an AHS handed out");
  }
  if (!mutate) {
    if (error !== undefined) find(`an intact stream failed: ${(error as Error).message}`);
    else if (got.length !== sent.length) find(`${got.length} frames out of ${sent.length} intact PDUs`);
    else
      for (const [i, f] of got.entries())
        if (Buffer.compare(f.bhs, sent[i]!.bhs) !== 0 || Buffer.compare(f.data, sent[i]!.data) !== 0)
          find(`frame ${i} differs from what was sent`);
  }
  return { frames: got.length, error: error === undefined ? "" : ((error as PduError).code ?? "?"), findings };
}
