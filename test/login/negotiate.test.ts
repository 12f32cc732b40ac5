// The negotiation book, RFC 7143 §6.2 and §13: answer checks, implied results, negotiate-once, target offers
// (reliability checklist cases 17–23).

import { describe, expect, test } from "bun:test";
import { IscsiError } from "../../src/contract/errors.ts";
import { DEFAULT_PROPOSAL, KEYS, proposalProblems, type OperationalProposal } from "../../src/login/keys.ts";
import { Negotiation } from "../../src/login/negotiate.ts";

type Pairs = Array<[string, string]>;
const book = (proposal: Partial<OperationalProposal> = {}, type: "Normal" | "Discovery" = "Normal") =>
  new Negotiation(type, { ...DEFAULT_PROPOSAL, ...proposal });

/** What an agreeable target answers to our default offers. */
const GOOD_ANSWERS: Pairs = [
  ["HeaderDigest", "None"],
  ["DataDigest", "None"],
  ["MaxConnections", "1"],
  ["InitialR2T", "No"],
  ["ImmediateData", "Yes"],
  ["MaxRecvDataSegmentLength", "65536"],
  ["MaxBurstLength", "262144"],
  ["FirstBurstLength", "65536"],
  ["DefaultTime2Wait", "2"],
  ["DefaultTime2Retain", "20"],
  ["MaxOutstandingR2T", "1"],
  ["DataPDUInOrder", "Yes"],
  ["DataSequenceInOrder", "Yes"],
  ["ErrorRecoveryLevel", "0"],
];
/** GOOD_ANSWERS with some replaced (value) or dropped (undefined). */
const answers = (changes: Record<string, string | undefined> = {}): Pairs =>
  GOOD_ANSWERS.filter(([k]) => !(k in changes) || changes[k] !== undefined).map(([k, v]) => [
    k,
    k in changes ? (changes[k] as string) : v,
  ]);

function negotiate(changes: Record<string, string | undefined>, proposal: Partial<OperationalProposal> = {}) {
  const b = book(proposal);
  b.offers();
  b.receive(answers(changes), "operational");
  return b.finish();
}

function fails(f: () => unknown, code: string, message: RegExp) {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(IscsiError);
  expect((caught as IscsiError).code).toBe(code as IscsiError["code"]);
  expect((caught as Error).message).toMatch(message);
}

describe("our offers", () => {
  test("Normal: the proposal defaults, in order, markers never sent", () => {
    expect(book().offers()).toEqual([
      ["HeaderDigest", "None,CRC32C"],
      ["DataDigest", "None,CRC32C"],
      ["MaxConnections", "1"],
      ["InitialR2T", "No"],
      ["ImmediateData", "Yes"],
      ["MaxRecvDataSegmentLength", "262144"],
      ["MaxBurstLength", "16776192"],
      ["FirstBurstLength", "262144"],
      ["DefaultTime2Wait", "2"],
      ["DefaultTime2Retain", "20"],
      ["MaxOutstandingR2T", "1"],
      ["DataPDUInOrder", "Yes"],
      ["DataSequenceInOrder", "Yes"],
      ["ErrorRecoveryLevel", "0"],
    ]);
  });
  test("Discovery offers only digests and MaxRecvDataSegmentLength", () => {
    expect(book({ headerDigest: ["CRC32C", "None"] }, "Discovery").offers()).toEqual([
      ["HeaderDigest", "CRC32C,None"],
      ["DataDigest", "None,CRC32C"],
      ["MaxRecvDataSegmentLength", "262144"],
    ]);
  });
  test("each key is offered once", () => {
    const b = book();
    b.offers();
    expect(b.offers()).toEqual([]);
  });
  test("proposal problems", () => {
    expect(proposalProblems({ ...DEFAULT_PROPOSAL })).toEqual([]);
    expect(proposalProblems({ ...DEFAULT_PROPOSAL, firstBurstLength: 1 << 20, maxBurstLength: 65536 })).toEqual([
      "FirstBurstLength=1048576 exceeds MaxBurstLength=65536",
    ]);
    expect(proposalProblems({ ...DEFAULT_PROPOSAL, maxRecvDataSegmentLength: 511, headerDigest: [] })).toHaveLength(2);
  });
  test("the key table is a Map: __proto__ is not a key", () => {
    expect(KEYS.get("__proto__")).toBeUndefined();
    expect(KEYS.get("constructor")).toBeUndefined();
  });
});

