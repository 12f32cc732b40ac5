// `iscsi status`: is the daemon up, who are we, what is logged in and what is still being retried.
import { defineCommand } from "citty";
import { ask, socketArg } from "./_daemon.ts";
import { printSessionTable } from "./_format.ts";
import { warnSetAside } from "./_set-aside.ts";
import { jsonArg, printJson, printTable } from "./_shared.ts";

export default defineCommand({
  meta: { name: "status", description: "Daemon, sessions and pending background logins" },
  args: { ...socketArg, ...jsonArg },
  async run({ args }) {
    const status = await ask(args, { op: "status" });
    const { sessions } = await ask(args, { op: "sessions.list" });
    warnSetAside(status.quarantined);
    if (args.json) return printJson({ daemon: status, sessions });
    const out = (l: string) => process.stdout.write(l + "\n");
    out(`daemon:     running (pid ${status.pid}, version ${status.version}, since ${status.startedAt})`);
    out(`initiator:  ${status.initiatorName}`);
    out(`state:      ${status.stateDir}`);
    out(`nodes:      ${status.nodes} (${status.automaticNodes} automatic)`);
    out(`sessions:   ${status.sessions}`);
    if (sessions.length > 0) {
      out("");
      printSessionTable(sessions);
    }
    if (status.startup.length > 0) {
      out("");
      printTable(
        ["BACKGROUND LOGIN", "STATE", "ATTEMPTS", "NEXT", "LAST ERROR"],
        status.startup.map((p) => [
          p.label,
          p.state,
          p.attempts,
          p.nextAttemptAt ?? "-",
          p.lastError ? `${p.lastError.code}: ${p.lastError.message}` : "-",
        ]),
      );
    }
  },
});
