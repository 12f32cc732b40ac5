// The control protocol: every malformed request gets a message naming the problem (never a secret), and the
// line framing holds whatever way the bytes are split.
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { LineSplitter } from "../../src/ipc/framing.ts";
import { parseRequest, REQUESTS, responseEnvelope } from "../../src/contract/protocol.ts";

const refused = (line: string) => {
  const r = parseRequest(line);
  if (r.ok) throw new Error(`accepted ${line}`);
  return r.message;
};

describe("requests", () => {
  test("good requests pass and keep their id", () => {
    const r = parseRequest(
      JSON.stringify({ id: 7, op: "login", target: "iqn.2020-01.a:b", portal: { host: "10.0.0.1" } }),
    );
    expect(r).toEqual({
      ok: true,
      request: { id: 7, op: "login", target: "iqn.2020-01.a:b", portal: { host: "10.0.0.1" } },
    });
  });

  test.each([
    ["{not json", /not valid JSON/],
    ["[1,2]", /must be a JSON object/],
    ['{"id":1}', /no "op" string/],
    ['{"op":"frobnicate"}', /unknown op "frobnicate"; known: ping, status/],
    ['{"op":"discover"}', /invalid discover request: portal: /],
    ['{"op":"discover","portal":{"host":"h","port":70000}}', /portal\.port: /],
    ['{"op":"discover","portal":{"host":"a b","port":1}}', /portal\.host: must be a host name or address/],
    ['{"op":"ping","extra":1}', /invalid ping request: extra: /],
    ['{"op":"logout","sid":"1"}', /sid: /],
    ['{"op":"login","which":"some"}', /which: /],
    ['{"op":"attach.add","target":"iqn.2020-01.a:b","lun":1,"mount":"mnt"}', /mount: must be an absolute path/],
    ['{"op":"attach.add","target":"iqn.2020-01.a:b","lun":16384}', /lun: /],
    ['{"op":"attach.remove","device":"/tmp/x"}', /device: must be a device path under \/dev/],
    ['{"op":"attach.remove","attachment":0}', /attachment/],
  ])("%s is refused: %p", (line, message) => {
    expect(refused(line)).toMatch(message);
  });

  test("a bad secret.set names the field but never echoes the value", () => {
    const msg = refused(
      JSON.stringify({
        op: "secret.set",
        scope: "node",
        portal: { host: "h" },
        name: "password",
        value: "x".repeat(2000) + "SECRETMARK",
      }),
    );
    expect(msg).toMatch(/value: /);
    expect(msg).not.toContain("SECRETMARK");
    expect(msg).not.toContain("xxxx");
  });

  test("every op has a schema and a response envelope takes known error codes only", () => {
    expect(Object.keys(REQUESTS).length).toBe(27);
    expect(refused(JSON.stringify({ op: "paths.list", device: "../etc" }))).toMatch(
      /device: must be a multipath device name/,
    );
    expect(v.safeParse(responseEnvelope, { ok: false, error: { code: "NOT_FOUND", message: "x" } }).success).toBe(true);
    expect(v.safeParse(responseEnvelope, { ok: false, error: { code: "MADE_UP", message: "x" } }).success).toBe(false);
  });
});

describe("framing", () => {
  const text = '{"op":"ping"}\n{"op":"status","id":2}\r\n\n{"op":"ping","x":"é€"}\n';
  const bytes = new TextEncoder().encode(text);

  test("the same lines come out whatever way the stream is split (every offset, multi-byte characters too)", () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const s = new LineSplitter(1024);
      const lines = [...s.push(bytes.subarray(0, cut)), ...s.push(bytes.subarray(cut))];
      expect(lines).toEqual(['{"op":"ping"}', '{"op":"status","id":2}', '{"op":"ping","x":"é€"}']);
    }
  });

  test("a line over the limit is refused even before its newline arrives", () => {
    const s = new LineSplitter(16);
    expect(() => s.push(new TextEncoder().encode("x".repeat(17)))).toThrow(/line longer than 16 bytes/);
  });
});
