// Folding SendTargets answers into targets (RFC 7143 Appendix C): several portals per target, IPv4, IPv6,
// DNS names, the discovery portal as the default, and hostile names refused before use.
import { expect, test } from "bun:test";
import { parseSendTargets } from "../../src/discovery/send-targets.ts";
import { iscsiNameProblem } from "../../src/pdu/iscsi-name.ts";

const here = { host: "10.0.0.5", port: 3260 };

test("every portal of every target, IPv4, bracketed IPv6 and DNS, with their portal group tags", () => {
  const targets = parseSendTargets(
    [
      ["TargetName", "iqn.2004-04.com.qnap:ts-453:iscsi.disk1"],
      ["TargetAddress", "192.168.1.10:3260,1"],
      ["TargetAddress", "[fe80::1:2]:3261,2"],
      ["TargetAddress", "nas.local,3"],
      ["TargetName", "iqn.2000-01.com.synology:ds920.target-2"],
    ],
    here,
  );
  expect(targets).toEqual([
    {
      name: "iqn.2004-04.com.qnap:ts-453:iscsi.disk1",
      portals: [
        { host: "192.168.1.10", port: 3260, portalGroupTag: 1 },
        { host: "fe80::1:2", port: 3261, portalGroupTag: 2 },
        { host: "nas.local", port: 3260, portalGroupTag: 3 },
      ],
    },
    { name: "iqn.2000-01.com.synology:ds920.target-2", portals: [here] },
  ]);
});

test("TargetAddress before any TargetName is a protocol error", () => {
  expect(() => parseSendTargets([["TargetAddress", "1.2.3.4"]], here)).toThrow(/before any TargetName/);
});

test("a malformed TargetAddress is refused", () => {
  expect(() =>
    parseSendTargets(
      [
        ["TargetName", "iqn.2000-01.com.x:t"],
        ["TargetAddress", "[::1:3260"],
      ],
      here,
    ),
  ).toThrow(/TargetAddress/);
});

test("target names that could become paths or break output are refused", () => {
  for (const bad of [
    "../../etc/passwd",
    "iqn.2000-01.com.x:a/b",
    "iqn.2000-01.com.x:a b",
    "iqn.2000-01.com.x:\u0000",
    "",
    "x".repeat(10),
    `iqn.2000-01.com.x:${"a".repeat(230)}`,
  ]) {
    expect(iscsiNameProblem(bad)).toBeString();
    expect(() => parseSendTargets([["TargetName", bad]], here)).toThrow(/SendTargets/);
  }
  for (const good of ["iqn.2000-01.com.x:t", "eui.0123456789ABCDEF", "naa.52004567BA64678D"])
    expect(iscsiNameProblem(good)).toBeUndefined();
});
