import { describe, expect, test } from "bun:test";
import { ScsiFormatError } from "../../src/scsi/errors.ts";
import { parseStandardInquiry } from "../../src/scsi/inquiry.ts";
import {
  parseVpdBlockLimits,
  parseVpdDeviceIdentification,
  parseVpdLogicalBlockProvisioning,
  parseVpdSupportedPages,
  parseVpdUnitSerial,
  vpdRequiredLength,
} from "../../src/scsi/vpd.ts";
import { concat, everyPrefix, hex } from "../support/bytes.ts";

const text = (s: string) => new TextEncoder().encode(s);

// Standard INQUIRY data, 74 bytes: disk, SPC-4, HiSup, TPGS 1, 3PC, MultiP, CmdQue, three version descriptors.
const STANDARD = concat([
  hex("00 00 06 12 45 18 10 02"),
  text("LIO-ORG "),
  text("disk0           "),
  text("4.0 "),
  new Uint8Array(22), // vendor specific and reserved, bytes 36..57
  hex("04 60 04 c0 09 60"),
  new Uint8Array(10),
]);

describe("standard INQUIRY", () => {
  test("decodes identity and flags", () => {
    expect(STANDARD.length).toBe(74);
    expect(parseStandardInquiry(STANDARD)).toEqual({
      peripheralQualifier: 0,
      peripheralDeviceType: 0,
      deviceTypeName: "direct access block device",
      removable: false,
      version: 6,
      responseDataFormat: 2,
      normAca: false,
      hiSup: true,
      sccs: false,
      tpgs: 1,
      threePc: true,
      protect: false,
      encServ: false,
      multiP: true,
      cmdQue: true,
      vendor: "LIO-ORG",
      product: "disk0",
      revision: "4.0",
      versionDescriptors: [0x0460, 0x04c0, 0x0960],
      truncated: false,
    });
  });
  test("qualifier 3 and a removable unknown device", () => {
    const data = STANDARD.slice();
    data[0] = 0x7f;
    data[1] = 0x80;
    expect(parseStandardInquiry(data)).toMatchObject({
      peripheralQualifier: 3,
      peripheralDeviceType: 0x1f,
      deviceTypeName: "unknown or no device type",
      removable: true,
    });
  });
  test("non-printable bytes in text fields become spaces and are trimmed", () => {
    const data = STANDARD.slice();
    data.set(hex("00 41 01 42 00 00 00 00"), 8);
    expect(parseStandardInquiry(data).vendor).toBe("A B");
  });
  test("every truncation: ScsiFormatError below 36 bytes, then whole version descriptors", () => {
    everyPrefix(STANDARD, 36, parseStandardInquiry, (inq, n) => {
      expect(inq.product).toBe("disk0");
      expect(inq.truncated).toBe(n < 74);
      expect(inq.versionDescriptors.length).toBe([60, 62, 64].filter((end) => end <= n).length);
    });
  });
  test("ADDITIONAL LENGTH too small for the mandatory fields is malformed", () => {
    const data = STANDARD.slice(0, 36);
    data[4] = 20;
    expect(() => parseStandardInquiry(data)).toThrow(/runs past the declared length of 25 bytes/);
  });
});

const SUPPORTED = hex("00 00 00 05 00 80 83 b0 b1");
const SERIAL = concat([hex("00 80 00 0c"), text(" SN123456789")]);

describe("VPD 00h and 80h", () => {
  test("supported pages", () => {
    expect(parseVpdSupportedPages(SUPPORTED)).toEqual([0x00, 0x80, 0x83, 0xb0, 0xb1]);
    expect(vpdRequiredLength(SUPPORTED)).toBe(9);
    everyPrefix(SUPPORTED, 4, parseVpdSupportedPages, (pages, n) =>
      expect(pages).toEqual([0x00, 0x80, 0x83, 0xb0, 0xb1].slice(0, n - 4)),
    );
  });
  test("unit serial number", () => {
    expect(parseVpdUnitSerial(SERIAL)).toBe("SN123456789");
    everyPrefix(SERIAL, 4, parseVpdUnitSerial, (serial, n) =>
      expect(serial).toBe(" SN123456789".slice(0, n - 4).trim()),
    );
  });
  test("a page code other than the one asked for is malformed", () => {
    expect(() => parseVpdUnitSerial(SUPPORTED)).toThrow(/INQUIRY VPD page 80h: PAGE CODE is 00h/);
    expect(() => parseVpdBlockLimits(SERIAL)).toThrow(ScsiFormatError);
  });
  test("vpdRequiredLength needs the header", () => {
    expect(() => vpdRequiredLength(hex("00 80 00"))).toThrow(ScsiFormatError);
    expect(vpdRequiredLength(hex("00 83 01 00"))).toBe(260);
  });
});

// Device identification: NAA (LU), T10 vendor ID (LU), relative target port (iSCSI), SCSI name string (target device).
const NAME = "iqn.2003-01.org.linux-iscsi:t1";
const DEVICE_ID = concat([
  hex("00 83 00 5c"),
  hex("01 03 00 10 60 01 40 5a bc de f0 12 34 56 78 9a bc de f0 12"),
  hex("02 01 00 18"),
  text("LIO-ORG abcdef0123456789"),
  hex("51 94 00 04 00 00 00 01"),
  hex("53 a8 00 20"),
  text(NAME),
  new Uint8Array(2),
]);

