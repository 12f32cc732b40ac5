// iscsiadm's node mode: list and show records, -o new|delete|update, --login/--logout of the matching nodes,
// -L all|automatic|manual and -U all. Secrets go to the secret store from stdin or a file, never from -v.
import { IscsiError } from "../contract/errors.ts";
import { ask, failIfAny, parsePortalFilter, readSecretInput } from "./_daemon.ts";
import { secretOnArgv } from "./_adm-discovery.ts";
import { printLoginResults, printLogoutResults, printNodeLines, printNodeRecord } from "./_format.ts";
import type { AdmArgs } from "./_adm-args.ts";
import { warnSetAside } from "./_set-aside.ts";
import { parsePortal, printJson } from "./_shared.ts";
import { printOutput } from "./_json.ts";

const NODE_SECRETS: Record<string, "password" | "password_in"> = {
  "node.session.auth.password": "password",
  "node.session.auth.password_in": "password_in",
};

const LOGIN_ALL = ["all", "automatic", "manual", "onboot"] as const;

export async function runNode(a: AdmArgs): Promise<void> {
  const args = a as unknown as Record<string, unknown>;
  const filter = {
    ...(a.target ? { target: a.target } : {}),
    ...(a.portal ? { portal: parsePortalFilter(a.portal) } : {}),
  };

  if (a.loginAll !== undefined) {
    if (!(LOGIN_ALL as readonly string[]).includes(a.loginAll))
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `-L takes all, automatic, manual or onboot, not ${JSON.stringify(a.loginAll)}`,
      );
    const { results } = await ask(args, { op: "login", which: a.loginAll as (typeof LOGIN_ALL)[number] });
    if (a.json) printJson({ results });
    else printLoginResults(results);
    return failIfAny(results, "logins", !a.json);
  }
  if (a.logoutAll !== undefined) {
    if (a.logoutAll !== "all")
      throw new IscsiError("INVALID_ARGUMENT", `-U takes all, not ${JSON.stringify(a.logoutAll)}`);
    const { results } = await ask(args, { op: "logout", all: true });
    if (a.json) printJson({ results });
    else printLogoutResults(results);
    return failIfAny(results, "logouts", !a.json);
  }
  if (a.login || a.logout) {
    if (a.login && a.logout) throw new IscsiError("INVALID_ARGUMENT", "--login and --logout together make no sense");
    if (a.login) {
      const { results } = await ask(args, { op: "login", ...filter });
      if (a.json) printJson({ results });
      else printLoginResults(results);
      return failIfAny(results, "logins", !a.json);
    }
    const { results } = await ask(args, { op: "logout", ...filter });
    if (a.json) printJson({ results });
    else printLogoutResults(results);
    return failIfAny(results, "logouts", !a.json);
  }

  if (a.rescan) return rescan(a, args, filter);
  const op = a.ops[0] ?? (a.target || a.portal ? "show" : "list");
  switch (op) {
    case "new": {
      if (!a.target || !a.portal) throw new IscsiError("INVALID_ARGUMENT", "-o new needs -T IQN and -p PORTAL[:PORT]");
      const portal = parsePortal(a.portal);
      const { node } = await ask(args, { op: "node.new", target: a.target, portal });
      if (a.json) printJson({ node });
      else
        process.stdout.write(
          `New iSCSI node [iface: default, target: ${node.target}, portal: ${portal.host},${portal.port}] added\n`,
        );
      return;
    }
    case "delete": {
      const r = await ask(args, { op: "node.delete", ...filter });
      if (a.json) printJson(r);
      return;
    }
    case "update":
      return update(a, args, filter);
    case "show":
    case "list": {
      const { nodes, quarantined } = await ask(args, { op: "nodes.list", ...filter });
      warnSetAside(quarantined);
      if (nodes.length === 0 && !a.json) throw new IscsiError("NOT_FOUND", "no records found");
      if (a.json) return printOutput("nodes", { nodes, ...(quarantined ? { quarantined } : {}) });
      if (op === "show") nodes.forEach(printNodeRecord);
      else if ((a.print ?? 0) >= 1) {
        for (const n of nodes)
          process.stdout.write(
            `Target: ${n.target}\n\tPortal: ${n.portal.host}:${n.portal.port},${n.tpgt}\n\t\tIface Name: default\n`,
          );
      } else printNodeLines(nodes);
      if (a.show) process.stderr.write("iscsi: -S is ignored: stored secrets are never shown\n");
      return;
    }
    default:
      throw new IscsiError("NOT_SUPPORTED", `-o ${op} is not supported in node mode`);
  }
}

async function update(
  a: AdmArgs,
  args: Record<string, unknown>,
  filter: { target?: string; portal?: { host: string; port?: number } },
): Promise<void> {
  if (!a.name) throw new IscsiError("INVALID_ARGUMENT", "-o update needs -n NAME and -v VALUE");
  const secret = NODE_SECRETS[a.name];
  if (secret) {
    if (a.value !== undefined) throw secretOnArgv(a.name);
    if (!a.stdin && !a.file)
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `${a.name} is read from stdin (--stdin) or a file (--file PATH), never from -v`,
      );
    if (!filter.portal)
      throw new IscsiError("INVALID_ARGUMENT", "setting a secret needs -p PORTAL (and usually -T IQN)");
    const value = await readSecretInput(a.file);
    const r = await ask(args, {
      op: "secret.set",
      scope: "node",
      ...filter,
      portal: filter.portal,
      name: secret,
      value,
    });
    if (a.json) printJson(r);
    return;
  }
  if (a.value === undefined) throw new IscsiError("INVALID_ARGUMENT", "-o update needs -v VALUE");
  const r = await ask(args, { op: "node.update", ...filter, name: a.name, value: a.value });
  if (a.json) printJson(r);
}

/** `-m node [-T IQN] [-p PORTAL] -R`: rescan the LUNs of the matching nodes' sessions, as iscsiadm does. */
async function rescan(
  a: AdmArgs,
  args: Record<string, unknown>,
  filter: { target?: string; portal?: { host: string; port?: number } },
): Promise<void> {
  if (a.ops.length > 0 || a.login || a.logout)
    throw new IscsiError("INVALID_ARGUMENT", "-R (rescan) goes alone with -T/-p");
  const { sessions } = await ask(args, { op: "sessions.list" });
  const matching = sessions.filter(
    (s) =>
      (!filter.target || s.target === filter.target) &&
      (!filter.portal ||
        (s.persistentPortal.host === filter.portal.host &&
          (filter.portal.port === undefined || s.persistentPortal.port === filter.portal.port))),
  );
  if (matching.length === 0) throw new IscsiError("NOT_FOUND", "No session found.");
  const rescanned = [];
  for (const s of matching) {
    const r = await ask(args, { op: "sessions.rescan", sid: s.sid });
    rescanned.push(...r.sessions);
    if (!a.json)
      process.stdout.write(
        `Rescanning session [sid: ${s.sid}, target: ${s.target}, portal: ${s.persistentPortal.host},${s.persistentPortal.port}]\n`,
      );
  }
  if (a.json) printOutput("sessions", { sessions: rescanned });
}
