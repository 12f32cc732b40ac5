// The iSNS client and SCN listener over real loopback sockets against scripted peers (faults isnsd will not
// produce): a hostile answer is a PROTOCOL error naming what was wrong, silence a TIMEOUT, a refusal names
// the status; SCNs are acknowledged with SCNRsp and a malformed one is reported and dropped.
import { afterEach, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { IsnsClient, queryTargets, register } from "../../src/discovery/isns-client.ts";
import { listenScn } from "../../src/discovery/isns-scn.ts";
import { FUNCTION } from "../../src/isns/constants.ts";
import { encodeMessage, MessageFramer, type Message } from "../../src/isns/pdu.ts";
import { DEV_ATTR_QRY_RSP, DEV_ATTR_REG_RSP, ME, SCN, TARGET } from "../isns/fixtures.ts";

let server: TCPSocketListener<undefined> | undefined;
afterEach(() => server?.stop(true));

/** A scripted iSNS server: each request gets `answer(request)` (or nothing when it returns undefined). */
function fakeServer(answer: (m: Message) => Uint8Array | undefined): number {
  const framer = new MessageFramer();
  server = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      data(s, chunk) {
        for (const m of framer.push(chunk)) {
          const reply = answer(m);
          if (reply) s.write(reply);
        }
      },
    },
  });
  return server.port;
}

/** A captured answer re-addressed to transaction `xid`. */
function reply(bytes: Uint8Array, xid: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint16(8, xid);
  return out;
}

describe("iSNS client", () => {
  test("registers and queries: the captured answers give the period and the target", async () => {
    const port = fakeServer((m) =>
      reply(m.functionId === FUNCTION.DevAttrReg ? DEV_ATTR_REG_RSP : DEV_ATTR_QRY_RSP, m.transactionId),
    );
    const c = await IsnsClient.connect({ host: "127.0.0.1", port }, 2000);
    try {
      expect(await register(c, { source: ME, entityId: "e1" })).toBe(600);
      expect((await queryTargets(c, ME)).map((t) => t.name)).toEqual([TARGET]);
    } finally {
      c.close();
    }
  });

  test("an answer with the wrong function ID is a PROTOCOL error naming both", async () => {
    const port = fakeServer((m) => reply(DEV_ATTR_REG_RSP, m.transactionId));
    const c = await IsnsClient.connect({ host: "127.0.0.1", port }, 2000);
    await expect(queryTargets(c, ME)).rejects.toMatchObject({
      code: "PROTOCOL",
      message: expect.stringContaining("expected DevAttrQryRsp, got DevAttrRegRsp"),
    });
    c.close();
  });

  test("a refusal names the status; silence is a TIMEOUT", async () => {
    const refused = reply(DEV_ATTR_REG_RSP, 0);
    refused.set([0, 0, 0, 8], 12); // status 8: Source Unauthorized
    const port = fakeServer((m) =>
      m.functionId === FUNCTION.DevAttrReg ? reply(refused, m.transactionId) : undefined,
    );
    const c = await IsnsClient.connect({ host: "127.0.0.1", port }, 300);
    await expect(register(c, { source: ME, entityId: "e1" })).rejects.toMatchObject({
      code: "ACCESS",
      message: expect.stringContaining("status 8 (Source Unauthorized)"),
    });
    await expect(queryTargets(c, ME)).rejects.toMatchObject({ code: "TIMEOUT" });
    c.close();
  });
});

describe("SCN listener", () => {
  test("an SCN is acknowledged with SCNRsp for its transaction and reported; garbage is reported and dropped", async () => {
    const seen: string[] = [];
    const problems: string[] = [];
    const l = listenScn("127.0.0.1", {
      destination: ME,
      onScn: (e) => seen.push(...e.map((x) => `${x.name}:${x.bitmap}`)),
      onProblem: (p) => problems.push(p),
    });
    const framer = new MessageFramer();
    const answers: Message[] = [];
    const s = await Bun.connect({
      hostname: "127.0.0.1",
      port: l.port,
      socket: { binaryType: "uint8array", data: (_s, d) => void answers.push(...framer.push(d)) },
    });
    s.write(SCN);
    while (answers.length === 0) await Bun.sleep(10);
    expect(answers[0]).toMatchObject({ functionId: FUNCTION.SCN | 0x8000, transactionId: 2 });
    expect(new DataView(answers[0]!.payload.buffer, answers[0]!.payload.byteOffset).getUint32(0)).toBe(0);
    expect(seen).toEqual([`${TARGET}:16`]);
    s.write(
      encodeMessage({
        functionId: FUNCTION.SCN,
        flags: 0,
        transactionId: 3,
        payload: new Uint8Array([0, 0, 0, 35, 0, 0, 0, 4]),
      }),
    );
    while (problems.length === 0) await Bun.sleep(10);
    expect(problems[0]).toContain("malformed message");
    expect(seen.length).toBe(1);
    s.end();
    l.stop();
  });
});