describe("answers to our offers (case 17)", () => {
  test("agreeable answers give the Negotiated values", () => {
    const r = negotiate({});
    expect(r).toMatchObject({
      headerDigest: false,
      dataDigest: false,
      maxRecvDataSegmentLength: 262144,
      maxXmitDataSegmentLength: 65536,
      maxBurstLength: 262144,
      firstBurstLength: 65536,
      initialR2T: false,
      immediateData: true,
      maxOutstandingR2T: 1,
      dataPDUInOrder: true,
      dataSequenceInOrder: true,
      errorRecoveryLevel: 0,
      defaultTime2Wait: 2,
      defaultTime2Retain: 20,
      maxConnections: 1,
    });
  });
  test("CRC32C chosen from our list", () => {
    const r = negotiate(
      { HeaderDigest: "CRC32C", DataDigest: "None" },
      { headerDigest: ["CRC32C", "None"], dataDigest: ["CRC32C", "None"] },
    );
    expect(r.headerDigest).toBe(true);
    expect(r.dataDigest).toBe(false);
  });
  const bad: Array<[string, Record<string, string>, Partial<OperationalProposal>, RegExp]> = [
    [
      "MaxBurstLength above our offer",
      { MaxBurstLength: "16777215" },
      {},
      /MaxBurstLength=16777215, above our offer 16776192/,
    ],
    ["FirstBurstLength above our offer", { FirstBurstLength: "262145" }, {}, /FirstBurstLength=262145, above/],
    ["MaxBurstLength below the range", { MaxBurstLength: "511" }, {}, /MaxBurstLength="511" is outside 512/],
    ["InitialR2T=No after our Yes", { InitialR2T: "No" }, { initialR2T: true }, /InitialR2T=No to our Yes/],
    [
      "ImmediateData=Yes after our No",
      { ImmediateData: "Yes" },
      { immediateData: false },
      /ImmediateData=Yes to our No/,
    ],
    ["DataPDUInOrder=No after our Yes", { DataPDUInOrder: "No" }, {}, /DataPDUInOrder=No/],
    [
      "HeaderDigest=CRC32C when we offered None",
      { HeaderDigest: "CRC32C" },
      { headerDigest: ["None"] },
      /HeaderDigest="CRC32C", not one of our offer None/,
    ],
    [
      "a list as the answer",
      { DataDigest: "CRC32C,None" },
      { dataDigest: ["CRC32C", "None"] },
      /DataDigest="CRC32C,None"/,
    ],
    ["DefaultTime2Wait below our offer (Max)", { DefaultTime2Wait: "1" }, {}, /DefaultTime2Wait=1, below our offer 2/],
    [
      "DefaultTime2Retain out of range",
      { DefaultTime2Retain: "3601" },
      {},
      /DefaultTime2Retain="3601" is outside 0–3600/,
    ],
    ["ErrorRecoveryLevel above our 0", { ErrorRecoveryLevel: "1" }, {}, /ErrorRecoveryLevel=1, above our offer 0/],
    ["MaxConnections above our 1", { MaxConnections: "2" }, {}, /MaxConnections=2, above/],
    ["boolean junk", { InitialR2T: "yes" }, {}, /InitialR2T="yes" is not Yes or No/],
    ["number junk", { MaxOutstandingR2T: "+1" }, {}, /MaxOutstandingR2T="\+1" is not a number/],
  ];
  for (const [name, changes, proposal, message] of bad) {
    test(name, () => fails(() => negotiate(changes, proposal), "PROTOCOL", message));
  }
});

describe("omitted answers (case 18)", () => {
  test("OR with our Yes and AND with our No are implied", () => {
    const r = negotiate(
      { InitialR2T: undefined, ImmediateData: undefined, DataPDUInOrder: undefined, DataSequenceInOrder: undefined },
      { initialR2T: true, immediateData: false },
    );
    expect(r).toMatchObject({
      initialR2T: true,
      immediateData: false,
      dataPDUInOrder: true,
      dataSequenceInOrder: true,
    });
  });
  test("FirstBurstLength may be omitted when irrelevant (InitialR2T=Yes, ImmediateData=No)", () => {
    const r = negotiate(
      { InitialR2T: "Yes", ImmediateData: "No", FirstBurstLength: undefined },
      { initialR2T: true, immediateData: false },
    );
    expect(r.firstBurstLength).toBe(65536);
  });
  test("any other omission fails, naming the key", () => {
    fails(() => negotiate({ InitialR2T: undefined }), "PROTOCOL", /never answered InitialR2T=No/);
    fails(() => negotiate({ MaxBurstLength: undefined }), "PROTOCOL", /never answered MaxBurstLength=16776192/);
    fails(() => negotiate({ HeaderDigest: undefined }), "PROTOCOL", /never answered HeaderDigest=None/);
  });
});

