// The command window of RFC 7143 §4.2.2.1: CmdSN numbering, ExpCmdSN/MaxCmdSN updates with RFC 1982
// arithmetic, and the rule that a non-immediate command may only be sent while CmdSN ≤ MaxCmdSN.
import { serialAdd, serialGt, serialLe, serialLt } from "../pdu/serial.ts";

export class CommandWindow {
  /** The CmdSN the next non-immediate command takes. */
  cmdSN: number;
  expCmdSN: number;
  maxCmdSN: number;

  constructor(start: { cmdSN: number; expCmdSN: number; maxCmdSN: number }) {
    this.cmdSN = start.cmdSN >>> 0;
    this.expCmdSN = start.expCmdSN >>> 0;
    this.maxCmdSN = start.maxCmdSN >>> 0;
  }

  /** Is there room for one more non-immediate command? (Window closed when MaxCmdSN = ExpCmdSN − 1.) */
  get open(): boolean {
    return serialLe(this.cmdSN, this.maxCmdSN);
  }

  /** Take the next CmdSN for a non-immediate command. */
  take(): number {
    const sn = this.cmdSN;
    this.cmdSN = serialAdd(sn, 1);
    return sn;
  }

  /**
   * Apply ExpCmdSN/MaxCmdSN from a target PDU. RFC 7143 §4.2.2.1: if MaxCmdSN < ExpCmdSN − 1 both are
   * invalid and ignored; otherwise each only moves forward. Returns true when the window may have opened.
   */
  update(expCmdSN: number, maxCmdSN: number): boolean {
    if (serialLt(maxCmdSN, serialAdd(expCmdSN, -1))) return false;
    let moved = false;
    if (serialGt(expCmdSN, this.expCmdSN)) {
      this.expCmdSN = expCmdSN >>> 0;
      moved = true;
    }
    if (serialGt(maxCmdSN, this.maxCmdSN)) {
      this.maxCmdSN = maxCmdSN >>> 0;
      moved = true;
    }
    return moved;
  }
}
