// Which TCP transport a connection uses: Bun's sockets (the default) or the native shim (native.ts), by
// option or by ISCSI_TRANSPORT=native in the environment (how tests and benchmarks switch a whole run).
import { connectNative } from "./native.ts";
import { connectTcp } from "./tcp.ts";
import type { Transport } from "./types.ts";

export const TRANSPORT_KINDS = ["bun", "native"] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

export class TransportChoiceError extends Error {
  readonly code = "INVALID_ARGUMENT";
  constructor(message: string) {
    super(message);
    this.name = "TransportChoiceError";
  }
}

/** The kind given, else $ISCSI_TRANSPORT, else "bun"; an unknown name is an error that names it. */
export function transportKind(given?: string): TransportKind {
  const [value, where] = given !== undefined ? [given, "transport"] : [process.env.ISCSI_TRANSPORT || "bun", "ISCSI_TRANSPORT"];
  if (!(TRANSPORT_KINDS as readonly string[]).includes(value)) {
    throw new TransportChoiceError(`${where} ${JSON.stringify(value)} is not one of ${TRANSPORT_KINDS.join(", ")}`);
  }
  return value as TransportKind;
}

export function connectTransport(kind: TransportKind, host: string, port: number, timeoutMs?: number): Promise<Transport> {
  return kind === "native" ? connectNative(host, port, timeoutMs) : connectTcp(host, port, timeoutMs);
}
