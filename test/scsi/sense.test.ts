import { describe, expect, test } from "bun:test";
import { ScsiFormatError } from "../../src/scsi/errors.ts";
import { decodeSense, senseDataFromIscsi } from "../../src/scsi/sense.ts";
import { describeSense } from "../../src/scsi/status.ts";
import { hex } from "../support/bytes.ts";

// Fixed format, current, VALID: ILLEGAL REQUEST 21h/00h, INFORMATION 1000h, field pointer at CDB byte 2.
const FIXED = hex("f0 00 05 00 00 10 00 0a 00 00 00 00 21 00 00 c0 00 02");
// Descriptor format: ILLEGAL REQUEST 24h/00h; information 1234h, sense key specific (CDB byte 3 bit 0), block commands ILI.
const DESCRIPTOR = hex(
  "72 05 24 00 00 00 00 18 " + "00 0a 80 00 00 00 00 00 00 00 12 34 " + "02 06 00 00 c8 00 03 00 " + "05 02 00 20",
);

describe("fixed format sense", () => {
  test("decodes key, ASC/ASCQ, information and field pointer", () => {
    const sense = decodeSense(FIXED);
    expect(sense).toMatchObject({
      format: "fixed",
      responseCode: 0x70,
      deferred: false,
      senseKey: 5,
      senseKeyName: "ILLEGAL REQUEST",
      asc: 0x21,
      ascq: 0,
      ascqText: "LOGICAL BLOCK ADDRESS OUT OF RANGE",
      information: 0x1000n,
      fieldPointer: { commandData: true, byte: 2 },
      ili: false,
      truncated: false,
      descriptors: [],
    });
    expect(sense.fieldPointer?.bit).toBeUndefined();
    expect(describeSense(sense)).toBe("ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h)");
  });
  test("bit pointer, no VALID information", () => {
    const sense = decodeSense(hex("70 00 25 00 00 10 00 0a 00 00 00 00 24 00 00 8d 00 04"));
    expect(sense.information).toBeUndefined();
    expect(sense.ili).toBe(true);
    expect(sense.fieldPointer).toEqual({ commandData: false, byte: 4, bit: 5 });
  });
  test("deferred error (71h)", () => {
    const sense = decodeSense(hex("71 00 03 00 00 00 00 0a 00 00 00 00 11 00 00 00 00 00"));
    expect(sense.deferred).toBe(true);
    expect(sense.senseKeyName).toBe("MEDIUM ERROR");
    expect(describeSense(sense)).toBe("MEDIUM ERROR: UNRECOVERED READ ERROR (11h/00h) [deferred error]");
  });
  test("NOT READY with progress indication", () => {
    const sense = decodeSense(hex("70 00 02 00 00 00 00 0a 00 00 00 00 04 04 00 80 40 00"));
    expect(sense.ascqText).toBe("LOGICAL UNIT NOT READY, FORMAT IN PROGRESS");
    expect(sense.progress).toBe(0x4000);
    expect(sense.fieldPointer).toBeUndefined();
  });
  test("UNIT ATTENTION families", () => {
    const ua = (asc: string) => decodeSense(hex(`70 00 06 00 00 00 00 0a 00 00 00 00 ${asc} 00 00 00 00`)).ascqText;
    expect(ua("29 00")).toBe("POWER ON, RESET, OR BUS DEVICE RESET OCCURRED");
    expect(ua("2a 09")).toBe("CAPACITY DATA HAS CHANGED");
    expect(ua("3f 0e")).toBe("REPORTED LUNS DATA HAS CHANGED");
    expect(ua("80 01")).toBe("ASC 0x80 ASCQ 0x01");
  });
  test("bytes beyond ADDITIONAL SENSE LENGTH are ignored", () => {
    const sense = decodeSense(hex("70 00 05 00 00 00 00 05 00 00 00 00 24 00 00 c0 00 02"));
    expect(sense.asc).toBe(0);
    expect(sense.truncated).toBe(true);
    expect(sense.fieldPointer).toBeUndefined();
  });
  test("truncated at every length: throws below 3 bytes, then decodes what arrived", () => {
    for (let n = 0; n <= FIXED.length; n++) {
      const prefix = FIXED.slice(0, n);
      if (n < 3) {
        expect(() => decodeSense(prefix)).toThrow(ScsiFormatError);
        continue;
      }
      const sense = decodeSense(prefix);
      expect(sense.senseKey).toBe(5);
      expect(sense.truncated).toBe(n < FIXED.length);
      expect(sense.asc).toBe(n >= 14 ? 0x21 : 0);
      expect(sense.information).toBe(n >= 7 ? 0x1000n : undefined);
      expect(sense.fieldPointer !== undefined).toBe(n === FIXED.length);
      if (sense.truncated) expect(describeSense(sense)).toEndWith("[sense data truncated]");
    }
  });
});

