// Session fuzzer: after a valid login with the fake target over loopback TCP, each SCSI command is answered
// with a valid PDU sequence (Data-In, R2T, SCSI Response) that is then mutated, sprinkled with stray PDUs
// (NOP-In, Async, Reject, Text/Logout/TMF responses), optionally corrupted after framing, and split at random
// offsets. What must hold whatever the target does (docs/reliability.md, cases 1–16, 42–50):
// - every command settles, at the latest when the session is closed; a success is a sane result;
// - a failure is a typed error with a catalogue code (never a TypeError or RangeError);
// - every Data-Out lies inside its command's buffer and carries exactly the caller's bytes;
// - our fake's framer never refuses what the initiator sends; no unhandled rejection (checked by the caller).
import { ERROR_CATALOGUE } from "../../src/contract/errors.ts";
import {
  encodeDataIn,
  encodeNopIn,
  encodeR2T,
  encodeScsiResponse,
  encodeTaskMgmtResponse,
  encodeTextResponse,
  Opcode,
  RESERVED_TAG,
  type DataOut,
  type NopOut,
  type ScsiCommand,
  type TaskMgmtRequest,
  type TextRequest,
} from "../../src/pdu/index.ts";
import { encodeTextKeys } from "../../src/pdu/text.ts";
import { Session } from "../../src/session/session.ts";
import type { ScsiResult, ScsiTask } from "../../src/session/task.ts";
import { FakeTarget, type FakeConnection } from "../fake/target.ts";
import { within } from "../fault/outcome.ts";
import { Rng } from "./prng.ts";
import { corruptBytes, mutateList, mutatePdu, split, strayPdu, type RawPdu } from "./mutate.ts";
import { concat } from "../support/bytes.ts";

export interface Finding {
  episode: number;
  what: string;
}

export interface EpisodeReport {
  commands: number;
  resolved: number;
  rejected: Record<string, number>;
  /** Outcomes of the non-SCSI requests and the logout, e.g. "ping:ok", "text:PROTOCOL". */
  requests: Record<string, number>;
  findings: Finding[];
  log: string[];
}

const FIRST_BURST = 65536;
const LOGIN = {
  initiatorName: "iqn.2026-11.dev.iscsi:fuzz",
  targetName: "iqn.2026-11.test:fuzz",
  sessionType: "Normal" as const,
  auth: { method: "None" as const },
};

/** The bytes a command with fuzz id `id` writes (and a read of it returns, shifted): checkable anywhere. */
export const patternByte = (id: number, i: number) => (id * 131 + i * 7 + (i >>> 9)) & 0xff;

interface Issued {
  id: number;
  task: ScsiTask;
}

interface Seen {
  cmd: ScsiCommand;
  id: number;
  received: number;
  answered: boolean;
  unsolicited: number;
}

function makeTask(rng: Rng, id: number): ScsiTask {
  const kind = rng.pick(["read", "write", "none"] as const);
  const blocks = kind === "none" ? 0 : rng.range(1, 128);
  const len = blocks * 512;
  // The fuzz id rides in the LBA field so the fake can tell which command a PDU belongs to.
  const cdb = new Uint8Array([
    kind === "read" ? 0x28 : kind === "write" ? 0x2a : 0x00,
    0,
    id >>> 24,
    (id >>> 16) & 0xff,
    (id >>> 8) & 0xff,
    id & 0xff,
    0,
    0,
    blocks,
    0,
  ]);
  if (kind === "none")
    return { lun: 0, cdb: cdb.subarray(0, 6).fill(0), direction: "none", transferLength: 0, name: "TEST UNIT READY" };
  if (kind === "read") return { lun: 0, cdb, direction: "read", transferLength: len, name: "READ(10)" };
  return {
    lun: 0,
    cdb,
    direction: "write",
    transferLength: len,
    data: Uint8Array.from({ length: len }, (_, i) => patternByte(id, i)),
    name: "WRITE(10)",
  };
}

