// iscsiadm's discovery modes: `-m discovery -t st|isns -p PORTAL [--login]` (SendTargets or an iSNS query through
// the daemon, which records nodes; standalone with a note when no daemon runs) and `-m discoverydb` (records).
import { DEFAULT_ISNS_PORT, isnsDiscover } from "../discovery/isns-client.ts";
import { discover } from "../discovery/send-targets.ts";
import { errorCodeOf, IscsiError } from "../contract/errors.ts";
import { ask, failIfAny, readSecretInput } from "./_daemon.ts";
import { printable } from "../config/names.ts";
import { foundTargets, printDiscoveryRecord, printLoginResults, printNodeLines } from "./_format.ts";
import { printOutput } from "./_json.ts";
import type { AdmArgs } from "./_adm-args.ts";
import { formatPortal } from "../transport/portal.ts";
import { warnSetAside, warnSkippedNodes } from "./_set-aside.ts";
import { initiatorNameFrom, parsePortal, printJson } from "./_shared.ts";

type Kind = "sendtargets" | "isns";

function checkType(a: AdmArgs): Kind {
  if (a.type === undefined)
    throw new IscsiError("INVALID_ARGUMENT", "discovery needs -t sendtargets (or st) or -t isns, and -p PORTAL[:PORT]");
  if (a.type === "isns") return "isns";
  if (["fw", "slp"].includes(a.type))
    throw new IscsiError("NOT_SUPPORTED", `discovery type ${a.type} is not supported; use -t sendtargets or -t isns`);
  if (a.type !== "sendtargets" && a.type !== "st")
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `unknown discovery type ${JSON.stringify(a.type)}: use sendtargets (st) or isns`,
    );
  return "sendtargets";
}

/** -p HOST[:PORT]; an iSNS server's port defaults to 3205 (RFC 4171 §5.1), a portal's to 3260. */
function requirePortal(a: AdmArgs, kind: Kind = "sendtargets") {
  if (!a.portal)
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `discovery needs -p ${kind === "isns" ? "ISNS_SERVER[:3205]" : "PORTAL[:PORT]"}`,
    );
  return parsePortal(a.portal, kind === "isns" ? DEFAULT_ISNS_PORT : undefined);
}

async function discoverThroughDaemon(a: AdmArgs, kind: Kind, login: boolean): Promise<void> {
  const portal = requirePortal(a, kind);
  const r = await ask(a as unknown as Record<string, unknown>, {
    op: "discover",
    portal,
    login,
    ...(kind === "isns" ? { type: kind } : {}),
  });
  warnSkippedNodes(r.nodes.quarantined);
  if (a.json) printOutput("discovery", { ...r, recorded: true });
  else {
    printFound(r.targets, a.print ?? 0);
    if (r.logins) printLoginResults(r.logins);
  }
  if (r.logins) failIfAny(r.logins, "logins", !a.json);
}

type Found = ReturnType<typeof foundTargets>[number];

/** Discovered targets: iscsiadm's `PORTAL,TPGT IQN` lines, or with -P 1 its tree (Target, Portal, Iface Name). */
function printFound(targets: Found[], level: number): void {
  if (level < 1)
    return printNodeLines(targets.flatMap((t) => t.portals.map((p) => ({ target: t.name, portal: p, tpgt: p.tpgt }))));
  for (const t of targets) {
    process.stdout.write(`Target: ${printable(t.name)}\n`);
    for (const p of t.portals)
      process.stdout.write(`\tPortal: ${formatPortal(p)},${p.tpgt}\n\t\tIface Name: default\n`);
  }
}

