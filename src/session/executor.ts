// What runs SCSI commands for a logical unit: a session, or a multipath device over several sessions
// (docs/multipath.md). LogicalUnit and the attach layer see only this shape.
import type { ConsolaInstance } from "consola";
import type { ScsiResult, ScsiTask } from "./task.ts";

export interface ScsiExecutor {
  readonly id: number;
  /** "full-feature" when commands go out now; "recovering"/"verifying" while they wait; "failed"/"closed" for good. */
  readonly state: { kind: string; error?: Error };
  readonly targetName: string | undefined;
  /** Identity of each LU in use (VPD 0x80/0x83, capacity), recorded by the first READ CAPACITY. */
  recordIdentity(lun: number, identity: string): void;
  recordedIdentity(lun: number): string | undefined;
  readonly log: ConsolaInstance;
  execute(task: ScsiTask, opts?: { priority?: boolean }): Promise<ScsiResult>;
}
