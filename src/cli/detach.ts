// `iscsi detach`: undo an attachment, named by its id, device, mount point, or target and LUN; --force drops
// unwritten data when the target is unreachable and finishes in bounded time.
import { resolve } from "node:path";
import { defineCommand } from "citty";
import { IscsiError } from "../contract/errors.ts";
import { ask, socketArg } from "./_daemon.ts";
import { describeAttachment } from "./_format.ts";
import { jsonArg, parseLunNumber, printJson } from "./_shared.ts";

/** ID, /dev/DEVICE, a mount point (any path), or TARGET with a LUN. */
function selector(what: string, lun: string | undefined) {
  if (lun !== undefined) return { target: what, lun: parseLunNumber(lun) };
  if (/^\d+$/.test(what)) return { attachment: Number(what) };
  if (what.startsWith("/dev/")) return { device: what };
  if (what.includes("/")) return { mount: resolve(what) };
  throw new IscsiError(
    "INVALID_ARGUMENT",
    `${JSON.stringify(what)} is no attachment id, device or mount point; for a target name its LUN too: iscsi detach TARGET LUN`,
  );
}

export default defineCommand({
  meta: { name: "detach", description: "Detach an attached LUN (by ID, DEVICE, MOUNTPOINT, or TARGET LUN)" },
  args: {
    what: {
      type: "positional",
      required: true,
      description: "Attachment id, device (/dev/loopN), mount point, or target IQN",
    },
    lun: { type: "positional", required: false, description: "LUN number (with a target IQN)" },
    force: {
      type: "boolean",
      alias: "f",
      description: "Detach even while the target is unreachable (unwritten data is lost)",
    },
    ...socketArg,
    ...jsonArg,
  },
  async run({ args }) {
    const { detached } = await ask(args, {
      op: "attach.remove",
      ...selector(args.what, args.lun),
      ...(args.force ? { force: true } : {}),
    });
    if (args.json) return printJson({ detached });
    for (const a of detached) process.stdout.write(`Detached ${describeAttachment(a)}\n`);
  },
});
