// `iscsi read LUN -o FILE`: copy a byte range of a LUN to a file (or stdout) with many commands in flight.
import { defineCommand } from "citty";
import { openSync, writeSync, closeSync, fsyncSync } from "node:fs";
import { IscsiError } from "../contract/errors.ts";
import { readRange } from "../session/transfer.ts";
import { Progress, formatBytes, jsonArg, lunAddressFrom, lunArgs, parseSize, printJson } from "./_shared.ts";
import { closeLun, openLun } from "./_session.ts";

export const ioArgs = {
  offset: { type: "string", description: "Byte offset on the LUN (multiple of the block size; default 0)" },
  length: { type: "string", description: "Bytes to transfer (k/M/G suffixes)" },
  "io-size": { type: "string", description: "Bytes per SCSI command (default 1M)" },
  "queue-depth": { type: "string", description: "Commands in flight (default 16)" },
} as const;

export default defineCommand({
  meta: { name: "read", description: "Read from a LUN into a file" },
  args: {
    ...lunArgs,
    output: { type: "string", alias: "o", required: true, description: "Output file, or - for stdout" },
    ...ioArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const addr = lunAddressFrom(args);
    const queueDepth = args["queue-depth"] ? Number(parseSize(args["queue-depth"], "queue depth")) : 16;
    const lu = await openLun(addr, args, { queueDepth });
    const started = performance.now();
    try {
      const cap = lu.capacity!;
      const offset = args.offset ? parseSize(args.offset, "offset") : 0;
      const length = args.length ? parseSize(args.length, "length") : Number(cap.bytes) - offset;
      if (length < 0) throw new IscsiError("INVALID_ARGUMENT", `offset ${offset} is beyond the end of the LUN`);
      const toStdout = args.output === "-";
      const fd = toStdout ? 1 : openSync(args.output, "w");
      const progress = new Progress("read", length);
      try {
        await readRange(lu, { offset, length, ioSize: args["io-size"] ? parseSize(args["io-size"], "I/O size") : 1 << 20, queueDepth, progress: (d) => progress.update(d) }, (at, data) => {
          let off = 0;
          while (off < data.length) off += writeSync(fd, data, off, data.length - off, toStdout ? null : at + off);
        });
        if (!toStdout) fsyncSync(fd);
      } finally {
        progress.done();
        if (!toStdout) closeSync(fd);
      }
      const seconds = (performance.now() - started) / 1000;
      const summary = { lun: addr.lun, target: addr.target, offset, bytes: length, seconds: Number(seconds.toFixed(3)), output: args.output };
      if (args.json) printJson(summary);
      else process.stderr.write(`read ${formatBytes(length)} from ${addr.target} LUN ${addr.lun} at offset ${offset} in ${seconds.toFixed(2)} s\n`);
    } finally {
      await closeLun(lu);
    }
  },
});
