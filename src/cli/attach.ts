// `iscsi attach TARGET LUN`: the daemon attaches the LUN as a local disk (Linux: a loop device over a FUSE file,
// optionally mounted), logging the node in first when needed; `iscsi attach --list` shows what is attached where.
import { resolve } from "node:path";
import { defineCommand } from "citty";
import { IscsiError } from "../contract/errors.ts";
import { ask, parsePortalFilter, socketArg } from "./_daemon.ts";
import { describeAttachment, printAttachmentTable } from "./_format.ts";
import { warnSetAside } from "./_set-aside.ts";
import { jsonArg, parseLunNumber, printJson } from "./_shared.ts";
import { printOutput } from "./_json.ts";

export default defineCommand({
  meta: {
    name: "attach",
    description: "Attach a LUN as a local disk through the daemon, or list attachments (--list)",
  },
  args: {
    target: {
      type: "positional",
      required: false,
      description: "Target IQN (a node the daemon knows; logged in when needed)",
    },
    lun: { type: "positional", required: false, description: "LUN number" },
    portal: { type: "string", alias: "p", description: "The node's portal HOST[:PORT], when the target has several" },
    mount: {
      type: "string",
      alias: "m",
      description: "Mount the disk's filesystem on this directory (created when missing)",
    },
    "read-only": { type: "boolean", description: "Attach read-only" },
    via: {
      type: "string",
      description:
        "Route: fuse (a block device over FUSE) or nfs (the daemon's loopback NFS server; Linux serves the export only)",
    },
    list: { type: "boolean", alias: "l", description: "List attachments instead" },
    ...socketArg,
    ...jsonArg,
  },
  async run({ args }) {
    if (args.list) {
      if (args.target) throw new IscsiError("INVALID_ARGUMENT", "--list takes no target");
      const attachments = await ask(args, { op: "attach.list" });
      const { quarantined } = await ask(args, { op: "status" });
      warnSetAside(quarantined);
      if (args.json) return printOutput("attachments", { attachments, ...(quarantined ? { quarantined } : {}) });
      if (attachments.length === 0) {
        process.stderr.write("nothing attached\n");
        return;
      }
      return printAttachmentTable(attachments);
    }
    if (!args.target || args.lun === undefined)
      throw new IscsiError("INVALID_ARGUMENT", "name the target and the LUN: iscsi attach TARGET LUN [--mount DIR]");
    if (args.via !== undefined && args.via !== "fuse" && args.via !== "nfs")
      throw new IscsiError("INVALID_ARGUMENT", `--via must be fuse or nfs, not ${JSON.stringify(args.via)}`);
    const attachment = await ask(args, {
      op: "attach.add",
      target: args.target,
      lun: parseLunNumber(String(args.lun)),
      ...(args.portal ? { portal: parsePortalFilter(args.portal) } : {}),
      ...(args.mount ? { mount: resolve(args.mount) } : {}),
      ...(args["read-only"] ? { readOnly: true } : {}),
      ...(args.via ? { via: args.via } : {}),
    });
    if (args.json) return printJson(attachment);
    process.stdout.write(`Attached ${describeAttachment(attachment)}${attachment.readOnly ? " (read-only)" : ""}\n`);
  },
});
