// `iscsi ui [--open] [--json]`: the web dashboard's address with its token, asked of the daemon; with --open
// (or by default on a desktop) a browser is pointed at it through a single-use code, since argv is visible in `ps`.
import { defineCommand } from "citty";
import { IscsiError } from "../contract/errors.ts";
import { ask, socketArg } from "./_daemon.ts";
import { jsonArg, printJson } from "./_shared.ts";

/** The platform's opener, when there is a desktop to open in. */
function opener(): string | undefined {
  if (process.platform === "darwin") return "open";
  if (process.env.DISPLAY || process.env.WAYLAND_DISPLAY) return "xdg-open";
  return undefined;
}

async function openInBrowser(program: string, url: string): Promise<void> {
  const child = Bun.spawn([program, url], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const [code, err] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (code !== 0)
    throw new IscsiError(
      "GENERIC",
      `${program} could not open the dashboard (exit ${code})${err.trim() ? `: ${err.trim().split("\n")[0]}` : ""}`,
    );
}

export default defineCommand({
  meta: { name: "ui", description: "Print (and on a desktop open) the web dashboard's address with its token" },
  args: {
    open: { type: "boolean", description: "Open it in a browser (default on a desktop; --no-open to only print)" },
    ...socketArg,
    ...jsonArg,
  },
  async run({ args }) {
    const info = await ask(args, { op: "ui.info" });
    if (!info.enabled || !info.url)
      throw new IscsiError("NOT_SUPPORTED", `the dashboard is not running: ${info.problem ?? "unknown reason"}`);
    if (args.json) printJson(info);
    else process.stdout.write(`${info.url}\n`);
    const program = opener();
    const wanted = args.open ?? (!args.json && program !== undefined);
    if (!wanted) return;
    if (!program) {
      process.stderr.write(
        "iscsi: no desktop here (DISPLAY and WAYLAND_DISPLAY are unset); open the address above in a browser on this machine\n",
      );
      return;
    }
    const once = await ask(args, { op: "ui.info", once: true });
    await openInBrowser(program, once.url!);
  },
});
