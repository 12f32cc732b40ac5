// The FUSE file and its loop device against a real tgtd: bytes written through /dev/loopN are what an independent
// initiator (qemu-img) reads from the LUN and the other way round; concurrent unaligned writes into one 4 KiB
// block lose nothing; read-only attachments refuse writes; fsync is SYNCHRONIZE CACHE; hole punching becomes UNMAP
// where the LUN reads unmapped blocks as zeroes and is refused elsewhere; detach leaves nothing behind.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Attachment } from "../../src/attach/attachment.ts";
import type { Session } from "../../src/session/session.ts";
import { libiscsiUrl, qemuImgRead, qemuImgWrite } from "../harness/initiators.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { firstDifference, openSession, randomData } from "../interop/_util.ts";
import { cleanup, fuseMounts, loopDevices, made, ok, sh, TMP } from "./_util.ts";

const MiB = 1 << 20;
let t: TgtdTarget;
let session: Session;
let work: string;
// LUN 1: 32 MiB, 512-byte blocks. LUN 2: 16 MiB, 4096-byte blocks. LUN 3: 16 MiB thin (UNMAP, reads zeroes).
const url = (lun: number) => libiscsiUrl({ portal: t.portal, iqn: t.targets[0]!.iqn, lun });

beforeAll(async () => {
  t = await startTgtd({ luns: [{ sizeMiB: 32 }, { sizeMiB: 16, blockSize: 4096 }, { sizeMiB: 16, thin: true }] });
  session = await openSession(t.port, t.targets[0]!.iqn);
  work = mkdtempSync(join(TMP, "iscsi-attach-test-"));
});

afterEach(cleanup);

