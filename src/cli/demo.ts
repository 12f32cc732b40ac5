// `iscsi demo`: start a local tgtd with a sample LUN, discover it, log in, write random data, read it
// back and compare, log out and stop the target, saying what happened at each step.
import { defineCommand } from "citty";
import { timingSafeEqual } from "node:crypto";
import { discover } from "../discovery/send-targets.ts";
import { startLocalTgtd } from "../demo/local-tgtd.ts";
import { IscsiError } from "../contract/errors.ts";
import { Session } from "../session/session.ts";
import { LogicalUnit } from "../session/logical-unit.ts";
import { readRange, writeRange } from "../session/transfer.ts";
import { formatBytes, initiatorArg, initiatorNameFrom, jsonArg, parseSize, printJson } from "./_shared.ts";

export default defineCommand({
  meta: { name: "demo", description: "Run the initiator end to end against a throwaway local tgtd" },
  args: {
    size: { type: "string", description: "Bytes to write and verify (default 32M)" },
    ...initiatorArg,
    ...jsonArg,
  },
  async run({ args }) {
    const size = args.size ? parseSize(args.size, "size") : 32 << 20;
    const steps: Array<{ step: string; detail: string; ms: number }> = [];
    const say = (step: string, detail: string, started: number) => {
      const ms = Math.round(performance.now() - started);
      steps.push({ step, detail, ms });
      if (!args.json) process.stdout.write(`${step.padEnd(10)} ${detail} (${ms} ms)\n`);
    };
    let t0 = performance.now();
    const target = await startLocalTgtd({ sizeBytes: Math.max(64 << 20, size) });
    say("target", `tgtd pid ${target.pid} on ${target.portal} serving ${target.iqn}`, t0);
    try {
      const initiatorName = initiatorNameFrom(args);
      t0 = performance.now();
      const found = await discover({ portal: { host: "127.0.0.1", port: target.port }, initiatorName });
      const mine = found.find((t) => t.name === target.iqn);
      if (!mine) throw new IscsiError("NOT_FOUND", `discovery at ${target.portal} did not list ${target.iqn}`);
      say("discover", `${found.length} target(s): ${found.map((t) => t.name).join(", ")}`, t0);

      t0 = performance.now();
      const session = await Session.open({
        portal: { host: "127.0.0.1", port: target.port },
        login: { initiatorName, targetName: target.iqn, sessionType: "Normal", auth: { method: "None" } },
      });
      const n = session.negotiated;
      say(
        "login",
        `as ${initiatorName}; MaxRecvDataSegmentLength ${n.maxXmitDataSegmentLength}, MaxBurstLength ${n.maxBurstLength}, ImmediateData ${n.immediateData ? "Yes" : "No"}, InitialR2T ${n.initialR2T ? "Yes" : "No"}`,
        t0,
      );
      try {
        t0 = performance.now();
        const lu = new LogicalUnit(session, target.lun);
        await lu.testUnitReady();
        const inq = await lu.inquiry();
        const cap = await lu.open();
        say(
          "inquiry",
          `LUN ${target.lun}: ${inq.vendor} ${inq.product}, ${formatBytes(Number(cap.bytes))} in ${cap.blockSize}-byte blocks`,
          t0,
        );

        const data = new Uint8Array(size);
        for (let at = 0; at < size; at += 65536) crypto.getRandomValues(data.subarray(at, Math.min(size, at + 65536)));
        t0 = performance.now();
        await writeRange(lu, { offset: 0, length: size, ioSize: 1 << 20, queueDepth: 16 }, (at, len) =>
          data.subarray(at, at + len),
        );
        say("write", `${formatBytes(size)} of random data at queue depth 16, then SYNCHRONIZE CACHE`, t0);

        t0 = performance.now();
        const back = new Uint8Array(size);
        await readRange(lu, { offset: 0, length: size, ioSize: 1 << 20, queueDepth: 16 }, (at, d) => back.set(d, at));
        say("read", `${formatBytes(size)} back`, t0);
        if (!timingSafeEqual(data, back))
          throw new IscsiError("GENERIC", "data read back differs from what was written");
        say("verify", "every byte identical", performance.now());
      } finally {
        t0 = performance.now();
        await session.logout();
        say("logout", "session closed", t0);
      }
    } finally {
      t0 = performance.now();
      await target.stop();
      say("stop", `tgtd pid ${target.pid} stopped`, t0);
    }
    if (args.json) printJson({ ok: true, steps });
  },
});
