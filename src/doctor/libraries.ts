// Host checks of `iscsi doctor` for our C libraries (bun:ffi): the attach library behind attaching a LUN, and
// the TCP transport sessions will use: the native shim where it loads, else Bun's sockets, and why.
import { ATTACH_LIB } from "../attach/native.ts";
import { errorCodeOf } from "../contract/errors.ts";
import { resolveTransport, TRANSPORT_CHOICES, type ResolvedTransport } from "../transport/connect.ts";
import { locateFfiLib, type FfiLibLocation } from "../transport/ffi-lib.ts";
import { NET_LIB } from "../transport/native-lib.ts";
import type { Findings } from "./finding.ts";

/** Where a library found is, in words. */
function describe(at: Exclude<FfiLibLocation, { kind: "missing" }>, env: string): string {
  if (at.kind === "embedded") return `${at.name} (${at.bytes} bytes) is embedded in this executable`;
  if (at.source === "env") return `$${env} names ${at.path}`;
  return at.source === "build" ? `${at.path} (running from source)` : `${at.path} (next to the executable)`;
}

/** `embedded` lists every file in this executable, for --json. */
export function attachLibrary(f: Findings, embedded: Array<{ name: string; bytes: number }>): void {
  const at = locateFfiLib(ATTACH_LIB);
  if (at.kind === "missing")
    f.warn("host.attach-library", `attaching LUNs is unavailable: ${at.problem}`, at.fix, { embedded });
  else f.ok("host.attach-library", describe(at, ATTACH_LIB.env), { embedded });
}

/** What standalone commands (and a daemon started with this environment) connect with; loads the shim as they would. */
export async function transport(f: Findings): Promise<void> {
  let t: ResolvedTransport;
  try {
    t = await resolveTransport();
  } catch (err) {
    const fix =
      errorCodeOf(err) === "INVALID_ARGUMENT"
        ? `set ISCSI_TRANSPORT to one of ${TRANSPORT_CHOICES.join(", ")}`
        : process.env.ISCSI_NET_LIB
          ? "unset ISCSI_NET_LIB or point it at a working libiscsi_net.so"
          : `build it with \`${NET_LIB.build}\`, or unset ISCSI_TRANSPORT (auto falls back to Bun's transport)`;
    f.fail("host.transport", `sessions cannot connect: ${(err as Error).message}`, fix, errorCodeOf(err));
    return;
  }
  const at = locateFfiLib(NET_LIB);
  const data = { transport: t.kind, why: t.why };
  if (t.fellBack) {
    f.warn(
      "host.transport",
      `sessions use Bun's transport, which costs more CPU and memory on large reads (${t.why})`,
      `${at.kind === "missing" ? at.fix : `rebuild it with \`${NET_LIB.build}\``}; ISCSI_TRANSPORT=bun chooses Bun's transport knowingly`,
      data,
    );
  } else if (t.kind === "native") {
    f.ok(
      "host.transport",
      `sessions use the native transport (${t.why})${at.kind === "missing" ? "" : `: ${describe(at, NET_LIB.env)}`}`,
      data,
    );
  } else {
    f.ok("host.transport", `sessions use Bun's transport (${t.why})`, data);
  }
}
