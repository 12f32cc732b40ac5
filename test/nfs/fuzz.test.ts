// Bounded, seeded fuzzing of the NFS server's input path: mutated MOUNT and NFSv3 calls against the RPC dispatch
// over an in-memory disk, and mutated record-marked streams against the record reader. Every call must get an
// answer carrying its xid (or, with no readable header, be dropped as unanswerable); nothing else may be thrown.
// A few seconds in CI; FUZZ_SECONDS=600 for a long run, FUZZ_SEED to replay.
import { expect, test } from "bun:test";
import { NfsExport } from "../../src/attach/nfs/export.ts";
import { answer, UnanswerableCall, type ProgramContext } from "../../src/attach/nfs/programs.ts";
import { MOUNT_PROGRAM } from "../../src/nfs/mount.ts";
import { NFS_PROGRAM } from "../../src/nfs/nfs3-types.ts";
import { RecordReader } from "../../src/nfs/record.ts";
import { AuthFlavor, decodeReply, encodeAuthSys, encodeCall } from "../../src/nfs/rpc.ts";
import { XdrError, XdrWriter } from "../../src/nfs/xdr.ts";
import { Rng, seedFrom } from "../fuzz/prng.ts";
import { MemDisk } from "./_memdisk.ts";

const seed = seedFrom(process.env.FUZZ_SEED);
const budgetMs = Number(process.env.FUZZ_SECONDS ?? 3) * 1000;

const disk = new MemDisk(1 << 20);
const x = new NfsExport("/iscsi/f", "lun0.img", disk, false);
const ctx: ProgramContext = {
  take: (n) => new Uint8Array(n),
  verifier: new Uint8Array(8),
  inGrace: () => false,
  exportById: (id) => (id === x.id ? x : undefined),
  exportByPath: (p) => (p === x.path ? x : undefined),
  exportPaths: () => [x.path],
};
const cred = { flavor: AuthFlavor.Sys, body: encodeAuthSys({ stamp: 1, machineName: "m", uid: 0, gid: 0, gids: [0] }) };
const sattr = (w: XdrWriter) =>
  w
    .bool(true)
    .u32(0o600)
    .bool(false)
    .bool(false)
    .bool(true)
    .u64(1 << 20)
    .u32(1)
    .u32(0);

/** One well-formed call per procedure, the seeds of mutation. */
function corpus(): Uint8Array[] {
  const f = x.fileHandle,
    d = x.rootHandle;
  const nfs: Array<[number, (w: XdrWriter) => unknown]> = [
    [0, () => {}],
    [1, (w) => w.opaque(f)],
    [2, (w) => sattr(w.opaque(f)).bool(false)],
    [3, (w) => w.opaque(d).string("lun0.img")],
    [4, (w) => w.opaque(f).u32(0x3f)],
    [5, (w) => w.opaque(f)],
    [6, (w) => w.opaque(f).u64(100).u32(5000)],
    [
      7,
      (w) =>
        w
          .opaque(f)
          .u64(511)
          .u32(3)
          .u32(1)
          .opaque(Uint8Array.of(1, 2, 3)),
    ],
    [8, (w) => sattr(w.opaque(d).string("lun0.img").u32(0))],
    [12, (w) => w.opaque(d).string("lun0.img")],
    [14, (w) => w.opaque(d).string("a").opaque(d).string("b")],
    [16, (w) => w.opaque(d).u64(0).fixed(new Uint8Array(8)).u32(4096)],
    [17, (w) => w.opaque(d).u64(1).fixed(new Uint8Array(8)).u32(4096).u32(8192)],
    [18, (w) => w.opaque(f)],
    [19, (w) => w.opaque(d)],
    [20, (w) => w.opaque(f)],
    [21, (w) => w.opaque(f).u64(0).u32(0)],
  ];
  const mount: Array<[number, (w: XdrWriter) => unknown]> = [
    [0, () => {}],
    [1, (w) => w.string("/iscsi/f")],
    [2, () => {}],
    [3, (w) => w.string("/iscsi/f")],
    [4, () => {}],
    [5, () => {}],
  ];
  const build =
    (prog: number) =>
    ([proc, args]: [number, (w: XdrWriter) => unknown]) => {
      const w = new XdrWriter();
      args(w);
      return encodeCall({ xid: proc + 1, prog, vers: 3, proc, cred }, w.finish());
    };
  return [...nfs.map(build(NFS_PROGRAM)), ...mount.map(build(MOUNT_PROGRAM))];
}