describe("descriptor format sense", () => {
  test("decodes descriptors", () => {
    const sense = decodeSense(DESCRIPTOR);
    expect(sense).toMatchObject({
      format: "descriptor",
      responseCode: 0x72,
      deferred: false,
      senseKey: 5,
      asc: 0x24,
      ascq: 0,
      ascqText: "INVALID FIELD IN CDB",
      information: 0x1234n,
      fieldPointer: { commandData: true, byte: 3, bit: 0 },
      ili: true,
      truncated: false,
    });
    expect(sense.descriptors.map((d) => [d.type, d.data.length])).toEqual([
      [0, 12],
      [2, 8],
      [5, 4],
    ]);
  });
  test("deferred error (73h)", () => {
    const sense = decodeSense(hex("73 06 2a 09 00 00 00 00"));
    expect(sense).toMatchObject({
      deferred: true,
      senseKeyName: "UNIT ATTENTION",
      ascqText: "CAPACITY DATA HAS CHANGED",
      truncated: false,
    });
  });
  test("information without VALID is left out", () => {
    expect(decodeSense(hex("72 03 11 00 00 00 00 0c 00 0a 00 00 00 00 00 00 00 00 12 34")).information).toBeUndefined();
  });
  test("a descriptor running past ADDITIONAL SENSE LENGTH stops decoding", () => {
    const sense = decodeSense(hex("72 05 24 00 00 00 00 04 00 0a 80 00 00 00 00 00 00 00 12 34"));
    expect(sense.descriptors).toEqual([]);
    expect(sense.information).toBeUndefined();
    expect(sense.truncated).toBe(true);
  });
  test("truncated at every length: throws below 2 bytes, then decodes whole descriptors", () => {
    for (let n = 0; n <= DESCRIPTOR.length; n++) {
      const prefix = DESCRIPTOR.slice(0, n);
      if (n < 2) {
        expect(() => decodeSense(prefix)).toThrow(ScsiFormatError);
        continue;
      }
      const sense = decodeSense(prefix);
      expect(sense.senseKey).toBe(5);
      expect(sense.asc).toBe(n >= 4 ? 0x24 : 0);
      expect(sense.truncated).toBe(n < DESCRIPTOR.length);
      expect(sense.descriptors.length).toBe([20, 28, 32].filter((end) => end <= n).length);
      expect(sense.information).toBe(n >= 20 ? 0x1234n : undefined);
      expect(sense.ili).toBe(n === 32);
    }
  });
});

describe("unusable sense", () => {
  test("unknown response codes throw ScsiFormatError", () => {
    expect(() => decodeSense(hex("7f 00 05 00"))).toThrow(/RESPONSE CODE 0x7F/);
    expect(() => decodeSense(hex("00 00 00 00"))).toThrow(ScsiFormatError);
    expect(() => decodeSense(new Uint8Array(0))).toThrow(ScsiFormatError);
  });
});

describe("senseDataFromIscsi", () => {
  test("returns the SenseLength bytes and leaves the response data after them", () => {
    const data = new Uint8Array([0x00, FIXED.length, ...FIXED, 0xaa, 0xbb]);
    const sense = senseDataFromIscsi(data);
    expect(sense).toEqual(FIXED);
    data[2] = 0; // a copy: the session may reuse its receive buffer
    expect(sense[0]).toBe(0xf0);
  });
  test("SenseLength exactly filling the segment", () => {
    expect(senseDataFromIscsi(hex("00 02 70 00"))).toEqual(hex("70 00"));
  });
  test("SenseLength beyond the segment throws", () => {
    expect(() => senseDataFromIscsi(hex("ff ff 70 00"))).toThrow(/SenseLength 65535 exceeds the 2 bytes/);
    expect(() => senseDataFromIscsi(new Uint8Array([0x00, 19, ...FIXED]))).toThrow(ScsiFormatError);
    expect(() => senseDataFromIscsi(hex("00"))).toThrow(ScsiFormatError);
  });
  test("empty segment and SenseLength 0 carry no sense", () => {
    expect(senseDataFromIscsi(new Uint8Array(0)).length).toBe(0);
    expect(senseDataFromIscsi(hex("00 00 aa")).length).toBe(0);
  });
});
