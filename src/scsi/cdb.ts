// CDB builders for the commands a disk initiator issues (SPC-4 and SBC-3 command layouts); each also names the
// data direction and the bytes expected in the data phase, which become iSCSI's Expected Data Transfer Length.
import { viewOf } from "./bytes.ts";

export interface CdbSpec {
  name: string;
  cdb: Uint8Array;
  direction: "none" | "read" | "write";
  transferLength: number; // bytes expected in the data phase
}

export type Lba = bigint | number;

export interface TransferArgs {
  lba: Lba;
  blocks: number;
  blockSize: number;
  fua?: boolean; // force unit access: bypass the volatile cache (SBC-3)
}

export interface UnmapDescriptor {
  lba: Lba;
  blocks: number;
}

const OP = {
  testUnitReady: 0x00,
  requestSense: 0x03,
  inquiry: 0x12,
  modeSense6: 0x1a,
  readCapacity10: 0x25,
  read10: 0x28,
  write10: 0x2a,
  synchronizeCache10: 0x35,
  unmap: 0x42,
  modeSense10: 0x5a,
  read16: 0x88,
  write16: 0x8a,
  synchronizeCache16: 0x91,
  writeSame16: 0x93,
  serviceActionIn16: 0x9e,
  reportLuns: 0xa0,
} as const;
const READ_CAPACITY_16_SERVICE_ACTION = 0x10;
const FUA = 0x08;
const U8 = 0xff;
const U16 = 0xffff;
const U32 = 0xffff_ffff;
const LBA32 = 1n << 32n;
const LBA64 = 1n << 64n;
// UNMAP's PARAMETER LIST LENGTH is 16 bits: an 8-byte header plus 16-byte block descriptors (SBC-3).
const MAX_UNMAP_DESCRIPTORS = Math.floor((U16 - 8) / 16);

