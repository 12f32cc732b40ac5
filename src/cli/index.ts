// The command tree: one lazily loaded file per subcommand.
import { defineCommand, type CommandDef } from "citty";
import { VERSION } from "../version.ts";

type Lazy = () => Promise<CommandDef<any>>;
const lazy =
  (load: () => Promise<{ default: CommandDef<any> }>): Lazy =>
  () =>
    load().then((m) => m.default);

export const subCommands: Record<string, Lazy> = {
  discover: lazy(() => import("./discover.ts")),
  luns: lazy(() => import("./luns.ts")),
  read: lazy(() => import("./read.ts")),
  write: lazy(() => import("./write.ts")),
  demo: lazy(() => import("./demo.ts")),
  bench: lazy(() => import("./bench.ts")),
  daemon: lazy(() => import("./daemon.ts")),
  login: lazy(() => import("./login.ts")),
  logout: lazy(() => import("./logout.ts")),
  nodes: lazy(() => import("./nodes.ts")),
  sessions: lazy(() => import("./sessions.ts")),
  status: lazy(() => import("./status.ts")),
  set: lazy(() => import("./set.ts")),
  secret: lazy(() => import("./secret.ts")),
  "initiator-name": lazy(() => import("./initiator-name.ts")),
  service: lazy(() => import("./service.ts")),
  doctor: lazy(() => import("./doctor.ts")),
  attach: lazy(() => import("./attach.ts")),
  paths: lazy(() => import("./paths.ts")),
  detach: lazy(() => import("./detach.ts")),
  ui: lazy(() => import("./ui.ts")),
  event: lazy(() => import("./event.ts")),
};

export const main = defineCommand({
  meta: { name: "iscsi", version: VERSION, description: "iSCSI initiator for macOS and Linux" },
  args: {
    debug: { type: "boolean", alias: "d", description: "Debug logging on stderr" },
  },
  subCommands,
});
