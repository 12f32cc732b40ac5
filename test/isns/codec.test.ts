// The iSNSP codec (RFC 4171 §5, §6): every request we build against hand-laid bytes, every answer we read
// against bytes captured from isnsd, and malformed answers refused with errors that name what is wrong.
import { describe, expect, test } from "bun:test";
import { FLAG, FUNCTION, SCN_BIT } from "../../src/isns/constants.ts";
import { IsnsError } from "../../src/isns/errors.ts";
import * as m from "../../src/isns/messages.ts";
import { encodeHeader, encodeMessage, MessageFramer, type Message } from "../../src/isns/pdu.ts";
import { decodeAttributes, encodeIp, readIp, readString, readU32 } from "../../src/isns/tlv.ts";
import { DEV_ATTR_QRY_RSP, DEV_ATTR_REG_RSP, DEV_DEREG_RSP, ME, SCN, SCN_REG_RSP, TARGET } from "./fixtures.ts";

const hexOf = (b: Uint8Array) => Buffer.from(b).toString("hex");
/** One TLV in hex, laid out by hand: 4-byte tag, 4-byte length, value. */
const tlv = (tag: number, value = "") =>
  tag.toString(16).padStart(8, "0") + (value.length / 2).toString(16).padStart(8, "0") + value;
const NAME = "69716e2e323032362d31322e783a6900"; // "iqn.2026-12.x:i\0"
const E1 = "65310000"; // "e1\0" padded
const u32 = (n: number) => n.toString(16).padStart(8, "0");
const V4 = "00000000000000000000ffff7f000001"; // 127.0.0.1 mapped into IPv6 (RFC 4171 §6.3.1)

function one(bytes: Uint8Array): Message {
  const out = new MessageFramer().push(bytes);
  expect(out.length).toBe(1);
  return out[0]!;
}

describe("requests, byte for byte", () => {
  test("the header is 12 bytes: version 1, function, length, flags, transaction, sequence", () => {
    expect(
      hexOf(encodeHeader({ functionId: 2, pduLength: 0x1234, flags: 0x8c00, transactionId: 7, sequenceId: 1 })),
    ).toBe("000100021234" + "8c0000070001");
  });

  test("DevAttrReg: source, key Entity ID, delimiter, entity, protocol iSCSI, portal with SCN port, initiator node; Replace set", () => {
    const bytes = encodeMessage({
      ...m.devAttrReg({ source: ME, entityId: "e1", scn: { host: "127.0.0.1", port: 4000 } }),
      transactionId: 1,
    });
    const payload =
      tlv(32, NAME) +
      tlv(1, E1) +
      tlv(0) +
      tlv(1, E1) +
      tlv(2, u32(2)) +
      tlv(16, V4) +
      tlv(17, u32(4000)) +
      tlv(23, u32(4000)) +
      tlv(32, NAME) +
      tlv(33, u32(2));
    expect(hexOf(bytes)).toBe(
      "0001" + "0001" + (payload.length / 2).toString(16).padStart(4, "0") + "9c00" + "0001" + "0000" + payload,
    );
    expect((bytes[6]! << 8) & FLAG.replace).toBe(FLAG.replace);
  });

  test("DevAttrReg without SCN registers no portal", () => {
    const bytes = encodeMessage({ ...m.devAttrReg({ source: ME, entityId: "e1" }), transactionId: 1 });
    expect(hexOf(bytes.subarray(12))).toBe(
      tlv(32, NAME) + tlv(1, E1) + tlv(0) + tlv(1, E1) + tlv(2, u32(2)) + tlv(32, NAME) + tlv(33, u32(2)),
    );
  });

  test("DevAttrQry for targets: key Node Type = Target, then the attributes asked for, empty", () => {
    const bytes = encodeMessage({ ...m.devAttrQryTargets(ME), transactionId: 2 });
    expect(hexOf(bytes)).toBe(
      "00010002006c" +
        "8c00" +
        "0002" +
        "0000" +
        tlv(32, NAME) +
        tlv(33, u32(1)) +
        tlv(0) +
        [32, 33, 16, 17, 48, 49, 50, 51].map((t) => tlv(t)).join(""),
    );
  });

  test("DevAttrQry of one node by name", () => {
    expect(hexOf(encodeMessage({ ...m.devAttrQryNode(ME, ME), transactionId: 9 }).subarray(12))).toBe(
      tlv(32, NAME) + tlv(32, NAME) + tlv(0) + tlv(32) + tlv(33),
    );
  });

  test("DevDereg: source, delimiter, our Entity ID", () => {
    expect(hexOf(encodeMessage({ ...m.devDereg(ME, "e1"), transactionId: 4 }))).toBe(
      "00010004002c8c0000040000" + tlv(32, NAME) + tlv(0) + tlv(1, E1),
    );
  });

  test("SCNReg and SCNDereg name our node as key; SCNReg carries the bitmap", () => {
    const bits = SCN_BIT.objectAdded | SCN_BIT.objectRemoved;
    expect(hexOf(encodeMessage({ ...m.scnReg(ME, bits), transactionId: 3 }))).toBe(
      "000100050044" + "8c0000030000" + tlv(32, NAME) + tlv(32, NAME) + tlv(0) + tlv(35, u32(0x18)),
    );
    expect(hexOf(encodeMessage({ ...m.scnDereg(ME, ME), transactionId: 5 }).subarray(12))).toBe(
      tlv(32, NAME) + tlv(32, NAME) + tlv(0),
    );
  });

  test("SCNRsp and ESIRsp: response function IDs, status Successful, then the destination or the ESI's own attributes", () => {
    expect(hexOf(encodeMessage({ ...m.scnRsp(ME), transactionId: 2 }))).toBe(
      "00018008001c8c0000020000" + u32(0) + tlv(32, NAME),
    );
    const esi = Uint8Array.from(Buffer.from(tlv(1, E1), "hex"));
    expect(hexOf(encodeMessage({ ...m.esiRsp(esi), transactionId: 6 }))).toBe(
      "0001800d00108c0000060000" + u32(0) + tlv(1, E1),
    );
  });

  test("addresses: IPv4 mapped, IPv6 as given; both read back", () => {
    expect(hexOf(encodeIp("10.1.2.3"))).toBe("00000000000000000000ffff0a010203");
    expect(hexOf(encodeIp("::ffff:10.1.2.3"))).toBe("00000000000000000000ffff0a010203");
    expect(hexOf(encodeIp("fe80::1"))).toBe("fe800000000000000000000000000001");
    expect(readIp({ tag: 16, value: encodeIp("fe80::1") })).toBe("fe80::1");
    expect(() => encodeIp("300.1.1.1")).toThrow(IsnsError);
    expect(() => encodeIp("fe80::1::2")).toThrow("not an IP address");
  });
});