function integer(value: number, label: string, max: number, min = 0): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${label} ${value} is outside ${min}..${max}`);
  }
  return value;
}

function lbaOf(value: Lba, label: string, limit: bigint): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value))
    throw new RangeError(`${label} ${value} is not a safe integer`);
  const lba = BigInt(value);
  if (lba < 0n || lba >= limit) throw new RangeError(`${label} ${value} is outside 0..${limit - 1n}`);
  return lba;
}

// iSCSI's Expected Data Transfer Length is 32 bits, so a transfer must fit in it.
function dataLength(name: string, blocks: number, blockSize: number): number {
  integer(blockSize, `${name}: blockSize`, U32, 1);
  const bytes = blocks * blockSize;
  if (bytes > U32)
    throw new RangeError(`${name}: blocks ${blocks} × blockSize ${blockSize} = ${bytes} bytes exceeds ${U32}`);
  return bytes;
}

// READ/WRITE CDBs are built in one scratch view and copied out: a DataView over every fresh small array
// costs an allocation of its own (measured: ~11% of CPU per 4 KiB I/O, docs/performance.md).
const SCRATCH = new Uint8Array(16);
const SCRATCH_VIEW = new DataView(SCRATCH.buffer);
function cdbOf(length: number, opcode: number): [Uint8Array, DataView] {
  const cdb = new Uint8Array(length);
  cdb[0] = opcode;
  return [cdb, viewOf(cdb)];
}
function scratchCdb(opcode: number): DataView {
  SCRATCH.fill(0);
  SCRATCH[0] = opcode;
  return SCRATCH_VIEW;
}
const takeCdb = (length: number) => SCRATCH.slice(0, length);

export function testUnitReady(): CdbSpec {
  return { name: "TEST UNIT READY", cdb: cdbOf(6, OP.testUnitReady)[0], direction: "none", transferLength: 0 };
}

/** INQUIRY: standard data, or with `evpd` the vital product data page `page` (SPC-4). */
export function inquiry({
  evpd = false,
  page = 0,
  allocationLength,
}: {
  evpd?: boolean;
  page?: number;
  allocationLength: number;
}): CdbSpec {
  integer(page, "INQUIRY: page", U8);
  // SPC-4: a PAGE CODE without EVPD is an ILLEGAL REQUEST, so refuse it here.
  if (!evpd && page !== 0) throw new RangeError(`INQUIRY: page ${page} requires evpd`);
  const [cdb, view] = cdbOf(6, OP.inquiry);
  cdb[1] = evpd ? 0x01 : 0;
  cdb[2] = page;
  view.setUint16(3, integer(allocationLength, "INQUIRY: allocationLength", U16));
  return { name: "INQUIRY", cdb, direction: "read", transferLength: allocationLength };
}

export function readCapacity10(): CdbSpec {
  return { name: "READ CAPACITY(10)", cdb: cdbOf(10, OP.readCapacity10)[0], direction: "read", transferLength: 8 };
}

/** READ CAPACITY(16), a SERVICE ACTION IN(16) service action (SBC-3). */
export function readCapacity16({ allocationLength = 32 }: { allocationLength?: number } = {}): CdbSpec {
  const [cdb, view] = cdbOf(16, OP.serviceActionIn16);
  cdb[1] = READ_CAPACITY_16_SERVICE_ACTION;
  view.setUint32(10, integer(allocationLength, "READ CAPACITY(16): allocationLength", U32));
  return { name: "READ CAPACITY(16)", cdb, direction: "read", transferLength: allocationLength };
}

export function reportLuns({
  allocationLength,
  selectReport = 0,
}: {
  allocationLength: number;
  selectReport?: number;
}): CdbSpec {
  const [cdb, view] = cdbOf(12, OP.reportLuns);
  cdb[2] = integer(selectReport, "REPORT LUNS: selectReport", U8);
  // SPC-4 lets the device server reject an ALLOCATION LENGTH below 16.
  view.setUint32(6, integer(allocationLength, "REPORT LUNS: allocationLength", U32, 16));
  return { name: "REPORT LUNS", cdb, direction: "read", transferLength: allocationLength };
}

function transfer10(name: string, opcode: number, direction: "read" | "write", args: TransferArgs): CdbSpec {
  const lba = lbaOf(args.lba, `${name}: lba`, LBA32);
  const view = scratchCdb(opcode);
  if (args.fua) SCRATCH[1] = FUA;
  view.setUint32(2, Number(lba));
  view.setUint16(7, integer(args.blocks, `${name}: blocks`, U16));
  return { name, cdb: takeCdb(10), direction, transferLength: dataLength(name, args.blocks, args.blockSize) };
}

function transfer16(name: string, opcode: number, direction: "read" | "write", args: TransferArgs): CdbSpec {
  const lba = lbaOf(args.lba, `${name}: lba`, LBA64);
  const view = scratchCdb(opcode);
  if (args.fua) SCRATCH[1] = FUA;
  view.setBigUint64(2, lba);
  view.setUint32(10, integer(args.blocks, `${name}: blocks`, U32));
  return { name, cdb: takeCdb(16), direction, transferLength: dataLength(name, args.blocks, args.blockSize) };
}

export const read10 = (args: TransferArgs): CdbSpec => transfer10("READ(10)", OP.read10, "read", args);
export const read16 = (args: TransferArgs): CdbSpec => transfer16("READ(16)", OP.read16, "read", args);
export const write10 = (args: TransferArgs): CdbSpec => transfer10("WRITE(10)", OP.write10, "write", args);
export const write16 = (args: TransferArgs): CdbSpec => transfer16("WRITE(16)", OP.write16, "write", args);

// The 10-byte form whenever LBA and block count fit it: older targets may not implement the 16-byte one.
function fits10(args: TransferArgs, name: string): boolean {
  return lbaOf(args.lba, `${name}: lba`, LBA64) < LBA32 && args.blocks <= U16;
}

export function readCdb(args: TransferArgs): CdbSpec {
  return fits10(args, "READ") ? read10(args) : read16(args);
}

export function writeCdb(args: TransferArgs): CdbSpec {
  return fits10(args, "WRITE") ? write10(args) : write16(args);
}

interface SyncArgs {
  lba?: Lba;
  blocks?: number; // 0: through the last logical block
  immed?: boolean; // report GOOD before the flush completes
}

export function synchronizeCache10({ lba = 0, blocks = 0, immed = false }: SyncArgs = {}): CdbSpec {
  const name = "SYNCHRONIZE CACHE(10)";
  const [cdb, view] = cdbOf(10, OP.synchronizeCache10);
  if (immed) cdb[1] = 0x02;
  view.setUint32(2, Number(lbaOf(lba, `${name}: lba`, LBA32)));
  view.setUint16(7, integer(blocks, `${name}: blocks`, U16));
  return { name, cdb, direction: "none", transferLength: 0 };
}

export function synchronizeCache16({ lba = 0, blocks = 0, immed = false }: SyncArgs = {}): CdbSpec {
  const name = "SYNCHRONIZE CACHE(16)";
  const [cdb, view] = cdbOf(16, OP.synchronizeCache16);
  if (immed) cdb[1] = 0x02;
  view.setBigUint64(2, lbaOf(lba, `${name}: lba`, LBA64));
  view.setUint32(10, integer(blocks, `${name}: blocks`, U32));
  return { name, cdb, direction: "none", transferLength: 0 };
}

/** REQUEST SENSE; `descriptor` asks for descriptor-format sense (SPC-4). */
export function requestSense({
  allocationLength,
  descriptor = false,
}: {
  allocationLength: number;
  descriptor?: boolean;
}): CdbSpec {
  const [cdb] = cdbOf(6, OP.requestSense);
  if (descriptor) cdb[1] = 0x01;
  cdb[4] = integer(allocationLength, "REQUEST SENSE: allocationLength", U8);
  return { name: "REQUEST SENSE", cdb, direction: "read", transferLength: allocationLength };
}

export interface ModeSenseArgs {
  page: number;
  subpage?: number;
  pageControl?: number; // 0 current, 1 changeable, 2 default, 3 saved
  dbd?: boolean; // disable block descriptors
  allocationLength: number;
}

function modeSenseCdb(name: string, length: number, opcode: number, args: ModeSenseArgs, maxAllocation: number) {
  const { page, subpage = 0, pageControl = 0, dbd = true, allocationLength } = args;
  const [cdb, view] = cdbOf(length, opcode);
  if (dbd) cdb[1] = 0x08;
  cdb[2] = (integer(pageControl, `${name}: pageControl`, 3) << 6) | integer(page, `${name}: page`, 0x3f);
  cdb[3] = integer(subpage, `${name}: subpage`, U8);
  integer(allocationLength, `${name}: allocationLength`, maxAllocation);
  return [cdb, view] as const;
}

export function modeSense6(args: ModeSenseArgs): CdbSpec {
  const name = "MODE SENSE(6)";
  const [cdb] = modeSenseCdb(name, 6, OP.modeSense6, args, U8);
  cdb[4] = args.allocationLength;
  return { name, cdb, direction: "read", transferLength: args.allocationLength };
}

export function modeSense10(args: ModeSenseArgs): CdbSpec {
  const name = "MODE SENSE(10)";
  const [cdb, view] = modeSenseCdb(name, 10, OP.modeSense10, args, U16);
  view.setUint16(7, args.allocationLength);
  return { name, cdb, direction: "read", transferLength: args.allocationLength };
}

/** UNMAP with its parameter list: an 8-byte header and one 16-byte block descriptor per range (SBC-3). */
export function unmap({ descriptors }: { descriptors: UnmapDescriptor[] }): CdbSpec & { parameterList: Uint8Array } {
  integer(descriptors.length, "UNMAP: descriptors.length", MAX_UNMAP_DESCRIPTORS, 1);
  const length = 8 + 16 * descriptors.length;
  const parameterList = new Uint8Array(length);
  const list = viewOf(parameterList);
  list.setUint16(0, length - 2); // UNMAP DATA LENGTH counts the bytes after itself
  list.setUint16(2, length - 8); // UNMAP BLOCK DESCRIPTOR DATA LENGTH
  descriptors.forEach(({ lba, blocks }, i) => {
    list.setBigUint64(8 + 16 * i, lbaOf(lba, `UNMAP: descriptors[${i}].lba`, LBA64));
    list.setUint32(16 + 16 * i, integer(blocks, `UNMAP: descriptors[${i}].blocks`, U32));
  });
  const [cdb, view] = cdbOf(10, OP.unmap);
  view.setUint16(7, length);
  return { name: "UNMAP", cdb, direction: "write", transferLength: length, parameterList };
}

/**
 * WRITE SAME(16): one block of data written to `blocks` blocks; `unmap` lets the target deallocate them
 * (SBC-3), `ndob` sends no data block and writes zeroes (SBC-4).
 */
export function writeSame16(args: Omit<TransferArgs, "fua"> & { unmap?: boolean; ndob?: boolean }): CdbSpec {
  const name = "WRITE SAME(16)";
  const blockSize = integer(args.blockSize, `${name}: blockSize`, U32, 1);
  const [cdb, view] = cdbOf(16, OP.writeSame16);
  cdb[1] = (args.unmap ? 0x08 : 0) | (args.ndob ? 0x01 : 0);
  view.setBigUint64(2, lbaOf(args.lba, `${name}: lba`, LBA64));
  view.setUint32(10, integer(args.blocks, `${name}: blocks`, U32));
  return args.ndob
    ? { name, cdb, direction: "none", transferLength: 0 }
    : { name, cdb, direction: "write", transferLength: blockSize };
}
