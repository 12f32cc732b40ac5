import { describe, expect, test } from "bun:test";
import { ERROR_CATALOGUE, exitCodeFor, isErrorCode } from "../../src/contract/errors.ts";
import { ascqText } from "../../src/scsi/asc.ts";
import { ScsiFormatError, ScsiStatusError } from "../../src/scsi/errors.ts";
import { decodeSense } from "../../src/scsi/sense.ts";
import { ScsiStatus, describeStatus, senseKeyName, statusName } from "../../src/scsi/status.ts";

const LBA_OUT_OF_RANGE = decodeSense(
  Uint8Array.from([0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x21, 0x00, 0, 0, 0, 0]),
);

describe("status names", () => {
  test("every SAM status code", () => {
    expect(Object.values(ScsiStatus).map(statusName)).toEqual([
      "GOOD",
      "CHECK CONDITION",
      "CONDITION MET",
      "BUSY",
      "RESERVATION CONFLICT",
      "TASK SET FULL",
      "ACA ACTIVE",
      "TASK ABORTED",
    ]);
    expect(statusName(0x7e)).toBe("STATUS 0x7E");
  });
  test("sense keys", () => {
    expect(senseKeyName(0x6)).toBe("UNIT ATTENTION");
    expect(senseKeyName(0xb)).toBe("ABORTED COMMAND");
    expect(senseKeyName(0x7)).toBe("DATA PROTECT");
    expect(senseKeyName(0x10)).toBe("SENSE KEY 0x10");
  });
  test("ASC/ASCQ text and fallback", () => {
    expect(ascqText(0x27, 0x00)).toBe("WRITE PROTECTED");
    expect(ascqText(0x3a, 0x00)).toBe("MEDIUM NOT PRESENT");
    expect(ascqText(0x55, 0x03)).toBe("INSUFFICIENT RESOURCES");
    expect(ascqText(0x04, 0xfe)).toBe("ASC 0x04 ASCQ 0xFE");
  });
  test("describeStatus with and without sense", () => {
    expect(describeStatus(0x08)).toBe("BUSY");
    expect(describeStatus(0x02, LBA_OUT_OF_RANGE)).toBe(
      "CHECK CONDITION, ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h)",
    );
  });
});

describe("errors", () => {
  test("ScsiStatusError names command, status and sense", () => {
    const err = new ScsiStatusError("WRITE(16)", 0x02, LBA_OUT_OF_RANGE);
    expect(err.message).toBe(
      "WRITE(16) failed: CHECK CONDITION, ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h)",
    );
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({
      code: "SCSI_STATUS",
      command: "WRITE(16)",
      status: 2,
      sense: LBA_OUT_OF_RANGE,
      name: "ScsiStatusError",
    });
    expect(new ScsiStatusError("READ(10)", 0x18).message).toBe("READ(10) failed: RESERVATION CONFLICT");
    expect(new ScsiStatusError("READ(10)", 0x18).sense).toBeUndefined();
  });
  test("codes are entries of the shared catalogue", () => {
    const status = new ScsiStatusError("X", 0x08);
    const format = new ScsiFormatError("INQUIRY", "bad");
    expect(isErrorCode(status.code) && isErrorCode(format.code)).toBe(true);
    expect(exitCodeFor(format)).toBe(ERROR_CATALOGUE.PROTOCOL.exit);
    expect(format.message).toBe("INQUIRY: bad");
  });
});
