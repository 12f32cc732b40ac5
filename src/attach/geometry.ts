// What the request server must know of a LUN before serving it (SBC-4): block size and capacity (READ CAPACITY),
// the largest transfer (Block Limits VPD B0h) and whether UNMAP leaves zeroes behind (READ CAPACITY(16) LBPME/
// LBPRZ, Logical Block Provisioning VPD B2h). Pages the target does not offer leave the safe defaults.
import { IscsiError } from "../contract/errors.ts";
import {
  inquiry,
  parseReadCapacity16,
  parseVpdLogicalBlockProvisioning,
  readCapacity16,
  ScsiStatusError,
} from "../scsi/index.ts";
import type { ScsiExecutor } from "../session/executor.ts";
import type { LogicalUnit } from "../session/logical-unit.ts";

export interface Geometry {
  blockSize: number;
  blocks: bigint;
  sizeBytes: number;
  /** Largest single READ/WRITE in bytes (a multiple of the block size). */
  maxTransferBytes: number;
  /** UNMAP is used for TRIM only when it is supported and unmapped blocks read back as zeroes. */
  unmap: { maxBlocks: number; maxDescriptors: number } | undefined;
  /** SCSI peripheral device type is direct access and the unit is write protected (DATA PROTECT). */
  writeProtected: boolean;
}

/** Our own cap on one command, whatever the LUN allows: FUSE requests are at most 1 MiB anyway. */
const MAX_TRANSFER_CAP = 8 * 1024 * 1024;
/** UNMAP parameter list length is 16 bits: (65535 - 8) / 16 descriptors at most; keep commands small. */
const MAX_UNMAP_DESCRIPTORS = 64;

export async function probeGeometry(lu: LogicalUnit<ScsiExecutor>): Promise<Geometry> {
  await lu.testUnitReady();
  const inq = await lu.inquiry();
  if (inq.peripheralDeviceType !== 0x00) {
    throw new IscsiError(
      "NOT_SUPPORTED",
      `LUN ${lu.lun} is a ${inq.deviceTypeName}, not a disk (direct-access block device); only disks can be attached`,
    );
  }
  const cap = await lu.open();
  const sizeBytes = Number(cap.bytes);
  if (!Number.isSafeInteger(sizeBytes))
    throw new IscsiError("NOT_SUPPORTED", `LUN ${lu.lun} is too large to attach (${cap.bytes} bytes)`);
  const pages = await lu.vpdPages().catch(() => [] as number[]);
  let maxBlocks = Math.floor(MAX_TRANSFER_CAP / cap.blockSize);
  let unmapLimits = { maxBlocks: 0xffffffff, maxDescriptors: MAX_UNMAP_DESCRIPTORS };
  if (pages.includes(0xb0)) {
    const bl = await lu.blockLimits();
    if (bl.maxTransferLength > 0) maxBlocks = Math.min(maxBlocks, bl.maxTransferLength);
    if (bl.maxUnmapLbaCount > 0) unmapLimits.maxBlocks = bl.maxUnmapLbaCount;
    if (bl.maxUnmapBlockDescriptorCount > 0)
      unmapLimits.maxDescriptors = Math.min(MAX_UNMAP_DESCRIPTORS, bl.maxUnmapBlockDescriptorCount);
  }
  return {
    blockSize: cap.blockSize,
    blocks: cap.blocks,
    sizeBytes,
    maxTransferBytes: Math.max(1, maxBlocks) * cap.blockSize,
    unmap: (await unmapZeroes(lu, pages)) ? unmapLimits : undefined,
    writeProtected: await writeProtected(lu),
  };
}

/** LBPME and LBPRZ from READ CAPACITY(16), LBPU from the B2h page (assumed with LBPME when the page is absent). */
async function unmapZeroes(lu: LogicalUnit<ScsiExecutor>, pages: number[]): Promise<boolean> {
  let rc: ReturnType<typeof parseReadCapacity16>;
  try {
    rc = parseReadCapacity16((await lu.run(readCapacity16({ allocationLength: 32 }))).data);
  } catch (err) {
    if (err instanceof ScsiStatusError) return false;
    throw err;
  }
  if (!rc.lbpme) return false;
  let lbpu = true;
  let lbprz = rc.lbprz;
  if (pages.includes(0xb2)) {
    const lbp = parseVpdLogicalBlockProvisioning(
      (await lu.run(inquiry({ evpd: true, page: 0xb2, allocationLength: 64 }))).data,
    );
    lbpu = lbp.lbpu;
    lbprz ||= (lbp.lbprz & 1) !== 0;
  }
  return lbpu && lbprz;
}

/** MODE SENSE(10) device-specific parameter bit 7 (WP) for direct-access devices (SBC-4 §6.5.1). */
async function writeProtected(lu: LogicalUnit<ScsiExecutor>): Promise<boolean> {
  try {
    const data = await lu.modeSense(0x3f);
    return data.length > 3 && (data[3]! & 0x80) !== 0;
  } catch (err) {
    if (err instanceof ScsiStatusError) return false;
    throw err;
  }
}
