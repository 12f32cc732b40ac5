// The name that groups paths into one device: the LU's best designator from VPD page 0x83 (SPC-4 §7.8.6),
// as multipath-tools takes its WWID, with the unit serial and target name as the fallback (docs/multipath.md).
import type { Designator } from "../scsi/vpd.ts";

/** Designator types, best first: NAA (3), EUI-64 (2), SCSI name string (8), T10 vendor ID (1). */
const PREFERENCE = [3, 2, 8, 1];
const PREFIX: Record<number, string> = { 3: "naa.", 2: "eui.", 8: "name.", 1: "t10." };
const LOGICAL_UNIT = 0;

export function wwidOf(designators: readonly Designator[], serial: string, targetName: string): string {
  for (const type of PREFERENCE) {
    const d = designators.find((x) => x.association === LOGICAL_UNIT && x.type === type && x.value.length > 0);
    if (d) return `${PREFIX[type]}${d.value}`;
  }
  return `serial.${targetName}.${serial || "none"}`;
}