const idOf = (cmd: ScsiCommand) =>
  cmd.cdb[0] === 0 ? -1 : ((cmd.cdb[2]! << 24) | (cmd.cdb[3]! << 16) | (cmd.cdb[4]! << 8) | cmd.cdb[5]!) >>> 0;

/**
 * One episode. With `recovery` the session reinstates itself after each error (fast: Time2Wait 0, short
 * backoff and replacement timeout), so hostile PDUs also drive the reconnect and re-issue paths.
 */
export async function sessionEpisode(
  seed: number,
  episode: number,
  opts: { recovery?: boolean } = {},
): Promise<EpisodeReport> {
  const rng = Rng.episode(seed, episode);
  const report: EpisodeReport = { commands: 0, resolved: 0, rejected: {}, requests: {}, findings: [], log: [] };
  const count = (what: string, e: unknown) => {
    const key = `${what}:${e === undefined ? "ok" : String((e as { code?: unknown })?.code ?? "UNTYPED")}`;
    report.requests[key] = (report.requests[key] ?? 0) + 1;
  };
  const find = (what: string) => report.findings.push({ episode, what });
  const cfg = {
    digests: rng.chance(0.25),
    immediateData: rng.chance(0.5),
    initialR2T: rng.chance(0.5),
    window: rng.pick([1, 2, 8, 32]),
    mutate: rng.pick([0, 0.05, 0.2, 0.5, 1]),
    stray: rng.pick([0, 0.1, 0.4]),
    corrupt: rng.pick([0, 0, 0, 0.3]),
    trickle: rng.chance(0.2),
    commands: rng.range(1, 6),
    // Non-SCSI requests alongside: our NOP-Out ping, a SendTargets Text exchange, ABORT TASK; and how it ends.
    requests: rng.pick([[], [], ["ping"], ["text"], ["abort"], ["ping", "text", "abort"]] as const),
    end: rng.pick(["close", "close", "close", "logout"] as const),
  };
  report.log.push(JSON.stringify(cfg));
  const seen = new Map<number, Seen>();
  const headers: Uint8Array[] = [];
  const pings = new Set<number>();

  const emit = (c: FakeConnection, list: RawPdu[]) => {
    let bytes = concat(list.map((p) => c.wire(p.bhs, p.data)));
    for (const p of list)
      if ((p.bhs[0]! & 0x3f) === Opcode.NopIn) pings.add(new DataView(p.bhs.buffer, p.bhs.byteOffset).getUint32(20));
    if (cfg.corrupt > 0 && rng.chance(cfg.corrupt)) {
      bytes = corruptBytes(rng, bytes, rng.range(1, 3));
      report.log.push("corrupted");
    }
    for (const piece of split(rng, bytes)) {
      if (cfg.trickle) setTimeout(() => c.raw(piece), 0);
      else c.raw(piece);
    }
  };

  const answer = (c: FakeConnection, list: RawPdu[]) => {
    if (cfg.stray > 0 && rng.chance(cfg.stray)) {
      list.splice(rng.int(list.length + 1), 0, strayPdu(rng, c.seq(), [...seen.keys()], headers));
      report.log.push("stray");
    }
    if (cfg.mutate > 0 && rng.chance(cfg.mutate) && list.length > 0) {
      report.log.push(rng.chance(0.8) ? mutatePdu(rng, rng.pick(list)) : mutateList(rng, list));
    }
    emit(c, list);
  };

  const response = (c: FakeConnection, cmd: ScsiCommand, status = 0, underflow = 0): RawPdu => ({
    bhs: encodeScsiResponse({
      bidiReadResidualOverflow: false,
      bidiReadResidualUnderflow: false,
      residualOverflow: false,
      residualUnderflow: underflow > 0,
      response: 0,
      status,
      itt: cmd.itt,
      snackTag: 0,
      ...c.status(),
      expDataSN: 0,
      bidirectionalReadResidualCount: 0,
      residualCount: underflow,
    }),
    data: new Uint8Array(0),
  });

  const onCommand = (c: FakeConnection, cmd: ScsiCommand, immediate: Uint8Array) => {
    c.ack(cmd);
    const id = idOf(cmd);
    const s: Seen = { cmd, id, received: 0, answered: false, unsolicited: immediate.length };
    seen.set(cmd.itt, s);
    headers.push(encodeHeaderCopy(cmd));
    if (cmd.write) {
      checkData(s, 0, immediate, "immediate data");
      s.received = immediate.length;
      // Unsolicited Data-Out follows when F is clear; the rest we ask for with one R2T (length ≤ MaxBurstLength).
      const solicitedFrom = cmd.final ? immediate.length : Math.min(cmd.expectedDataTransferLength, FIRST_BURST);
      const list: RawPdu[] = [];
      if (solicitedFrom < cmd.expectedDataTransferLength) {
        list.push({
          bhs: encodeR2T({
            lun: 0n,
            itt: cmd.itt,
            ttt: 0x100 + (cmd.itt & 0xffff),
            ...c.seq(),
            r2tSN: 0,
            bufferOffset: solicitedFrom,
            desiredDataTransferLength: cmd.expectedDataTransferLength - solicitedFrom,
          }),
          data: new Uint8Array(0),
        });
      }
      if (s.received >= cmd.expectedDataTransferLength || rng.chance(0.05)) {
        s.answered = true;
        list.push(response(c, cmd));
      }
      if (list.length > 0) answer(c, list);
    } else if (cmd.read) {
      const len = cmd.expectedDataTransferLength;
      const short = rng.chance(0.15) ? rng.int(len / 512) * 512 : len;
      const list: RawPdu[] = [];
      const separate = rng.chance(0.3);
      let dataSN = 0;
      let at = 0;
      do {
        const n = Math.min(short - at, rng.pick([512, 4096, 8192, 65536]));
        const last = at + n >= short;
        const withStatus = last && !separate;
        const from = at;
        list.push({
          bhs: encodeDataIn({
            final: last,
            acknowledge: false,
            residualOverflow: false,
            residualUnderflow: withStatus && short < len,
            statusPresent: withStatus,
            status: 0,
            lun: 0n,
            itt: cmd.itt,
            ttt: RESERVED_TAG,
            ...(withStatus ? c.status() : c.seq()),
            dataSN: dataSN++,
            bufferOffset: at,
            residualCount: withStatus ? len - short : 0,
            dataSegmentLength: n,
          }),
          data: Uint8Array.from({ length: n }, (_, i) => patternByte(id ^ 0x5a5a, from + i)),
        });
        at += n;
      } while (at < short);
      if (separate) list.push(response(c, cmd, 0, len - short));
      s.answered = true;
      answer(c, list);
    } else {
      s.answered = true;
      answer(c, [response(c, cmd, rng.chance(0.1) ? rng.pick([2, 8, 0x18, 0x28]) : 0)]);
    }
  };

  const checkData = (s: Seen, offset: number, data: Uint8Array, what: string) => {
    if (!s.cmd.write) return find(`${what} for ITT 0x${s.cmd.itt.toString(16)}, which is not a write`);
    if (offset + data.length > s.cmd.expectedDataTransferLength)
      return find(`${what} at ${offset}+${data.length} outside the ${s.cmd.expectedDataTransferLength}-byte buffer`);
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== patternByte(s.id, offset + i))
        return find(`${what} byte ${offset + i} is ${data[i]}, not the caller's ${patternByte(s.id, offset + i)}`);
    }
  };

  const isids = new Set<number>();
  const target = FakeTarget.listen({
    targetName: LOGIN.targetName,
    window: cfg.window,
    // Every login of the episode (reinstatements included, RFC 7143 §6.3.5) carries our one ISID and TSIH 0.
    onLogin(_c, f) {
      isids.add(f.pdu.isid);
      if (isids.size > 1) find(`logins with ${isids.size} different ISIDs`);
      if (f.pdu.tsih !== 0) find(`a login with TSIH ${f.pdu.tsih}, not 0`);
      return false;
    },
    answers: {
      ImmediateData: cfg.immediateData ? "Yes" : "No",
      InitialR2T: cfg.initialR2T ? "Yes" : "No",
      FirstBurstLength: String(FIRST_BURST),
      ...(opts.recovery ? { DefaultTime2Wait: "0" } : {}),
      ...(cfg.digests ? { HeaderDigest: "CRC32C", DataDigest: "CRC32C" } : {}),
    },
    onPdu(c, f) {
      const p = f.pdu;
      if (p.opcode === Opcode.ScsiCommand) return onCommand(c, p, f.data);
      if (p.opcode === Opcode.NopOut) {
        const nop = p as NopOut;
        if (nop.ttt !== RESERVED_TAG && !pings.has(nop.ttt) && !report.log.includes("corrupted"))
          find(`NOP-Out answers TTT 0x${nop.ttt.toString(16)}, which no NOP-In asked for`);
        if (nop.itt !== RESERVED_TAG)
          answer(c, [
            {
              bhs: encodeNopIn({
                lun: 0n,
                itt: nop.itt,
                ttt: RESERVED_TAG,
                ...c.seq(),
                dataSegmentLength: f.data.length,
              }),
              data: f.data.slice(),
            },
          ]);
        return;
      }
      if (p.opcode === Opcode.TextRequest) {
        const t = p as TextRequest;
        c.ack(t);
        const data = encodeTextKeys([
          ["TargetName", LOGIN.targetName],
          ["TargetAddress", `127.0.0.1:${target.port},1`],
        ]);
        return answer(c, [
          {
            bhs: encodeTextResponse({
              final: true,
              continue: false,
              lun: 0n,
              itt: t.itt,
              ttt: RESERVED_TAG,
              ...c.status(),
              dataSegmentLength: data.length,
            }),
            data,
          },
        ]);
      }
      if (p.opcode === Opcode.TaskMgmtRequest) {
        const t = p as TaskMgmtRequest;
        return answer(c, [
          {
            bhs: encodeTaskMgmtResponse({ response: rng.pick([0, 0, 1, 5]), itt: t.itt, ...c.status() }),
            data: new Uint8Array(0),
          },
        ]);
      }
      if (p.opcode !== Opcode.DataOut) return;
      const d = p as DataOut;
      const s = seen.get(d.itt);
      if (!s) return find(`Data-Out for ITT 0x${d.itt.toString(16)}, which was never a command`);
      checkData(s, d.bufferOffset, f.data, d.ttt === RESERVED_TAG ? "unsolicited Data-Out" : "Data-Out");
      if (d.ttt === RESERVED_TAG) {
        s.unsolicited += f.data.length;
        if (s.unsolicited > FIRST_BURST)
          find(`unsolicited data of ${s.unsolicited} bytes > FirstBurstLength ${FIRST_BURST}`);
      }
      s.received += f.data.length;
      if (!s.answered && s.received >= s.cmd.expectedDataTransferLength) {
        s.answered = true;
        answer(c, [response(c, s.cmd)]);
      }
    },
  });

  let session: Session | undefined;
  try {
    session = await Session.open({
      portal: { host: "127.0.0.1", port: target.port },
      login: {
        ...LOGIN,
        proposal: {
          ...(cfg.digests ? { headerDigest: ["CRC32C"], dataDigest: ["CRC32C"] } : {}),
          ...(opts.recovery ? { defaultTime2Wait: 0 } : {}),
        },
      },
      recovery: opts.recovery
        ? { enabled: true, replacementTimeoutMs: 300, maxBackoffMs: 50, nopIntervalMs: 0, commandTimeoutMs: 0 }
        : { enabled: false, nopIntervalMs: 0, commandTimeoutMs: 0 },
      loginTimeoutMs: 2_000,
    });
  } catch (err) {
    find(`login to the honest fake failed: ${(err as Error).message}`);
    target.stop();
    return report;
  }

  const issued: Issued[] = Array.from({ length: cfg.commands }, (_, i) => ({
    id: episode * 16 + i + 1,
    task: makeTask(rng, episode * 16 + i + 1),
  }));
  const settled = issued.map(({ task }) =>
    session.execute(task).then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    ),
  );
  const s = session;
  const requests = cfg.requests.map((kind) => {
    const p: Promise<unknown> =
      kind === "ping"
        ? s.requests.ping(300)
        : kind === "text"
          ? s.requests.text([["SendTargets", "All"]], 300)
          : s.requests.taskManagement(1, 0n, RESERVED_TAG, 0, 300);
    return p.then(
      () => undefined,
      (e: unknown) => e,
    );
  });
  report.commands = issued.length;
  await within(Promise.all(settled), 60);
  if (rng.chance(0.1)) target.connections[0]?.[rng.chance(0.5) ? "close" : "reset"]();
  if (cfg.end === "logout") {
    const out = await within(
      s.logout(300).then(
        () => undefined,
        (e: unknown) => e,
      ),
      1_000,
    );
    if (out.state !== "resolved") find("logout did not settle within 1 s with a 300 ms timeout");
    else {
      count("logout", out.value);
      if (out.value !== undefined) checkError("logout", out.value, find);
    }
  }
  s.close();
  const req = await within(Promise.all(requests), 1_000);
  if (req.state !== "resolved")
    find(`a request (${cfg.requests.join(", ")}) did not settle within 1 s of session.close()`);
  else {
    for (const [i, e] of req.value.entries()) {
      count(cfg.requests[i]!, e);
      if (e !== undefined) checkError(cfg.requests[i]!, e, find);
    }
  }
  const all = await within(Promise.all(settled), 1_000);
  if (all.state !== "resolved") {
    find("a command did not settle within 1 s of session.close()");
  } else {
    for (const [i, o] of all.value.entries()) {
      if (o.ok) {
        report.resolved++;
        checkResult(issued[i]!.task, o.r, find);
      } else {
        const code = (o.e as { code?: unknown })?.code;
        const known = typeof code === "string" && Object.hasOwn(ERROR_CATALOGUE, code);
        report.rejected[known ? code : "UNTYPED"] = (report.rejected[known ? code : "UNTYPED"] ?? 0) + 1;
        checkError("command", o.e, find);
      }
    }
  }
  for (const c of target.connections)
    for (const e of c.errors)
      find(
        `fake target error (a PDU from the initiator it could not read, or a fuzzer bug): ${(e as Error)?.message ?? e}`,
      );
  target.stop();
  return report;
}