/** `-m discovery`: without -t/-p lists discovery records; otherwise SendTargets. */
export async function runDiscovery(a: AdmArgs): Promise<void> {
  if (!a.type && !a.portal) return listRecords(a);
  const kind = checkType(a);
  try {
    await discoverThroughDaemon(a, kind, a.login);
  } catch (err) {
    if (errorCodeOf(err) !== "DAEMON_NOT_RUNNING" || a.login) throw err;
    // Discovery is useful without a daemon; it just cannot record nodes then.
    const portal = requirePortal(a, kind);
    const initiatorName = initiatorNameFrom({});
    const targets =
      kind === "isns"
        ? await isnsDiscover({ server: portal, initiatorName })
        : await discover({ portal, initiatorName });
    if (a.json) printOutput("discovery", { portal, targets: foundTargets(targets), recorded: false });
    else printFound(foundTargets(targets), a.print ?? 0);
    process.stderr.write(
      `iscsi: no daemon is running, so these targets were not recorded as nodes (start it with \`sudo iscsi daemon\`)\n`,
    );
  }
}

async function listRecords(a: AdmArgs): Promise<void> {
  const portal = a.portal ? parsePortal(a.portal) : undefined;
  const { records, quarantined } = await ask(a as unknown as Record<string, unknown>, {
    op: "discoverydb.list",
    ...(portal ? { portal } : {}),
  });
  warnSetAside(quarantined);
  if (a.json) return printJson({ records, ...(quarantined ? { quarantined } : {}) });
  if (records.length === 0) throw new IscsiError("NOT_FOUND", "no discovery records found");
  for (const r of records) process.stdout.write(`${formatPortal(r.portal)} via ${r.type}\n`);
}

const SECRET_NAMES: Record<string, "password" | "password_in"> = {
  "discovery.sendtargets.auth.password": "password",
  "discovery.sendtargets.auth.password_in": "password_in",
};

/** `-m discoverydb`: records per portal; -o new|delete|update|show, --discover to run SendTargets. */
export async function runDiscoveryDb(a: AdmArgs): Promise<void> {
  if (!a.portal) {
    if (a.ops.length > 0 || a.name || a.discover)
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `-m discoverydb ${a.ops.length ? `-o ${a.ops[0]}` : a.discover ? "--discover" : "-n"} needs the record: -t st|isns -p PORTAL[:PORT]`,
      );
    return listRecords(a);
  }
  const kind = checkType(a);
  const portal = requirePortal(a, kind);
  const args = a as unknown as Record<string, unknown>;
  const op = a.ops[0] ?? (a.discover ? undefined : "show");
  if (op === "new") {
    const { record } = await ask(args, { op: "discoverydb.new", portal, ...(kind === "isns" ? { type: kind } : {}) });
    if (a.json) printJson({ record });
    else process.stdout.write(`New discovery record for [${portal.host},${portal.port}] added.\n`);
  } else if (op === "delete") {
    const r = await ask(args, { op: "discoverydb.delete", portal });
    if (a.json) printJson(r);
  } else if (op === "update") {
    if (!a.name) throw new IscsiError("INVALID_ARGUMENT", "-o update needs -n NAME and -v VALUE");
    const secret = SECRET_NAMES[a.name];
    if (secret) {
      if (a.value !== undefined) throw secretOnArgv(a.name);
      const value = await readSecretInput(a.file);
      await ask(args, { op: "secret.set", scope: "discovery", portal, name: secret, value });
    } else {
      if (a.value === undefined) throw new IscsiError("INVALID_ARGUMENT", "-o update needs -v VALUE");
      const { record } = await ask(args, { op: "discoverydb.update", portal, name: a.name, value: a.value });
      if (a.json) printJson({ record });
    }
  } else if (op === "show") {
    const { records } = await ask(args, { op: "discoverydb.list", portal });
    if (records.length === 0) throw new IscsiError("NOT_FOUND", `no discovery record for ${formatPortal(portal)}`);
    if (a.json) printJson({ records });
    else records.forEach(printDiscoveryRecord);
  }
  if (a.discover) await discoverThroughDaemon(a, kind, a.login);
}

export function secretOnArgv(name: string): IscsiError {
  return new IscsiError(
    "INVALID_ARGUMENT",
    `refusing ${name} from -v: a secret on the command line is visible in ps and shell history. ` +
      "Give it on stdin with --stdin (e.g. `iscsi -m node -T IQN -p PORTAL -o update -n " +
      name +
      " --stdin < secret-file`), with --file PATH, or use `iscsi secret set`",
  );
}
