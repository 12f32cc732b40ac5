// One warning line on stderr per damaged state file the daemon set aside, under every listing that reports them.
import { printable } from "../config/names.ts";

export function warnSetAside(files: ReadonlyArray<{ path: string; original: string }> | undefined): void {
  for (const f of files ?? []) {
    process.stderr.write(
      `iscsi: warning: ${printable(f.original)} was damaged and is set aside as ${printable(f.path)}; see \`iscsi doctor\`\n`,
    );
  }
}

/** After a discovery: how many found nodes were not recreated because their damaged records are set aside. */
export function warnSkippedNodes(count: number | undefined): void {
  if (count)
    process.stderr.write(
      `iscsi: warning: ${count} node record(s) found by discovery are set aside as damaged and were not recreated with defaults; see \`iscsi doctor\`\n`,
    );
}
