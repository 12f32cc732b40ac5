// A disk LUN over a session: the SCSI commands a block client needs, with the retry rules of SPC-4 for
// UNIT ATTENTION, and non-GOOD status turned into a ScsiStatusError that names the sense.
import { IscsiError } from "../contract/errors.ts";
import {
  inquiry,
  modeSense10,
  parseReadCapacity10,
  parseReadCapacity16,
  parseReportLuns,
  parseStandardInquiry,
  parseVpdBlockLimits,
  parseVpdDeviceIdentification,
  parseVpdSupportedPages,
  parseVpdUnitSerial,
  readCapacity10,
  readCapacity16,
  readCdb,
  reportLuns,
  requestSense,
  synchronizeCache10,
  synchronizeCache16,
  testUnitReady,
  unmap,
  writeCdb,
  writeSame16,
  decodeSense,
  ScsiStatus,
  ScsiStatusError,
  SenseKey,
  type CdbSpec,
} from "../scsi/index.ts";
import type { SessionCore } from "./core.ts";
import type { ScsiResult } from "./task.ts";

const MAX_UA_RETRIES = 10;
const MAX_BUSY_RETRIES = 8;

export interface Capacity {
  blockSize: number;
  blocks: bigint;
  bytes: bigint;
  thinProvisioned: boolean;
}

/** What a logical unit uses of its session. */
export type LuSession = Pick<SessionCore, "execute" | "log" | "recordIdentity" | "recordedIdentity">;

export class LogicalUnit<S extends LuSession = SessionCore> {
  capacity: Capacity | undefined;

  private readonly priority: boolean;

  /** `priority`: the session's own identity re-check after a reinstatement, sent ahead of queued I/O. */
  constructor(
    readonly session: S,
    readonly lun: number,
    opts: { priority?: boolean } = {},
  ) {
    this.priority = opts.priority ?? false;
  }

  /** Run a CDB; GOOD returns the result, UNIT ATTENTION is retried (the command was not executed), anything else throws. */
  async run(spec: CdbSpec, io: { data?: Uint8Array; buffer?: Uint8Array } = {}): Promise<ScsiResult> {
    for (let attempt = 0; ; attempt++) {
      const result = await this.session.execute(
        {
          lun: this.lun,
          cdb: spec.cdb,
          direction: spec.direction,
          transferLength: spec.transferLength,
          name: spec.name,
          data: io.data,
          buffer: io.buffer,
        },
        { priority: this.priority },
      );
      if (result.status === ScsiStatus.Good) return result;
      const sense = result.sense ? safeDecode(result.sense) : undefined;
      if (
        result.status === ScsiStatus.CheckCondition &&
        sense?.senseKey === SenseKey.UnitAttention &&
        attempt < MAX_UA_RETRIES
      ) {
        this.session.log.debug(`${spec.name}: unit attention ${sense.ascqText}; retrying`);
        continue;
      }
      // BUSY and TASK SET FULL: the command was not run; retry a bounded number of times with backoff.
      if (
        (result.status === ScsiStatus.Busy || result.status === ScsiStatus.TaskSetFull) &&
        attempt < MAX_BUSY_RETRIES
      ) {
        await Bun.sleep(Math.min(1000, 10 * 2 ** attempt));
        continue;
      }
      throw new ScsiStatusError(spec.name, result.status, sense);
    }
  }

  /** TEST UNIT READY until the unit attentions of a fresh I_T nexus are swallowed (as libiscsi does on connect). */
  async testUnitReady(): Promise<void> {
    await this.run(testUnitReady());
  }

  async inquiry() {
    const r = await this.run(inquiry({ allocationLength: 255 }));
    return parseStandardInquiry(r.data);
  }

  async vpdPages(): Promise<number[]> {
    return parseVpdSupportedPages((await this.run(inquiry({ evpd: true, page: 0x00, allocationLength: 255 }))).data);
  }

  async unitSerialNumber(): Promise<string> {
    return parseVpdUnitSerial((await this.run(inquiry({ evpd: true, page: 0x80, allocationLength: 255 }))).data);
  }

  async deviceIdentification() {
    return parseVpdDeviceIdentification(
      (await this.run(inquiry({ evpd: true, page: 0x83, allocationLength: 1024 }))).data,
    );
  }

  async blockLimits() {
    return parseVpdBlockLimits((await this.run(inquiry({ evpd: true, page: 0xb0, allocationLength: 64 }))).data);
  }

  /** READ CAPACITY (16), falling back to (10) for targets that do not know it. */
  async readCapacity(): Promise<Capacity> {
    let cap: Capacity;
    try {
      const c = parseReadCapacity16((await this.run(readCapacity16({ allocationLength: 32 }))).data);
      cap = {
        blockSize: c.blockSize,
        blocks: c.blocks,
        bytes: c.blocks * BigInt(c.blockSize),
        thinProvisioned: c.lbpme,
      };
    } catch (err) {
      if (!(err instanceof ScsiStatusError)) throw err;
      const c = parseReadCapacity10((await this.run(readCapacity10())).data);
      const blocks = BigInt(c.blocks);
      cap = { blockSize: c.blockSize, blocks, bytes: blocks * BigInt(c.blockSize), thinProvisioned: false };
    }
    if (cap.blockSize === 0 || cap.blockSize % 512 !== 0)
      throw new IscsiError("PROTOCOL", `target reports an unusable block size ${cap.blockSize}`);
    this.capacity = cap;
    return cap;
  }