describe("negotiate once (case 19)", () => {
  test("same key twice in one response", () => {
    const b = book();
    b.offers();
    fails(
      () => b.receive([...answers(), ["MaxBurstLength", "262144"]], "operational"),
      "PROTOCOL",
      /MaxBurstLength twice/,
    );
  });
  test("same key across responses, declarations and security keys included", () => {
    const b = book();
    b.offers();
    b.receive(
      [
        ["MaxRecvDataSegmentLength", "8192"],
        ["CHAP_A", "5"],
      ],
      "security",
    );
    fails(
      () => b.receive([["MaxRecvDataSegmentLength", "8192"]], "operational"),
      "PROTOCOL",
      /MaxRecvDataSegmentLength twice/,
    );
    fails(() => b.receive([["CHAP_A", "5"]], "security"), "PROTOCOL", /CHAP_A twice/);
  });
});

describe("keys the target offers (case 20)", () => {
  test("unknown, X- and X# keys get NotUnderstood", () => {
    const b = book();
    const { answers: out } = b.receive(
      [
        ["FooBar", "1"],
        ["X-com.example.Thing", "a"],
        ["X#Registered", "b"],
      ],
      "operational",
    );
    expect(out).toEqual([
      ["FooBar", "NotUnderstood"],
      ["X-com.example.Thing", "NotUnderstood"],
      ["X#Registered", "NotUnderstood"],
    ]);
  });
  test("known negotiable keys are answered with the result, and we do not offer them again", () => {
    const b = book({ headerDigest: ["CRC32C", "None"] });
    const { answers: out } = b.receive(
      [
        ["MaxBurstLength", "65536"],
        ["DefaultTime2Wait", "5"],
        ["InitialR2T", "Yes"],
        ["ImmediateData", "No"],
        ["HeaderDigest", "None,CRC32C"],
        ["TaskReporting", "FastAbort,RFC3720"],
        ["iSCSIProtocolLevel", "2"],
      ],
      "operational",
    );
    expect(out).toEqual([
      ["MaxBurstLength", "65536"],
      ["DefaultTime2Wait", "5"],
      ["InitialR2T", "Yes"],
      ["ImmediateData", "No"],
      ["HeaderDigest", "None"],
      ["TaskReporting", "RFC3720"],
      ["iSCSIProtocolLevel", "1"],
    ]);
    const again = b.offers().map(([k]) => k);
    expect(again).not.toContain("MaxBurstLength");
    expect(again).not.toContain("HeaderDigest");
    b.receive(
      answers({
        MaxBurstLength: undefined,
        DefaultTime2Wait: undefined,
        InitialR2T: undefined,
        ImmediateData: undefined,
        HeaderDigest: undefined,
        FirstBurstLength: "65536",
      }),
      "security",
    );
    expect(b.finish()).toMatchObject({
      maxBurstLength: 65536,
      defaultTime2Wait: 5,
      initialR2T: true,
      immediateData: false,
      headerDigest: false,
    });
  });
  test("a list with nothing we accept is answered Reject", () => {
    expect(book({ dataDigest: ["None"] }).receive([["DataDigest", "CRC32C"]], "operational").answers).toEqual([
      ["DataDigest", "Reject"],
    ]);
  });
  test("obsolete marker keys are answered Reject", () => {
    expect(
      book().receive(
        [
          ["OFMarker", "No"],
          ["IFMarkInt", "2048~8192"],
        ],
        "operational",
      ).answers,
    ).toEqual([
      ["OFMarker", "Reject"],
      ["IFMarkInt", "Reject"],
    ]);
  });
  test("operational keys in a Discovery session are Irrelevant", () => {
    const b = book({}, "Discovery");
    expect(
      b.receive(
        [
          ["MaxBurstLength", "65536"],
          ["InitialR2T", "Yes"],
          ["HeaderDigest", "None"],
        ],
        "operational",
      ).answers,
    ).toEqual([
      ["MaxBurstLength", "Irrelevant"],
      ["InitialR2T", "Irrelevant"],
      ["HeaderDigest", "None"],
    ]);
  });
  test("keys only the initiator may send are refused", () => {
    for (const key of ["InitiatorName", "SessionType", "TargetName", "InitiatorAlias", "SendTargets"]) {
      fails(
        () => book().receive([[key, "x"]], "operational"),
        "PROTOCOL",
        new RegExp(`${key}="x", a key only the initiator may send`),
      );
    }
  });
  test("security keys in the operational stage are refused", () => {
    fails(
      () => book().receive([["CHAP_N", "t"]], "operational"),
      "PROTOCOL",
      /security key CHAP_N in the operational stage/,
    );
  });
  test("reserved answers to keys we never sent, and junk offers, are refused", () => {
    fails(
      () => book().receive([["MaxBurstLength", "Reject"]], "operational"),
      "PROTOCOL",
      /MaxBurstLength=Reject although we never sent/,
    );
    fails(
      () => book().receive([["X-foo", "NotUnderstood"]], "operational"),
      "PROTOCOL",
      /X-foo=NotUnderstood although/,
    );
    fails(() => book().receive([["MaxBurstLength", "0x"]], "operational"), "PROTOCOL", /not a number/);
  });
  test("target declarations: alias and portal group tag", () => {
    const b = book();
    b.offers();
    b.receive([["TargetAlias", "disk one"], ["TargetPortalGroupTag", "7"], ...answers()], "operational");
    expect(b.finish()).toMatchObject({ targetAlias: "disk one", targetPortalGroupTag: 7 });
    fails(() => book().receive([["TargetPortalGroupTag", "65536"]], "security"), "PROTOCOL", /outside 0–65535/);
  });
  test("our MaxRecvDataSegmentLength is declared even when the target declared its own first", () => {
    const b = book();
    b.receive([["MaxRecvDataSegmentLength", "8192"]], "security");
    expect(b.offers()).toContainEqual(["MaxRecvDataSegmentLength", "262144"]);
  });
});

