// `iscsi initiator-name [--set IQN]`: our initiator name, kept in <state dir>/initiatorname.iscsi (generated
// on first use, as open-iscsi's initiatorname.iscsi); the daemon reads it at each login.
import { defineCommand } from "citty";
import { ensureInitiatorName, writeInitiatorName } from "../config/initiator-name.ts";
import { resolvePaths } from "../config/paths.ts";
import { stateDirArg } from "./_daemon.ts";
import { jsonArg, printJson } from "./_shared.ts";

export default defineCommand({
  meta: { name: "initiator-name", description: "Show our iSCSI initiator name, or set it with --set" },
  args: {
    set: { type: "string", description: "New name, e.g. iqn.2026-01.com.example:host1" },
    ...stateDirArg,
    ...jsonArg,
  },
  async run({ args }) {
    const { stateDir } = resolvePaths({ stateDir: args["state-dir"] });
    if (args.set) writeInitiatorName(stateDir, args.set);
    const name = ensureInitiatorName(stateDir);
    if (args.json) printJson({ initiatorName: name });
    else process.stdout.write(`InitiatorName=${name}\n`);
  },
});
