// Running `iscsi doctor` as a user would (`bun src/main.ts doctor …`) and reading its --json report.
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../src/main.ts");

export interface Finding {
  check: string;
  status: "ok" | "warn" | "fail";
  section: string;
  summary: string;
  fix?: string;
  code?: string;
  data?: Record<string, any>;
}

export interface DoctorRun {
  code: number;
  stdout: string;
  stderr: string;
  report: {
    version: string;
    initiatorName: string;
    findings: Finding[];
    counts: { ok: number; warn: number; fail: number };
  };
  /** The findings of one check, in order. */
  all(check: string): Finding[];
  /** The only finding of a check (fails the test if there is not exactly one). */
  one(check: string): Finding;
}

/** Runs doctor with --json unless `human`; the env points at no real daemon or state unless the caller says so. */
export async function doctor(
  args: string[],
  opts: { env?: Record<string, string>; human?: boolean } = {},
): Promise<DoctorRun> {
  const p = Bun.spawn([process.execPath, MAIN, "doctor", ...args, ...(opts.human ? [] : ["--json"])], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: {
      ...process.env,
      ISCSI_SOCKET: "/nonexistent/iscsi-doctor-test.sock",
      ISCSI_STATE_DIR: "/nonexistent/iscsi-doctor-state",
      ISCSI_CONFIG: "",
      ISCSI_INITIATOR_NAME: "",
      ...opts.env,
    },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  // No report at all when the arguments were refused (or with `human`).
  const report =
    opts.human || stdout === ""
      ? { version: "", initiatorName: "", findings: [], counts: { ok: 0, warn: 0, fail: 0 } }
      : JSON.parse(stdout);
  const all = (check: string) => report.findings.filter((f: Finding) => f.check === check);
  return {
    code,
    stdout,
    stderr,
    report,
    all,
    one(check) {
      const found = all(check);
      if (found.length !== 1) throw new Error(`expected one ${check} finding, got ${found.length}:\n${stdout}`);
      return found[0]!;
    },
  };
}
