// `iscsi write LUN -i FILE`: copy a file onto a LUN at an offset, then SYNCHRONIZE CACHE; done means GOOD.
import { defineCommand } from "citty";
import { readSync } from "node:fs";
import { IscsiError } from "../contract/errors.ts";
import { writeRange } from "../session/transfer.ts";
import { Progress, formatBytes, jsonArg, lunAddressFrom, lunArgs, printJson } from "./_shared.ts";
import { closeLun, openLun } from "./_session.ts";
import { ioArgs, ioOptionsFrom } from "./read.ts";
import { openInput } from "./_output.ts";

export default defineCommand({
  meta: { name: "write", description: "Write a file onto a LUN (its data there is overwritten)" },
  args: {
    ...lunArgs,
    input: {
      type: "string",
      alias: "i",
      required: true,
      description: "Input file, or - for stdin (read whole before writing)",
    },
    ...ioArgs,
    ...jsonArg,
  },
  async run({ args }) {
    const addr = lunAddressFrom(args);
    const { queueDepth, ioSize, offset, givenLength } = ioOptionsFrom(args);
    const source = await openSource(args.input, givenLength);
    try {
      const length = givenLength ?? source.size;
      if (length > source.size)
        throw new IscsiError(
          "INVALID_ARGUMENT",
          `--length ${length} is more than the ${source.size} bytes of ${source.name}`,
        );
      const lu = await openLun(addr, args, { queueDepth });
      const started = performance.now();
      try {
        const bs = lu.capacity!.blockSize;
        if (length % bs !== 0)
          throw new IscsiError(
            "INVALID_ARGUMENT",
            `${source.name} is ${length} bytes, not a multiple of the LUN's block size ${bs}`,
          );
        const progress = new Progress("write", length);
        try {
          await writeRange(
            lu,
            { offset, length, ioSize, queueDepth, progress: (d) => progress.update(d) },
            source.read,
          );
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
          input: args.input,
        };
        if (args.json) printJson(summary);
        else
          process.stderr.write(
            `wrote ${formatBytes(length)} to ${addr.target} LUN ${lu.lun} at offset ${offset} in ${seconds.toFixed(2)} s (synchronized)\n`,
          );
      } finally {
        await closeLun(lu);
      }
    } finally {
      source.close();
    }
  },
});

interface Source {
  name: string;
  size: number;
  read(at: number, len: number): Uint8Array;
  close(): void;
}

/** The input: a file read in place, or stdin ("-") read whole first (up to `limit` bytes) since its size is unknown. */
async function openSource(path: string, limit: number | undefined): Promise<Source> {
  if (path === "-") {
    const all = new Uint8Array(await Bun.stdin.arrayBuffer());
    const data = limit === undefined ? all : all.subarray(0, limit);
    return { name: "stdin", size: data.length, read: (at, len) => data.subarray(at, at + len), close() {} };
  }
  const input = openInput(path);
  return {
    name: path,
    size: input.size,
    read(at, len) {
      const buf = new Uint8Array(len);
      for (let got = 0; got < len; ) {
        const n = readSync(input.fd, buf, got, len - got, at + got);
        if (n === 0) throw new IscsiError("INVALID_ARGUMENT", `${path} ended early at byte ${at + got}`);
        got += n;
      }
      return buf;
    },
    close: input.close,
  };
}
