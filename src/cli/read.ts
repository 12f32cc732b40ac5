// `iscsi read LUN -o FILE`: copy a byte range of a LUN to a file (or stdout) with many commands in flight.
import { defineCommand } from "citty";
import { IscsiError } from "../contract/errors.ts";
import { readRange } from "../session/transfer.ts";
import { Progress, formatBytes, jsonArg, lunAddressFrom, lunArgs, parseSize, printJson } from "./_shared.ts";
import { closeLun, openLun } from "./_session.ts";
import { openOutput, type OutputFile } from "./_output.ts";

export const ioArgs = {
  offset: { type: "string", description: "Byte offset on the LUN (multiple of the block size; default 0)" },
  length: { type: "string", description: "Bytes to transfer (k/M/G suffixes)" },
  "io-size": { type: "string", description: "Bytes per SCSI command (default 1M)" },
  "queue-depth": { type: "string", description: "Commands in flight (default 16)" },
} as const;

/** The values of `ioArgs`, with their defaults; `givenLength` is undefined when --length was not given. */
export function ioOptionsFrom(args: { offset?: string; length?: string; "io-size"?: string; "queue-depth"?: string }) {
  return {
    queueDepth: args["queue-depth"] ? parseSize(args["queue-depth"], "queue depth") : 16,
    ioSize: args["io-size"] ? parseSize(args["io-size"], "I/O size") : 1 << 20,
    offset: args.offset ? parseSize(args.offset, "offset") : 0,
    givenLength: args.length ? parseSize(args.length, "length") : undefined,
  };
}

export default defineCommand({
  meta: { name: "read", description: "Read from a LUN into a file" },
  args: {
    ...lunArgs,
    output: {
      type: "string",
      alias: "o",
      required: true,
      description: "Output file (replaced only when the whole read succeeded), or - for stdout",
    },
    ...ioArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const addr = lunAddressFrom(args);
    if (args.output === "-" && args.json)
      throw new IscsiError("INVALID_ARGUMENT", "-o - sends the data to stdout: --json would mix with it");
    const { queueDepth, ioSize, offset, givenLength } = ioOptionsFrom(args);
    const lu = await openLun(addr, args, { queueDepth });
    const started = performance.now();
    try {
      const length = givenLength ?? Number(lu.capacity!.bytes) - offset;
      if (length < 0)
        throw new IscsiError(
          "INVALID_ARGUMENT",
          `offset ${offset} is beyond the end of the LUN (${lu.capacity!.bytes} bytes)`,
        );
      // The output is opened at the first piece of data: a request readRange refuses never touches it.
      let out: OutputFile | undefined;
      const progress = new Progress("read", length);
      try {
        await readRange(lu, { offset, length, ioSize, queueDepth, progress: (d) => progress.update(d) }, (at, data) => {
          out ??= openOutput(args.output);
          return out.write(at, data);
        });
        out ??= openOutput(args.output);
        out.commit();
      } catch (err) {
        out?.abort();
        throw err;
      } finally {
        progress.done();
      }
      const seconds = (performance.now() - started) / 1000;
      const summary = {
        lun: lu.lun,
        target: addr.target,
        offset,
        bytes: length,
        seconds: Number(seconds.toFixed(3)),
        output: args.output,
      };
      if (args.json) printJson(summary);
      else
        process.stderr.write(
          `read ${formatBytes(length)} from ${addr.target} LUN ${lu.lun} at offset ${offset} in ${seconds.toFixed(2)} s\n`,
        );
    } finally {
      await closeLun(lu);
    }
  },
});
