// The strict argv parser every native command goes through: values, negation, aliases, "-" as a value, "--",
// and the usage errors (unknown option with the closest one, stray positional, missing value or argument).
import { describe, expect, test } from "bun:test";
import { closest, editDistance, parseStrict } from "../../src/cli/_argv.ts";

const DEF = {
  url: { type: "positional", required: false },
  output: { type: "string", alias: "o", required: true },
  offset: { type: "string" },
  "read-only": { type: "boolean" },
  record: { type: "boolean", default: true },
} as const;

describe("parseStrict", () => {
  test("values, aliases, --x=v, -oVALUE, - as a value, --no-x, camelCase keys, defaults", () => {
    const a = parseStrict(
      DEF,
      ["iscsi://h/iqn.x/1", "-o", "-", "--offset=1M", "--read-only", "--no-record"],
      "iscsi read",
    );
    expect(a).toMatchObject({
      url: "iscsi://h/iqn.x/1",
      output: "-",
      offset: "1M",
      "read-only": true,
      readOnly: true,
      record: false,
    });
    expect(parseStrict(DEF, ["-ofile"], "iscsi read")).toMatchObject({ output: "file", record: true });
    expect(parseStrict(DEF, ["-o", "f", "--", "--not-an-option"], "iscsi read")).toMatchObject({
      url: "--not-an-option",
    });
    expect(parseStrict(DEF, ["-o", "f", "-d"], "iscsi read")).toMatchObject({ debug: true });
  });

  test.each([
    [["-o", "f", "--ofset", "1M"], /unknown option --ofset for `iscsi read` \(did you mean --offset\?\)/],
    [["-o", "f", "--frobnicate"], /^unknown option --frobnicate for `iscsi read`$/],
    [["-o", "f", "u1", "u2"], /unexpected argument "u2" for `iscsi read` \(it takes URL\)/],
    [["-o"], /-o needs a value/],
    [["-o", "--offset", "1"], /-o needs a value/],
    [["--offset", "1"], /`iscsi read` needs --output/],
    [["-o", "f", "--read-only=maybe"], /--read-only takes no value other than true or false/],
  ])("%p is a usage error: %p", (argv, message) => {
    let err: (Error & { code?: string }) | undefined;
    try {
      parseStrict(DEF, argv, "iscsi read");
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err?.code).toBe("INVALID_ARGUMENT");
    expect(err?.message).toMatch(message);
  });
});

describe("suggestions", () => {
  test("edit distance and the closest candidate within reach", () => {
    expect(editDistance("ofset", "offset")).toBe(1);
    expect(editDistance("lenght", "length")).toBe(2);
    expect(closest("--lenght", ["--length", "--offset"])).toBe("--length");
    expect(closest("--xyz", ["--length", "--offset"])).toBeUndefined();
  });
});