afterAll(async () => {
  await cleanup();
  await session?.logout().catch(() => {});
  await t?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function attach(lun: number, opts: { readOnly?: boolean; sectorSize?: number } = {}): Promise<Attachment> {
  const a = await Attachment.attach(session, lun, opts);
  made.add(a);
  return a;
}

test("a loop device with direct I/O over the FUSE file: what goes in through it, qemu-img reads from the LUN, and back", async () => {
  const a = await attach(1);
  expect(a.device).toMatch(/^\/dev\/loop\d+$/);
  expect(a.directIo).toBe(true);
  expect(a.state).toBe("attached");
  expect(Number(await ok(`blockdev --getsize64 ${a.device}`))).toBe(32 * MiB);

  const ours = randomData(6 * MiB);
  writeFileSync(join(work, "ours.bin"), ours);
  await ok(`dd if=${work}/ours.bin of=${a.device} bs=1M seek=3 oflag=direct conv=fsync status=none`);
  const seen = await qemuImgRead(url(1), 3 * MiB, 6 * MiB);
  expect(firstDifference(seen, ours)).toBe(-1);

  const theirs = randomData(2 * MiB + 4096);
  await qemuImgWrite(url(1), 20 * MiB + 512, theirs);
  await ok(
    `dd if=${a.device} of=${work}/back.bin bs=4096 skip=${(20 * MiB) / 4096} count=${(2 * MiB) / 4096 + 2} iflag=direct status=none`,
  );
  const back = new Uint8Array(readFileSync(`${work}/back.bin`)).subarray(512, 512 + theirs.length);
  expect(firstDifference(back, theirs)).toBe(-1);

  const s = a.stats;
  // 6 MiB in requests of at most 1 MiB (our FUSE max_write); usually 512 KiB (loop's 128 segments of 4 KiB),
  // but dd's buffer may sit in huge pages, and then the block layer hands over whole 1 MiB requests.
  expect(s.writes).toBeGreaterThanOrEqual(6);
  expect(s.bytesWritten).toBe(6 * MiB);
  expect(s.bytesRead).toBeGreaterThanOrEqual(2 * MiB + 8192);
  expect(s.flushes).toBeGreaterThanOrEqual(1);
  expect(s.errors).toBe(0);

  const { device, file } = a;
  await a.detach();
  expect(fuseMounts(dirname(file))).toEqual([]);
  expect(loopDevices(file)).toEqual([]);
  expect(await sh(`losetup ${device} 2>&1 | grep -F ${file}`)).toMatchObject({ code: 1 });
});

test("a 4096-byte-block LUN behind a 512-byte-sector loop device: 128 sector writes in flight, 8 into each block, all survive", async () => {
  // The loop device's sectors are smaller than the LUN's blocks, so every write is a read-modify-write, and the
  // 8 sectors of one block are written at the same time (O_DIRECT on a block device runs in parallel).
  const a = await attach(2, { sectorSize: 512 });
  expect(a.geometry.blockSize).toBe(4096);
  expect(await ok(`blockdev --getss ${a.device}`)).toBe("512\n");
  const base = 4 * MiB;
  const expected = randomData(16 * 4096);
  await qemuImgWrite(url(2), base, expected);
  const records: Uint8Array[] = [];
  for (let sector = 0; sector < 128; sector++) {
    const piece = randomData(512);
    expected.set(piece, sector * 512);
    const rec = new Uint8Array(12 + piece.length);
    new DataView(rec.buffer).setBigUint64(0, BigInt(base + sector * 512), true);
    new DataView(rec.buffer).setUint32(8, piece.length, true);
    rec.set(piece, 12);
    records.push(rec);
  }
  writeFileSync(`${work}/records`, Buffer.concat(records));
  await ok(`gcc -O2 -pthread -o ${work}/pwrite_many ${import.meta.dir}/pwrite_many.c`);
  await ok(`${work}/pwrite_many ${a.device} ${work}/records direct`);
  const after = await qemuImgRead(url(2), base, 16 * 4096);
  expect(firstDifference(after, expected)).toBe(-1);
  expect(a.stats.writes).toBe(128);
  expect(a.stats.errors).toBe(0);
  // The writes really did meet: some waited for another's read-modify-write of the same block.
  expect(a.lockWaits).toBeGreaterThan(0);
});

test("a read-only attachment refuses writes on the device and on the file, and still reads", async () => {
  const data = randomData(MiB);
  await qemuImgWrite(url(1), 0, data);
  const a = await attach(1, { readOnly: true });
  expect(a.readOnly).toBe(true);
  const viaLoop = await sh(`dd if=/dev/zero of=${a.device} bs=4096 count=1 oflag=direct status=none`);
  expect(viaLoop.code).not.toBe(0);
  expect(viaLoop.stderr).toMatch(/Read-only|Operation not permitted/i);
  const viaFile = await sh(`dd if=/dev/zero of=${a.file} bs=4096 count=1 conv=notrunc status=none`);
  expect(viaFile.code).not.toBe(0);
  expect(viaFile.stderr).toMatch(/Read-only file system/);
  await ok(`dd if=${a.device} of=${work}/ro.bin bs=1M count=1 iflag=direct status=none`);
  expect(firstDifference(new Uint8Array(readFileSync(`${work}/ro.bin`)), data)).toBe(-1);
  expect(a.stats.writes).toBe(0);
});

test("fsync of the file is SYNCHRONIZE CACHE answered by the target; a write past the end is refused with ENOSPC", async () => {
  const a = await attach(1);
  const flushes = a.stats.flushes;
  const commands = session.stats.commands;
  await ok(`dd if=/dev/urandom of=${a.file} bs=64k count=4 conv=notrunc,fsync oflag=direct status=none`);
  // conv=fsync, then close (FUSE flush): both reach the target.
  expect(a.stats.flushes).toBeGreaterThanOrEqual(flushes + 2);
  expect(session.stats.commands).toBeGreaterThanOrEqual(commands + 4 + 2);
  const past = await sh(
    `dd if=/dev/zero of=${a.file} bs=4096 count=2 seek=${(32 * MiB) / 4096 - 1} conv=notrunc status=none`,
  );
  expect(past.code).not.toBe(0);
  expect(past.stderr).toMatch(/No space left on device/);
});

test("punching a hole becomes UNMAP on a LUN that reads unmapped blocks as zeroes; partial blocks are zeroed; refused elsewhere", async () => {
  const data = randomData(2 * MiB);
  await qemuImgWrite(url(3), 0, data);
  const a = await attach(3);
  expect(a.geometry.unmap).toBeDefined();
  await ok(`fallocate --punch-hole --keep-size --offset ${MiB - 1000} --length ${MiB / 2 + 3000} ${a.file}`);
  expect(a.stats.trims).toBe(1);
  const expected = data.slice();
  expected.fill(0, MiB - 1000, MiB - 1000 + MiB / 2 + 3000);
  expect(firstDifference(await qemuImgRead(url(3), 0, 2 * MiB), expected)).toBe(-1);
  await a.detach();

  const b = await attach(1);
  expect(b.geometry.unmap).toBeUndefined();
  const refused = await sh(`fallocate --punch-hole --keep-size --offset 0 --length ${MiB} ${b.file}`);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/unsupported|not supported/i);
});
