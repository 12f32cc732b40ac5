// `iscsi event will-sleep|did-wake|network-changed`: tell the daemon of a system event as if its platform
// source had reported it (for tests, and for scripts on systems whose sleep the daemon cannot see).
import { defineCommand } from "citty";
import { IscsiError } from "../contract/errors.ts";
import { ask, socketArg } from "./_daemon.ts";
import { jsonArg, printJson } from "./_shared.ts";

const KINDS = ["will-sleep", "did-wake", "network-changed"] as const;

export default defineCommand({
  meta: { name: "event", description: "Inject a system event (will-sleep, did-wake, network-changed) into the daemon" },
  args: {
    kind: { type: "positional", required: true, description: KINDS.join(" | ") },
    ...socketArg,
    ...jsonArg,
  },
  async run({ args }) {
    const kind = KINDS.find((k) => k === args.kind);
    if (!kind)
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `unknown event ${JSON.stringify(args.kind)}: expected one of ${KINDS.join(", ")}`,
      );
    const report = await ask(args, { op: "system.event", event: kind });
    if (args.json) return printJson(report);
    const outcomes = report.sessions.map((s) => `session ${s.id}: ${s.outcome}`).join(", ") || "no sessions";
    process.stdout.write(
      `${kind}: ${outcomes}${kind === "will-sleep" ? `; ${report.flushed} attached LUN(s) flushed` : ""}\n`,
    );
    for (const p of report.problems) process.stderr.write(`warning: ${p}\n`);
  },
});
