// `iscsi doctor [PORTAL] [--target IQN] [--isns HOST[:PORT]] [--json]`: checks the host and, given a portal, probes
// it and its targets, given an iSNS server, probes that; every finding ok/warn/fail in plain words with what to
// do; exit code of the first failure.
import { defineCommand } from "citty";
import { currentPlatform, resolvePaths } from "../config/paths.ts";
import { countByStatus, type Finding, type Report } from "../doctor/finding.ts";
import { checkHost } from "../doctor/host.ts";
import { probeIsns } from "../doctor/isns-probe.ts";
import { probePortal } from "../doctor/probe.ts";
import { DEFAULT_ISNS_PORT } from "../discovery/isns-client.ts";
import { StoredState } from "../doctor/stored.ts";
import { IscsiError } from "../contract/errors.ts";
import { VERSION } from "../version.ts";
import { socketArg, stateDirArg } from "./_daemon.ts";
import { authArgs, authFrom, initiatorArg, jsonArg, parsePortal, printJson } from "./_shared.ts";
import { generateInitiatorName } from "../config/initiator-name.ts";

function seconds(text: string, what: string, min: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > 3600)
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `invalid ${what} ${JSON.stringify(text)}: expected seconds, ${min} to 3600`,
    );
  return Math.round(n * 1000);
}

function embeddedFiles(): Array<{ name: string; bytes: number }> {
  return Bun.embeddedFiles.map((b) => ({ name: (b as Blob & { name?: string }).name ?? "", bytes: b.size }));
}

function printReport(r: Report): void {
  const out = (line: string) => process.stdout.write(line + "\n");
  out(`iscsi doctor ${r.version} on ${r.platform}; probing as ${r.initiatorName}`);
  const width = Math.max(...r.findings.map((f) => f.check.replace(/^\w+\./, "").length));
  let section = "";
  for (const f of r.findings) {
    if (f.section !== section) {
      section = f.section;
      out(`\n${section}`);
    }
    out(`  ${f.status.padEnd(4)}  ${f.check.replace(/^\w+\./, "").padEnd(width)}  ${f.summary}`);
    if (f.fix && f.status !== "ok") out(`  ${"".padEnd(4)}  ${"".padEnd(width)}  → ${f.fix}`);
  }
  const c = r.counts;
  out(`\n${c.ok} ok, ${c.warn} warning(s), ${c.fail} failed`);
}

export default defineCommand({
  meta: {
    name: "doctor",
    description: "Check this host; given a portal, probe it and its targets (login, digests, CHAP, NOP)",
  },
  args: {
    portal: { type: "positional", required: false, description: "HOST[:PORT] of a target portal to probe" },
    target: {
      type: "string",
      alias: "T",
      description: "Probe only this target (default: every target SendTargets lists)",
    },
    isns: {
      type: "string",
      description:
        "Probe the iSNS server at HOST[:PORT] (port 3205 by default): reachable, registration, query, our node, SCN",
    },
    timeout: { type: "string", default: "10", description: "Seconds allowed for each connect and login" },
    "nop-wait": {
      type: "string",
      default: "3",
      description: "Seconds to listen for NOP-In pings from each target (0: skip)",
    },
    ...authArgs,
    ...initiatorArg,
    ...stateDirArg,
    ...socketArg,
    ...jsonArg,
  },
  async run({ args }) {
    const timeoutMs = seconds(args.timeout, "--timeout", 0.1);
    const nopWaitMs = seconds(args["nop-wait"], "--nop-wait", 0);
    const portal = args.portal ? parsePortal(args.portal) : undefined;
    const isnsServer = args.isns ? parsePortal(args.isns, DEFAULT_ISNS_PORT) : undefined;
    if (args.target && !portal)
      throw new IscsiError(
        "INVALID_ARGUMENT",
        "--target needs a PORTAL to probe: iscsi doctor HOST[:PORT] --target IQN",
      );
    const auth = authFrom(args);
    const paths = resolvePaths({ stateDir: args["state-dir"], socket: args.socket });
    const platform = currentPlatform();
    // doctor only reads: a name given explicitly, else the daemon's (the one standalone commands use too).
    const explicit = args["initiator-name"] || process.env.ISCSI_INITIATOR_NAME || undefined;
    const host = await checkHost({
      platform,
      stateDir: paths.stateDir,
      socket: paths.socket,
      config: paths.config,
      ...(explicit ? { standaloneName: explicit } : {}),
      embedded: embeddedFiles(),
      uid: process.getuid?.() ?? -1,
    });
    const initiatorName = explicit ?? host.daemonName ?? generateInitiatorName();
    const findings: Finding[] = [...host.findings.list];
    if (portal) {
      const stored = StoredState.open(paths);
      const given =
        auth.method === "CHAP" ? { auth, source: args["chap-user"] ? "--chap-user" : "the environment" } : undefined;
      const sections = await probePortal({
        portal,
        ...(args.target ? { target: args.target } : {}),
        initiatorName,
        ...(given ? { auth: given } : {}),
        stored,
        timeoutMs,
        nopWaitMs,
      });
      for (const s of sections) findings.push(...s.list);
    }
    if (isnsServer) findings.push(...(await probeIsns({ server: isnsServer, initiatorName, timeoutMs })).list);
    const report: Report = {
      version: VERSION,
      platform: `${platform}-${process.arch}`,
      initiatorName,
      findings,
      counts: countByStatus(findings),
    };
    if (args.json) printJson(report);
    else printReport(report);
    const failed = findings.filter((f) => f.status === "fail");
    if (failed.length > 0) {
      const first = failed[0]!;
      throw new IscsiError(first.code ?? "GENERIC", `${failed.length} check(s) failed; first: ${first.summary}`);
    }
  },
});
