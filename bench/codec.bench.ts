// Micro-benchmarks of the RFC 7143 §11 codec and the send path: SCSI Command encode, Data-In decode, framer
// throughput (data kept by the framer or placed into a destination buffer), CRC32C, and the send queue
// gathering 8 KiB Data-Out PDUs. Run: bun bench/codec.bench.ts

import { Bench } from "tinybench";
import {
  PduFramer,
  crc32c,
  decodeDataIn,
  encodeDataIn,
  encodeDataOut,
  encodeScsiCommand,
  framePdu,
  type DataPlacer,
  type DigestOptions,
} from "../src/pdu/index.ts";
import { SendQueue } from "../src/transport/send-queue.ts";

const MiB = 1 << 20;
const PDU_DATA = 64 * 1024;
const cdb = Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 0x80, 0);
const out = new Uint8Array(48);

/** 1 MiB of read data as 16 Data-In PDUs of 64 KiB, framed for the wire, then cut into `chunk`-byte reads. */
function dataInStream(digests: DigestOptions, chunk: number): Uint8Array[] {
  const payload = Uint8Array.from({ length: MiB }, (_, i) => i * 13);
  const pieces: Uint8Array[] = [];
  for (let offset = 0, dataSN = 0; offset < MiB; offset += PDU_DATA, dataSN++) {
    const data = payload.subarray(offset, offset + PDU_DATA);
    const bhs = encodeDataIn({
      dataSegmentLength: data.length,
      final: offset + PDU_DATA === MiB,
      acknowledge: false,
      residualOverflow: false,
      residualUnderflow: false,
      statusPresent: false,
      status: 0,
      lun: 0n,
      itt: 1,
      ttt: 0xffffffff,
      statSN: 1,
      expCmdSN: 1,
      maxCmdSN: 64,
      dataSN,
      bufferOffset: offset,
      residualCount: 0,
    });
    pieces.push(...framePdu(bhs, data, digests));
  }
  const wire = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  pieces.reduce((at, p) => (wire.set(p, at), at + p.length), 0);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < wire.length; at += chunk) chunks.push(wire.slice(at, at + chunk));
  return chunks;
}

function frameAll(chunks: Uint8Array[], digests: DigestOptions, place?: DataPlacer): void {
  const framer = new PduFramer({ ...digests, maxRecvDataSegmentLength: PDU_DATA, accept: "target" }, place);
  let frames = 0;
  for (const c of chunks) frames += framer.push(c).length;
  if (frames !== MiB / PDU_DATA) throw new Error(`framed ${frames} PDUs`);
}

const none = { headerDigest: false, dataDigest: false };
const both = { headerDigest: true, dataDigest: true };
const whole = dataInStream(none, 2 * MiB);
const reads = dataInStream(none, 64 * 1024);
const readsDigest = dataInStream(both, 64 * 1024);
const dataInBhs = whole[0]!.subarray(0, 48);
const oneMiB = Uint8Array.from({ length: MiB }, (_, i) => i * 7);
const destination = new Uint8Array(MiB);
const placeRead: DataPlacer = (f) =>
  f.pdu.opcode === 0x25
    ? destination.subarray(f.pdu.bufferOffset, f.pdu.bufferOffset + f.pdu.dataSegmentLength)
    : undefined;

// 1 MiB of write data as 128 Data-Out PDUs of 8 KiB (tgtd's MaxRecvDataSegmentLength), queued in one tick.
const DATA_OUT = 8192;
let sent = 0;
const queue = new SendQueue((d) => ((sent += d.length), d.length));
const scratchBhs = new Uint8Array(48);
function queueWrite(): void {
  for (let at = 0, dataSN = 0; at < MiB; at += DATA_OUT, dataSN++) {
    encodeDataOut(
      {
        final: at + DATA_OUT === MiB,
        lun: 0n,
        itt: 1,
        ttt: 2,
        expStatSN: 1,
        dataSN,
        bufferOffset: at,
        dataSegmentLength: DATA_OUT,
      },
      scratchBhs,
    );
    queue.push(framePdu(scratchBhs.slice(), oneMiB.subarray(at, at + DATA_OUT), none));
  }
  queue.flush();
}

// Bytes moved per operation, for the MB/s column.
const bytesPerOp: Record<string, number> = {};
const bench = new Bench({ time: 500 });
const add = (name: string, bytes: number, fn: () => void) => {
  bytesPerOp[name] = bytes;
  bench.add(name, fn);
};
add("encode SCSI Command", 0, () => {
  encodeScsiCommand(
    {
      final: true,
      read: true,
      write: false,
      attr: 1,
      lun: 0n,
      itt: 7,
      expectedDataTransferLength: 65536,
      cmdSN: 9,
      expStatSN: 4,
      cdb,
    },
    out,
  );
});
add("decode Data-In", 0, () => {
  decodeDataIn(dataInBhs);
});
add("framer 1 MiB Data-In, one chunk", MiB, () => frameAll(whole, none));
add("framer 1 MiB Data-In, 64 KiB reads", MiB, () => frameAll(reads, none));
add("framer 1 MiB Data-In, 64 KiB reads, placed", MiB, () => frameAll(reads, none, placeRead));
add("framer 1 MiB Data-In, 64 KiB reads, digests", MiB, () => frameAll(readsDigest, both));
add("send queue 1 MiB as 128 Data-Out of 8 KiB", MiB, queueWrite);
add("crc32c 1 MiB", MiB, () => {
  crc32c(oneMiB);
});

await bench.run();
console.table(
  bench.tasks.map((task) => {
    const latency = task.result?.latency;
    const meanMs = latency?.mean ?? Number.NaN;
    const bytes = bytesPerOp[task.name] ?? 0;
    return {
      task: task.name,
      "ops/s": Math.round(1000 / meanMs).toLocaleString("en"),
      "mean µs": (meanMs * 1000).toFixed(3),
      "MB/s": bytes ? Math.round(bytes / 1e6 / (meanMs / 1000)).toLocaleString("en") : "",
      samples: latency?.samples.length ?? 0,
    };
  }),
);
