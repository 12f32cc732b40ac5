// `iscsi sessions`: the daemon's sessions as a table, iscsiadm's tree (-P 1..3) or JSON.
import { defineCommand } from "citty";
import { IscsiError } from "../contract/errors.ts";
import { ask, attachmentsFor, socketArg } from "./_daemon.ts";
import { printSessions, printSessionTable } from "./_format.ts";
import { jsonArg } from "./_shared.ts";
import { printOutput } from "./_json.ts";

export default defineCommand({
  meta: { name: "sessions", description: "List sessions (iscsiadm -m session)" },
  args: {
    sid: { type: "string", alias: "r", description: "Only this session id" },
    print: {
      type: "string",
      alias: "P",
      description: "Detail level 0..3 in iscsiadm's layout (3: negotiated parameters and LUNs)",
    },
    ...socketArg,
    ...jsonArg,
  },
  async run({ args }) {
    if (args.sid !== undefined && !/^\d+$/.test(args.sid))
      throw new IscsiError("INVALID_ARGUMENT", `--sid must be a session number, not ${JSON.stringify(args.sid)}`);
    if (args.print !== undefined && !/^[0-3]$/.test(args.print))
      throw new IscsiError("INVALID_ARGUMENT", `-P must be 0, 1, 2 or 3, not ${JSON.stringify(args.print)}`);
    const { sessions } = await ask(args, { op: "sessions.list", ...(args.sid ? { sid: Number(args.sid) } : {}) });
    if (args.json) return printOutput("sessions", { sessions });
    if (sessions.length === 0) {
      process.stderr.write("no active sessions\n");
      return;
    }
    if (args.print !== undefined)
      printSessions(sessions, Number(args.print), Number(args.print) >= 3 ? await attachmentsFor(args) : []);
    else printSessionTable(sessions);
  },
});