/** A failure must be an Error with a catalogue code and a message: never a TypeError, RangeError or a bare value. */
export function checkError(what: string, e: unknown, find: (what: string) => void): void {
  const code = (e as { code?: unknown })?.code;
  const known = typeof code === "string" && Object.hasOwn(ERROR_CATALOGUE, code);
  if (!known || !(e instanceof Error) || !e.message)
    find(`${what} failed with an untyped error: ${String((e as Error)?.stack ?? e)}`);
}

export function checkResult(task: ScsiTask, r: ScsiResult, find: (what: string) => void): void {
  const name = task.name ?? "command";
  if (!Number.isInteger(r.status) || r.status < 0 || r.status > 255) find(`${name} resolved with status ${r.status}`);
  if (r.residualUnderflow < 0 || r.residualUnderflow > task.transferLength)
    find(`${name} resolved with underflow ${r.residualUnderflow} of ${task.transferLength}`);
  if (task.direction === "read") {
    if (r.data.length > task.transferLength) find(`${name} returned ${r.data.length} bytes for ${task.transferLength}`);
    if (r.status === 0 && r.data.length !== task.transferLength - r.residualUnderflow)
      find(`${name} GOOD with ${r.data.length} bytes, underflow ${r.residualUnderflow} of ${task.transferLength}`);
  }
}

/** A copy of the command's header as the initiator sent it, for Rejects that quote it. */
function encodeHeaderCopy(cmd: ScsiCommand): Uint8Array {
  const out = new Uint8Array(48);
  out[0] = Opcode.ScsiCommand;
  new DataView(out.buffer).setUint32(16, cmd.itt);
  new DataView(out.buffer).setUint32(24, cmd.cmdSN);
  return out;
}
