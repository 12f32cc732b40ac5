// `iscsi daemon`: the daemon in the foreground (launchd and systemd run it so). Opens the state, listens on
// the control socket, starts background logins of automatic nodes, and on SIGTERM/SIGINT logs out and stops.
import { defineCommand } from "citty";
import { resolvePaths } from "../config/paths.ts";
import { Daemon } from "../daemon/daemon.ts";
import { serveIpc } from "../ipc/server.ts";
import { logFor, setLogLevel } from "../log.ts";
import { socketArg, stateDirArg } from "./_daemon.ts";

export default defineCommand({
  meta: { name: "daemon", description: "Run the daemon in the foreground (sessions, node database, startup logins)" },
  args: {
    ...stateDirArg,
    ...socketArg,
    config: { type: "string", description: "Config file (default: $ISCSI_CONFIG or <state dir>/iscsid.conf)" },
  },
  async run({ args }) {
    // The daemon's log is its record of logins and retries: info level unless the user chose otherwise.
    if (!process.env.ISCSI_LOG_LEVEL && !process.argv.includes("-d") && !process.argv.includes("--debug")) setLogLevel(3);
    const log = logFor("iscsid");
    const paths = resolvePaths({ stateDir: args["state-dir"], socket: args.socket, config: args.config });
    const daemon = Daemon.open({ stateDir: paths.stateDir, configPath: paths.config });
    const server = await serveIpc(daemon, paths.socket, log);
    log.info(`iscsi daemon ${process.pid} ready: state ${paths.stateDir}, initiator ${daemon.initiatorName()}`);
    daemon.startAutomaticLogins();
    const signal = await new Promise<string>((resolve) => {
      for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.once(s, () => resolve(s));
    });
    log.info(`${signal}: logging out and stopping`);
    await server.close();
    await daemon.stop();
    log.info("stopped");
  },
});