describe("VPD 83h device identification", () => {
  test("decodes every designator", () => {
    expect(parseVpdDeviceIdentification(DEVICE_ID)).toEqual([
      {
        codeSet: 1,
        association: 0,
        associationName: "logical unit",
        type: 3,
        typeName: "NAA",
        value: "6001405abcdef0123456789abcdef012",
      },
      {
        codeSet: 2,
        association: 0,
        associationName: "logical unit",
        type: 1,
        typeName: "T10 vendor ID",
        value: "LIO-ORG abcdef0123456789",
      },
      {
        codeSet: 1,
        association: 1,
        associationName: "target port",
        type: 4,
        typeName: "relative target port",
        protocolIdentifier: 5,
        value: "00000001",
      },
      {
        codeSet: 3,
        association: 2,
        associationName: "target device",
        type: 8,
        typeName: "SCSI name string",
        protocolIdentifier: 5,
        value: NAME,
      },
    ]);
  });
  test("every truncation yields the whole designators that arrived", () => {
    everyPrefix(DEVICE_ID, 4, parseVpdDeviceIdentification, (designators, n) => {
      expect(designators.length).toBe([24, 52, 60, 96].filter((end) => end <= n).length);
    });
  });
  test("a designator running past PAGE LENGTH is malformed", () => {
    const data = DEVICE_ID.slice(0, 28);
    data[3] = 0x18; // a 28-byte page: the T10 designator after the NAA one needs 28 bytes from byte 24
    expect(() => parseVpdDeviceIdentification(data)).toThrow(/designation descriptor at byte 24 \(28 bytes\)/);
    const stray = concat([hex("00 83 00 16"), DEVICE_ID.subarray(4, 24), hex("01 03")]);
    expect(() => parseVpdDeviceIdentification(stray)).toThrow(/designation descriptor header/);
  });
});

// Block limits, SBC-3 page length 3Ch.
const BLOCK_LIMITS = concat([
  hex("00 b0 00 3c 01 01 00 08 00 00 40 00 00 00 04 00 00 00 00 00 00 40 00 00 00 00 00 10 00 00 00 08 80 00 00 00"),
  hex("00 00 00 00 00 01 00 00"),
  new Uint8Array(20),
]);

describe("VPD B0h block limits", () => {
  test("decodes limits", () => {
    expect(BLOCK_LIMITS.length).toBe(64);
    expect(parseVpdBlockLimits(BLOCK_LIMITS)).toEqual({
      wsnz: true,
      maxCompareAndWriteLength: 1,
      optimalTransferLengthGranularity: 8,
      maxTransferLength: 0x4000,
      optimalTransferLength: 0x400,
      maxPrefetchLength: 0,
      maxUnmapLbaCount: 0x400000,
      maxUnmapBlockDescriptorCount: 0x10,
      optimalUnmapGranularity: 8,
      unmapGranularityAlignment: 0,
      maxWriteSameLength: 0x10000n,
      truncated: false,
    });
  });
  test("SBC-2 sized page: unmap fields read 0", () => {
    const short = BLOCK_LIMITS.slice(0, 16);
    short[3] = 0x0c;
    expect(parseVpdBlockLimits(short)).toMatchObject({
      maxTransferLength: 0x4000,
      maxUnmapLbaCount: 0,
      maxWriteSameLength: 0n,
      truncated: false,
    });
    expect(parseVpdBlockLimits(short).unmapGranularityAlignment).toBeUndefined();
  });
  test("every truncation decodes whole fields only", () => {
    everyPrefix(BLOCK_LIMITS, 4, parseVpdBlockLimits, (limits, n) => {
      expect(limits.truncated).toBe(n < 64);
      expect(limits.maxTransferLength).toBe(n >= 12 ? 0x4000 : 0);
      expect(limits.maxUnmapLbaCount).toBe(n >= 24 ? 0x400000 : 0);
      expect(limits.unmapGranularityAlignment).toBe(n >= 36 ? 0 : undefined);
      expect(limits.maxWriteSameLength).toBe(n >= 44 ? 0x10000n : 0n);
    });
  });
});

// Logical block provisioning, SBC-4 page length 04h: LBPU, LBPWS, LBPRZ 001b, thin provisioned.
const LBP = hex("00 b2 00 04 00 c4 02 00");

describe("VPD B2h logical block provisioning", () => {
  test("decodes which commands unmap and what unmapped blocks read as", () => {
    expect(parseVpdLogicalBlockProvisioning(LBP)).toEqual({
      lbpu: true,
      lbpws: true,
      lbpws10: false,
      lbprz: 1,
      anc: false,
      provisioningType: 2,
    });
    expect(parseVpdLogicalBlockProvisioning(hex("00 b2 00 04 00 20 01 00"))).toMatchObject({
      lbpu: false,
      lbpws10: true,
      lbprz: 0,
      provisioningType: 1,
    });
  });
  test("a truncated page reads missing fields as 0; another page is refused", () => {
    everyPrefix(LBP, 4, parseVpdLogicalBlockProvisioning, (p, n) => expect(p.lbpu).toBe(n >= 6));
    expect(() => parseVpdLogicalBlockProvisioning(BLOCK_LIMITS)).toThrow(ScsiFormatError);
  });
});