describe("answers captured from isnsd", () => {
  test("DevAttrRegRsp: Successful, and the registration period it grants", () => {
    const r = m.parseResponse(one(DEV_ATTR_REG_RSP), { functionId: FUNCTION.DevAttrReg, transactionId: 1 });
    expect(r.status).toBe(0);
    expect(m.registrationPeriod(r)).toBe(600);
    expect(readString(r.keys[0]!)).toBe("e1");
  });

  test("DevAttrQryRsp: the target with its portal group's portal and tag", () => {
    const r = m.parseResponse(one(DEV_ATTR_QRY_RSP), { functionId: FUNCTION.DevAttrQry, transactionId: 2 });
    expect(m.parseTargets(r.operating)).toEqual([
      { name: TARGET, portals: [{ host: "127.0.0.1", port: 23260, portalGroupTag: 1 }] },
    ]);
  });

  test("SCNRegRsp and DevDeregRsp: Successful, nothing else", () => {
    expect(m.parseResponse(one(SCN_REG_RSP), { functionId: FUNCTION.SCNReg, transactionId: 3 })).toMatchObject({
      status: 0,
      keys: [],
      operating: [],
    });
    expect(m.parseResponse(one(DEV_DEREG_RSP), { functionId: FUNCTION.DevDereg, transactionId: 4 }).statusName).toBe(
      "Successful",
    );
  });

  test("SCN: destination, and the object with its bitmap (open-isns puts the bitmap first)", () => {
    expect(m.parseScn(one(SCN))).toEqual({
      destination: ME,
      events: [{ name: TARGET, bitmap: SCN_BIT.objectRemoved }],
    });
  });

  test("SCN in the RFC's order (name, then bitmap) reads the same", () => {
    const payload = Buffer.from(tlv(32, NAME) + tlv(4, "000000006b172fe1") + tlv(32, NAME) + tlv(35, u32(8)), "hex");
    expect(
      m.parseScn({ functionId: FUNCTION.SCN, flags: 0, transactionId: 1, payload: new Uint8Array(payload) }).events,
    ).toEqual([{ name: ME, bitmap: 8 }]);
  });

  test("a portal group without a tag means no access through that portal", () => {
    const attrs = decodeAttributes(
      Uint8Array.from(
        Buffer.from(
          tlv(32, NAME) + tlv(33, u32(1)) + tlv(48, NAME) + tlv(49, V4) + tlv(50, u32(3260)) + tlv(51),
          "hex",
        ),
      ),
    );
    expect(m.parseTargets(attrs)).toEqual([{ name: ME, portals: [] }]);
  });

  test("the framer reassembles answers split at every byte offset", () => {
    const stream = Uint8Array.from([...DEV_ATTR_REG_RSP, ...DEV_ATTR_QRY_RSP]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = new MessageFramer();
      const got = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))];
      expect(got.map((x) => x.functionId)).toEqual([0x8001, 0x8002]);
    }
  });

  test("a message longer than one PDU goes out as First..Last PDUs and comes back whole", () => {
    const payload = new Uint8Array(70_000).map((_, i) => i & 0xff);
    const wire = encodeMessage({
      functionId: FUNCTION.DevAttrQry | 0x8000,
      flags: FLAG.server,
      transactionId: 5,
      payload,
    });
    expect(wire.length).toBe(payload.length + 24);
    expect(wire[6]! & 0x04).toBe(0x04); // First PDU on the first
    const got = one(wire);
    expect(got.payload).toEqual(payload);
  });
});

