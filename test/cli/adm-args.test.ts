// The iscsiadm command line as open-iscsi users type it.
import { describe, expect, test } from "bun:test";
import { isIscsiadmSyntax, parseAdmArgs } from "../../src/cli/_adm-args.ts";
import { subCommands } from "../../src/cli/index.ts";

const COMMANDS = Object.keys(subCommands);

describe("iscsiadm syntax", () => {
  test("is recognised by -m/--mode or -L/-U, and not in native commands", () => {
    expect(isIscsiadmSyntax(["-m", "session"], COMMANDS)).toBe(true);
    expect(isIscsiadmSyntax(["--mode=node"], COMMANDS)).toBe(true);
    expect(isIscsiadmSyntax(["-msession"], COMMANDS)).toBe(true);
    expect(isIscsiadmSyntax(["-U", "all"], COMMANDS)).toBe(true);
    expect(isIscsiadmSyntax(["discover", "10.0.0.1", "--json"], COMMANDS)).toBe(false);
    expect(isIscsiadmSyntax(["read", "iscsi://h/iqn.x/1", "-o", "f"], COMMANDS)).toBe(false);
    expect(isIscsiadmSyntax(["attach", "iqn.x", "1", "-m", "/mnt/x"], COMMANDS)).toBe(false);
    expect(isIscsiadmSyntax(["-d", "attach", "iqn.x", "1", "-m", "/mnt/x"], COMMANDS)).toBe(false);
  });

  test("the seed commands parse", () => {
    expect(parseAdmArgs(["-m", "discovery", "-t", "sendtargets", "-p", "HOST"])).toMatchObject({
      mode: "discovery",
      type: "sendtargets",
      portal: "HOST",
    });
    expect(parseAdmArgs(["-m", "node", "-T", "iqn.x", "-p", "HOST", "--login"])).toMatchObject({
      mode: "node",
      target: "iqn.x",
      portal: "HOST",
      login: true,
    });
    expect(parseAdmArgs(["-m", "session", "-P", "3", "--json"])).toMatchObject({
      mode: "session",
      print: 3,
      json: true,
    });
  });

  test("long options, --opt=value, glued short values, repeated -o, -d LEVEL", () => {
    const a = parseAdmArgs([
      "--mode=node",
      "--targetname",
      "iqn.x",
      "-p10.0.0.1:3261",
      "-o",
      "update",
      "-n",
      "node.startup",
      "-v",
      "automatic",
      "-d",
      "8",
    ]);
    expect(a).toMatchObject({
      mode: "node",
      target: "iqn.x",
      portal: "10.0.0.1:3261",
      ops: ["update"],
      name: "node.startup",
      value: "automatic",
    });
    expect(parseAdmArgs(["-m", "node", "-L", "all"]).loginAll).toBe("all");
    expect(parseAdmArgs(["-U", "all"])).toMatchObject({ mode: "node", logoutAll: "all" });
    expect(parseAdmArgs(["-m", "session", "-r", "3", "-R"])).toMatchObject({ sid: 3, rescan: true });
  });

  test.each([
    [["-m", "session", "-P", "9"], /-P must be a number from 0 to 3/],
    [["-m", "node", "-o", "frob"], /-o must be new, delete, update or show/],
    [["-m", "node", "--frob"], /unknown option --frob/],
    [["-m", "node", "extra"], /unexpected argument "extra"/],
    [["-m", "node", "-T"], /-T needs a value/],
    [["-p", "h", "--login"], /needs a mode/],
    [["-m", "node", "--stat"], /unknown option --stat \(did you mean --stats\?\)/],
    [["-m", "node", "-s"], /-s \(statistics\) works with -m session/],
    [["-m", "session", "-r", "1", "-o", "new"], /-m session -o new .* is not supported/],
    [["-m", "node", "-T", "iqn.x", "-I", "iser", "--login"], /-I iser: only the "default" interface/],
    [["-m", "discovery", "-t", "st", "-p", "h", "-n", "x"], /-n \(--name\) is not used with -m discovery/],
    [["-m", "session", "-T", "iqn.x"], /-m session takes -r SID, not -T/],
  ])("%p is refused: %p", (argv, message) => {
    expect(() => parseAdmArgs(argv)).toThrow(message);
  });
});
