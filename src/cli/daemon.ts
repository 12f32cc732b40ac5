// `iscsi daemon`: the daemon in the foreground (launchd and systemd run it so). Opens the state, listens on
// the control socket and serves the web dashboard (both answering through one dispatch), starts background
// logins of automatic nodes, and on SIGTERM/SIGINT logs out and stops.
import { defineCommand } from "citty";
import { resolvePaths } from "../config/paths.ts";
import { Daemon } from "../daemon/daemon.ts";
import { IscsiError } from "../contract/errors.ts";
import { answerer } from "../daemon/answer.ts";
import { serveIpc } from "../daemon/control-socket.ts";
import { logFor, setLogLevel } from "../log.ts";
import { resolveTransport } from "../transport/connect.ts";
import { socketArg, stateDirArg } from "./_daemon.ts";

export default defineCommand({
  meta: { name: "daemon", description: "Run the daemon in the foreground (sessions, node database, startup logins)" },
  args: {
    ...stateDirArg,
    ...socketArg,
    config: { type: "string", description: "Config file (default: $ISCSI_CONFIG or <state dir>/iscsid.conf)" },
    ui: {
      type: "boolean",
      default: true,
      description: "Do not serve the web dashboard (default: served on 127.0.0.1, see docs/gui.md)",
    },
    "ui-port": { type: "string", description: "Dashboard port (default: iscsid.ui.port of the config, else 8339)" },
    "nfs-port": {
      type: "string",
      description:
        "Port of the loopback NFS server of attach --via nfs (default: iscsid.nfs.port of the config, else 0: a free port)",
    },
  },
  async run({ args }) {
    // The daemon's log is its record of logins and retries: info level unless the user chose otherwise.
    if (!process.env.ISCSI_LOG_LEVEL && !process.argv.includes("-d") && !process.argv.includes("--debug"))
      setLogLevel(3);
    const log = logFor("iscsid");
    const uiPort = args["ui-port"] === undefined ? undefined : Number(args["ui-port"]);
    if (uiPort !== undefined && !(Number.isInteger(uiPort) && uiPort >= 1 && uiPort <= 65535)) {
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `--ui-port must be a port number 1..65535, not ${JSON.stringify(args["ui-port"])}`,
      );
    }
    const nfsPort = args["nfs-port"] === undefined ? undefined : Number(args["nfs-port"]);
    if (nfsPort !== undefined && !(Number.isInteger(nfsPort) && nfsPort >= 0 && nfsPort <= 65535)) {
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `--nfs-port must be a port number 0..65535, not ${JSON.stringify(args["nfs-port"])}`,
      );
    }
    const paths = resolvePaths({ stateDir: args["state-dir"], socket: args.socket, config: args.config });
    const daemon = Daemon.open({ stateDir: paths.stateDir, configPath: paths.config, nfsPort });
    // Before the socket answers: nothing a killed predecessor left may meet a new attach of the same LU.
    await daemon.cleanLeftovers();
    const answer = answerer(daemon, log);
    const server = await serveIpc(daemon, paths.socket, log, answer);
    daemon.startUi(answer, { enabled: args.ui, port: uiPort });
    // Which TCP transport its sessions get: the environment of a service manager may differ from a shell's.
    const transport = await resolveTransport().then(
      (t) => `sessions on the ${t.kind} transport (${t.why})`,
      (err: Error) => `no usable transport: ${err.message}`,
    );
    log.info(
      `iscsi daemon ${process.pid} ready: state ${paths.stateDir}, initiator ${daemon.initiatorName()}; ${transport}`,
    );
    daemon.startAutomaticLogins();
    daemon.restoreAttachments();
    daemon.startSystemEvents();
    const signal = await new Promise<string>((resolve) => {
      for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.once(s, () => resolve(s));
    });
    log.info(`${signal}: logging out and stopping`);
    await server.close();
    await daemon.stop();
    log.info("stopped");
  },
});