  /**
   * Ready the unit for I/O: its capacity, and its identity recorded in the session (once per LUN), which
   * re-checks it after a reinstatement before any queued command goes out again.
   */
  async open(): Promise<Capacity> {
    const cap = await this.readCapacity();
    if (!this.priority && this.session.recordedIdentity(this.lun) === undefined)
      this.session.recordIdentity(this.lun, await identityOf(this, cap));
    return cap;
  }

  async reportLuns(): Promise<number[]> {
    const first = await this.run(reportLuns({ allocationLength: 16 + 8 * 256 }));
    return parseReportLuns(first.data);
  }

  /** REQUEST SENSE: the unit's current sense (e.g. a pending deferred error), decoded; undefined when empty. */
  async requestSense() {
    const data = (await this.run(requestSense({ allocationLength: 252 }))).data;
    return data.length === 0 ? undefined : decodeSense(data);
  }

  async modeSense(page: number) {
    return (await this.run(modeSense10({ page, allocationLength: 255 }))).data;
  }

  private requireCapacity(): Capacity {
    if (!this.capacity) throw new IscsiError("INTERNAL", "readCapacity() must run before block I/O");
    return this.capacity;
  }

  private checkRange(lba: bigint, blocks: number, what: string): void {
    const cap = this.requireCapacity();
    if (lba < 0n || blocks < 0 || lba + BigInt(blocks) > cap.blocks) {
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `${what} of ${blocks} blocks at LBA ${lba} is outside the LUN (${cap.blocks} blocks)`,
      );
    }
  }

  /** Read `blocks` blocks at `lba` into `buffer` (allocated when absent). */
  async read(lba: bigint, blocks: number, buffer?: Uint8Array): Promise<Uint8Array> {
    this.checkRange(lba, blocks, "read");
    const spec = readCdb({ lba, blocks, blockSize: this.capacity!.blockSize });
    const r = await this.run(spec, buffer ? { buffer } : {});
    if (r.data.length !== spec.transferLength)
      throw new IscsiError("PROTOCOL", `${spec.name}: short read, ${r.data.length} of ${spec.transferLength} bytes`);
    return r.data;
  }

  /** Write whole blocks at `lba`; resolves only after the target answered GOOD. */
  async write(lba: bigint, data: Uint8Array, opts: { fua?: boolean } = {}): Promise<void> {
    const bs = this.requireCapacity().blockSize;
    if (data.length % bs !== 0)
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `write of ${data.length} bytes is not a multiple of the block size ${bs}`,
      );
    this.checkRange(lba, data.length / bs, "write");
    const r = await this.run(writeCdb({ lba, blocks: data.length / bs, blockSize: bs, fua: opts.fua ?? false }), {
      data,
    });
    if (r.residualUnderflow > 0)
      throw new IscsiError(
        "SCSI_STATUS",
        `write at LBA ${lba}: target took only ${data.length - r.residualUnderflow} of ${data.length} bytes`,
      );
  }

  /** SYNCHRONIZE CACHE over the whole LUN; waits for completion (IMMED=0). */
  async synchronizeCache(): Promise<void> {
    try {
      await this.run(synchronizeCache16({}));
    } catch (err) {
      if (!(err instanceof ScsiStatusError) || err.sense?.senseKey !== 0x05) throw err;
      await this.run(synchronizeCache10({}));
    }
  }

  async unmap(ranges: Array<{ lba: bigint; blocks: number }>): Promise<void> {
    const spec = unmap({ descriptors: ranges });
    await this.run(spec, { data: spec.parameterList });
  }

  async writeSame(lba: bigint, blocks: number, block: Uint8Array, opts: { unmap?: boolean } = {}): Promise<void> {
    await this.run(
      writeSame16({ lba, blocks, blockSize: this.requireCapacity().blockSize, unmap: opts.unmap ?? false }),
      { data: block },
    );
  }
}

/**
 * What makes this LU this LU: unit serial (VPD 0x80), device identifiers (VPD 0x83) and capacity. Pages a
 * target does not offer are left out. Compared after a reinstatement (docs/architecture.md, "Recovery (ERL0)").
 */
export async function identityOf(lu: LogicalUnit<LuSession>, capacity?: Capacity): Promise<string> {
  const pages = await lu.vpdPages().catch(() => [] as number[]);
  const serial = pages.includes(0x80) ? await lu.unitSerialNumber() : "";
  const ids = pages.includes(0x83)
    ? (await lu.deviceIdentification()).map((d) => `${d.type}:${d.value}`).join(",")
    : "";
  const cap = capacity ?? (await lu.readCapacity());
  return `serial=${JSON.stringify(serial)} ids=${ids || "-"} blocks=${cap.blocks}x${cap.blockSize}`;
}

function safeDecode(sense: Uint8Array) {
  try {
    return decodeSense(sense);
  } catch {
    return undefined;
  }
}
