// What `iscsi doctor` reports: findings (ok, warn, fail) in plain words with what to do, grouped by section
// (the host, a portal, one target), and the exit code the first failure maps to.
import type { ErrorCode } from "../contract/errors.ts";

export type Status = "ok" | "warn" | "fail";

export interface Finding {
  /** Stable identifier, e.g. "host.fuse", "portal.tcp", "target.chap-algorithms". */
  check: string;
  status: Status;
  /** "host", "portal HOST:PORT" or "target IQN". */
  section: string;
  /** What was found, in plain words. */
  summary: string;
  /** What to do about it (warn and fail). */
  fix?: string;
  /** The error-catalogue code of a failure: decides the exit code. */
  code?: ErrorCode;
  /** Machine-readable details for --json (timings, negotiated keys, algorithms). */
  data?: Record<string, unknown>;
}

export interface Report {
  version: string;
  platform: string;
  initiatorName: string;
  findings: Finding[];
  counts: Record<Status, number>;
}

export function countByStatus(findings: readonly Finding[]): Record<Status, number> {
  const counts: Record<Status, number> = { ok: 0, warn: 0, fail: 0 };
  for (const f of findings) counts[f.status]++;
  return counts;
}

/** Findings of one section, built with less repetition. */
export class Findings {
  readonly list: Finding[] = [];
  constructor(private readonly section: string) {}

  add(
    check: string,
    status: Status,
    summary: string,
    more: Partial<Pick<Finding, "fix" | "code" | "data">> = {},
  ): Finding {
    const f: Finding = { check, status, section: this.section, summary, ...more };
    this.list.push(f);
    return f;
  }

  ok(check: string, summary: string, data?: Record<string, unknown>): Finding {
    return this.add(check, "ok", summary, data ? { data } : {});
  }

  warn(check: string, summary: string, fix: string, data?: Record<string, unknown>): Finding {
    return this.add(check, "warn", summary, { fix, ...(data ? { data } : {}) });
  }

  fail(check: string, summary: string, fix: string, code: ErrorCode, data?: Record<string, unknown>): Finding {
    return this.add(check, "fail", summary, { fix, code, ...(data ? { data } : {}) });
  }
}
