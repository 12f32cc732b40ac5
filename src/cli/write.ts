// `iscsi write LUN -i FILE`: copy a file onto a LUN at an offset, then SYNCHRONIZE CACHE; done means GOOD.
import { defineCommand } from "citty";
import { openSync, readSync, closeSync, fstatSync } from "node:fs";
import { IscsiError } from "../contract/errors.ts";
import { writeRange } from "../session/transfer.ts";
import { Progress, formatBytes, jsonArg, lunAddressFrom, lunArgs, parseSize, printJson } from "./_shared.ts";
import { closeLun, openLun } from "./_session.ts";
import { ioArgs } from "./read.ts";

export default defineCommand({
  meta: { name: "write", description: "Write a file onto a LUN (its data there is overwritten)" },
  args: {
    ...lunArgs,
    input: { type: "string", alias: "i", required: true, description: "Input file" },
    ...ioArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const addr = lunAddressFrom(args);
    let fd: number;
    try {
      fd = openSync(args.input, "r");
    } catch (err) {
      throw new IscsiError("INVALID_ARGUMENT", `cannot open ${args.input}: ${(err as Error).message}`);
    }
    try {
      const size = fstatSync(fd).size;
      const length = args.length ? parseSize(args.length, "length") : size;
      if (length > size) throw new IscsiError("INVALID_ARGUMENT", `--length ${length} is more than the ${size} bytes of ${args.input}`);
      const queueDepth = args["queue-depth"] ? parseSize(args["queue-depth"], "queue depth") : 16;
      const lu = await openLun(addr, args, { queueDepth });
      const started = performance.now();
      try {
        const bs = lu.capacity!.blockSize;
        if (length % bs !== 0) throw new IscsiError("INVALID_ARGUMENT", `${args.input} is ${length} bytes, not a multiple of the LUN's block size ${bs}`);
        const offset = args.offset ? parseSize(args.offset, "offset") : 0;
        const progress = new Progress("write", length);
        try {
          await writeRange(lu, { offset, length, ioSize: args["io-size"] ? parseSize(args["io-size"], "I/O size") : 1 << 20, queueDepth, progress: (d) => progress.update(d) }, (at, len) => {
            const buf = new Uint8Array(len);
            let got = 0;
            while (got < len) {
              const n = readSync(fd, buf, got, len - got, at + got);
              if (n === 0) throw new IscsiError("INVALID_ARGUMENT", `${args.input} ended early at byte ${at + got}`);
              got += n;
            }
            return buf;
          });
        } finally {
          progress.done();
        }
        const seconds = (performance.now() - started) / 1000;
        const summary = { lun: addr.lun, target: addr.target, offset, bytes: length, seconds: Number(seconds.toFixed(3)), input: args.input };
        if (args.json) printJson(summary);
        else process.stderr.write(`wrote ${formatBytes(length)} to ${addr.target} LUN ${addr.lun} at offset ${offset} in ${seconds.toFixed(2)} s (synchronized)\n`);
      } finally {
        await closeLun(lu);
      }
    } finally {
      closeSync(fd);
    }
  },
});