describe("reserved answers (case 21)", () => {
  test("fall back to the default where it fits our offer", () => {
    const r = negotiate({
      MaxBurstLength: "Reject",
      DefaultTime2Retain: "Irrelevant",
      HeaderDigest: "NotUnderstood",
      MaxRecvDataSegmentLength: "Reject",
    });
    expect(r).toMatchObject({
      maxBurstLength: 262144,
      defaultTime2Retain: 20,
      headerDigest: false,
      maxXmitDataSegmentLength: 8192,
    });
  });
  test("fail when the default does not fit (required CRC32C, AND-No, a smaller Min offer)", () => {
    fails(
      () => negotiate({ HeaderDigest: "Reject" }, { headerDigest: ["CRC32C"] }),
      "LOGIN_FATAL",
      /rejected our HeaderDigest=CRC32C/,
    );
    fails(
      () => negotiate({ ImmediateData: "Reject" }, { immediateData: false }),
      "LOGIN_FATAL",
      /ImmediateData=Reject/,
    );
    fails(
      () =>
        negotiate(
          { MaxBurstLength: "NotUnderstood", FirstBurstLength: "65536" },
          { maxBurstLength: 65536, firstBurstLength: 65536 },
        ),
      "LOGIN_FATAL",
      /MaxBurstLength=NotUnderstood .* above our offer 65536/,
    );
  });
});

test("DataDigest=Reject to our None ends the login (QUIRK istgt: it would turn digests on anyway)", () => {
  fails(
    () => negotiate({ DataDigest: "Reject" }, { dataDigest: ["None"] }),
    "LOGIN_FATAL",
    /rejected our DataDigest=None; it probably requires CRC32C data digests/,
  );
});

describe("target MaxRecvDataSegmentLength (case 22)", () => {
  for (const value of ["0", "511", "16777216", "junk", "", " 8192"]) {
    test(`${JSON.stringify(value)} fails`, () =>
      fails(() => negotiate({ MaxRecvDataSegmentLength: value }), "PROTOCOL", /MaxRecvDataSegmentLength/));
  }
  test("512 and 2^24-1 pass; absent means 8192", () => {
    expect(negotiate({ MaxRecvDataSegmentLength: "512" }).maxXmitDataSegmentLength).toBe(512);
    expect(negotiate({ MaxRecvDataSegmentLength: "16777215" }).maxXmitDataSegmentLength).toBe(16777215);
    expect(negotiate({ MaxRecvDataSegmentLength: undefined }).maxXmitDataSegmentLength).toBe(8192);
  });
});

describe("cross-key rule (case 23)", () => {
  test("FirstBurstLength > MaxBurstLength after negotiation fails", () => {
    fails(
      () => negotiate({ MaxBurstLength: "8192", FirstBurstLength: "65536" }),
      "PROTOCOL",
      /FirstBurstLength=65536 exceeds MaxBurstLength=8192/,
    );
  });
  test("equal is fine", () => {
    expect(negotiate({ MaxBurstLength: "65536", FirstBurstLength: "65536" }).firstBurstLength).toBe(65536);
  });
});