describe("malformed answers get errors naming what is wrong", () => {
  const reg = () => one(DEV_ATTR_REG_RSP);

  test("a wrong function ID", () => {
    expect(() => m.parseResponse(reg(), { functionId: FUNCTION.DevAttrQry, transactionId: 1 })).toThrow(
      "expected DevAttrQryRsp, got DevAttrRegRsp",
    );
  });

  test("a wrong transaction ID", () => {
    expect(() => m.parseResponse(reg(), { functionId: FUNCTION.DevAttrReg, transactionId: 2 })).toThrow(
      "for transaction 1, expected 2",
    );
  });

  test("an attribute length past the end of the message", () => {
    const bad = DEV_ATTR_REG_RSP.slice();
    bad.set([0, 0, 0x10, 0], 12 + 4 + 4); // the first attribute now claims 4096 bytes
    expect(() => m.parseResponse(one(bad), { functionId: FUNCTION.DevAttrReg, transactionId: 1 })).toThrow(
      /attribute 1 at byte 4: length 4096 runs past the end/,
    );
  });

  test("a truncated attribute header", () => {
    const bad = Uint8Array.from([
      ...encodeHeader({ functionId: 0x8004, pduLength: 8, flags: 0x4c00, transactionId: 4, sequenceId: 0 }),
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
    ]);
    expect(() => m.parseResponse(one(bad), { functionId: FUNCTION.DevDereg, transactionId: 4 })).toThrow(
      "truncated attribute at byte 4: 4 byte(s) left",
    );
  });

  test("a status code cut short", () => {
    const bad = Uint8Array.from([
      ...encodeHeader({ functionId: 0x8004, pduLength: 0, flags: 0x4c00, transactionId: 4, sequenceId: 0 }),
    ]);
    expect(() => m.parseResponse(one(bad), { functionId: FUNCTION.DevDereg, transactionId: 4 })).toThrow(
      "0 byte(s) of payload, a status code needs 4",
    );
  });

  test("a length that is not a multiple of 4, a wrongly sized number or address, a string without NUL", () => {
    expect(() => decodeAttributes(Uint8Array.from(Buffer.from(tlv(32, "616263"), "hex")))).toThrow(
      "length 3 is not a multiple of 4",
    );
    expect(() => readU32({ tag: 33, value: new Uint8Array(8) })).toThrow(
      "attribute 33: a 4-byte value was expected, got 8",
    );
    expect(() => readIp({ tag: 16, value: new Uint8Array(4) })).toThrow("a 16-byte IP address was expected");
    expect(() => readString({ tag: 32, value: new Uint8Array([0x61, 0x62, 0x63, 0x64]) })).toThrow(
      "not NUL-terminated",
    );
  });

  test("an iSNSP version other than 1, and a PDU that interrupts a message", () => {
    const v2 = DEV_DEREG_RSP.slice();
    v2[1] = 2;
    expect(() => new MessageFramer().push(v2)).toThrow("iSNSP version 2");
    const f = new MessageFramer();
    f.push(
      Uint8Array.from([
        ...encodeHeader({ functionId: 0x8002, pduLength: 4, flags: FLAG.firstPdu, transactionId: 9, sequenceId: 0 }),
        0,
        0,
        0,
        0,
      ]),
    );
    expect(() => f.push(DEV_DEREG_RSP)).toThrow("interrupts DevAttrQryRsp transaction 9");
  });

  test("an SCN without its destination first", () => {
    expect(() =>
      m.parseScn({
        functionId: FUNCTION.SCN,
        flags: 0,
        transactionId: 1,
        payload: Uint8Array.from(Buffer.from(tlv(35, u32(8)), "hex")),
      }),
    ).toThrow("SCN without a Destination attribute");
    expect(() => m.parseScn(one(DEV_DEREG_RSP))).toThrow("expected SCN, got DevDeregRsp");
  });
});
