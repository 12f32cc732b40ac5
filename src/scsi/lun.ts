// Single-level LUNs in the 8-byte LUN field that iSCSI PDUs and REPORT LUNS carry (SAM-5 LUN formats,
// SPC-4 REPORT LUNS): peripheral device addressing below 256, flat space addressing below 16384.

const PERIPHERAL = 0b00;
const FLAT = 0b01;
const MAX_FLAT = 0x3fff;
const MAX_FIELD = (1n << 64n) - 1n;

/** The 8-byte LUN field, as a big-endian bigint, addressing logical unit `lun`. */
export function encodeLun(lun: number): bigint {
  if (!Number.isInteger(lun) || lun < 0 || lun > MAX_FLAT) {
    throw new RangeError(`lun ${lun} is outside 0..${MAX_FLAT} (single-level peripheral or flat addressing)`);
  }
  const firstLevel = lun < 256 ? (PERIPHERAL << 14) | lun : (FLAT << 14) | lun;
  return BigInt(firstLevel) << 48n;
}

/**
 * The logical unit number of an 8-byte LUN field, or null when the field uses an addressing method we do not
 * decode (logical unit or extended addressing, a non-zero bus identifier, or a second level).
 */
export function decodeLun(field: bigint): number | null {
  if (field < 0n || field > MAX_FIELD) throw new RangeError(`LUN field 0x${field.toString(16)} is not 64 bits`);
  if ((field & 0xffff_ffff_ffffn) !== 0n) return null;
  const firstLevel = Number(field >> 48n);
  const method = firstLevel >> 14;
  if (method === FLAT) return firstLevel & MAX_FLAT;
  // Peripheral device addressing with bus identifier 0 is the plain 0..255 form.
  if (method === PERIPHERAL && firstLevel >> 8 === 0) return firstLevel & 0xff;
  return null;
}