function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  let b: Uint8Array = input.slice();
  for (let n = rng.range(1, 4); n > 0; n--) {
    switch (rng.int(5)) {
      case 0:
        if (b.length) b[rng.int(b.length)] = rng.u32() & 0xff;
        break;
      case 1: {
        if (b.length < 4) break;
        const at = rng.int(b.length >> 2) * 4;
        new DataView(b.buffer).setUint32(at, rng.interesting(new DataView(b.buffer).getUint32(at)));
        break;
      }
      case 2:
        b = b.slice(0, rng.int(b.length + 1));
        break;
      case 3: {
        const more = rng.bytes(rng.int(16) * 4);
        const out = new Uint8Array(b.length + more.length);
        out.set(b);
        out.set(more, b.length);
        b = out;
        break;
      }
      default:
        b = rng.bytes(rng.int(200));
    }
  }
  return b;
}

test(
  `fuzz: mutated RPC calls and record streams are answered or refused cleanly (seed ${seed})`,
  async () => {
    const seeds = corpus();
    const findings: string[] = [];
    const outcomes = { answered: 0, unanswerable: 0, streams: 0, streamErrors: 0 };
    const start = Date.now();
    let episode = 0;
    for (; Date.now() - start < budgetMs && findings.length < 10; episode++) {
      const rng = Rng.episode(seed, episode);
      disk.state = rng.pick(["up", "up", "recovering", "down"] as const);
      const record = mutate(rng, rng.pick(seeds));
      try {
        const reply = await answer(ctx, record, rng.chance(0.9));
        const r = decodeReply(reply.subarray(4));
        if (record.length >= 4 && r.xid !== new DataView(record.buffer).getUint32(0))
          findings.push(`episode ${episode}: reply xid ${r.xid} is not the call's`);
        outcomes.answered++;
      } catch (err) {
        if (err instanceof UnanswerableCall) outcomes.unanswerable++;
        else findings.push(`episode ${episode}: ${(err as Error).stack}`);
      }
      // The same bytes as a stream, marked (sometimes badly) and split at a random point.
      const framed = new Uint8Array(record.length + 4);
      new DataView(framed.buffer).setUint32(
        0,
        rng.chance(0.8) ? (0x8000_0000 | record.length) >>> 0 : rng.interesting(record.length),
      );
      framed.set(record, 4);
      const reader = new RecordReader(4096);
      const cut = rng.int(framed.length + 1);
      try {
        const got = [...reader.push(framed.subarray(0, cut)), ...reader.push(framed.subarray(cut))];
        if (got.some((g) => g.length > 4096)) findings.push(`episode ${episode}: a record over the limit came out`);
        outcomes.streams++;
      } catch (err) {
        if (err instanceof XdrError) outcomes.streamErrors++;
        else findings.push(`episode ${episode}: record reader threw ${(err as Error).stack}`);
      }
    }
    if (findings.length) console.error(`NFS fuzz seed ${seed}: replay with FUZZ_SEED=${seed}\n${findings.join("\n")}`);
    console.log(`NFS fuzz seed ${seed}: ${episode} episodes in ${Date.now() - start} ms: ${JSON.stringify(outcomes)}`);
    expect(findings).toEqual([]);
    expect(outcomes.answered).toBeGreaterThan(500);
    expect(outcomes.unanswerable).toBeGreaterThan(10);
    expect(outcomes.streamErrors).toBeGreaterThan(10);
  },
  budgetMs + 60_000,
);
