// Which TCP transport a connection uses: the native shim (native.ts) where it loads, else Bun's sockets.
// Chosen by option or by ISCSI_TRANSPORT (how tests and benchmarks switch a whole run): "auto" (the default)
// is native on Linux when the shim loads and Bun's otherwise; "native" fails loudly without the shim.
import { loadNative } from "./native-lib.ts";
import { connectNative } from "./native.ts";
import { connectTcp } from "./tcp.ts";
import type { Transport } from "./types.ts";

export const TRANSPORT_CHOICES = ["auto", "bun", "native"] as const;
export type TransportChoice = (typeof TRANSPORT_CHOICES)[number];
/** What a connection actually runs on. */
export type TransportKind = Exclude<TransportChoice, "auto">;

export interface ResolvedTransport {
  kind: TransportKind;
  /** Why this kind, in words: the option or variable that chose it, or why "auto" fell back to Bun's. */
  why: string;
  /** "auto" wanted native and could not have it. */
  fellBack: boolean;
}

export class TransportChoiceError extends Error {
  readonly code = "INVALID_ARGUMENT";
  constructor(message: string) {
    super(message);
    this.name = "TransportChoiceError";
  }
}

/** The choice given, else $ISCSI_TRANSPORT, else "auto"; an unknown name is an error that names it. */
export function transportChoice(given?: string): TransportChoice {
  const [value, where] =
    given !== undefined ? [given, "transport"] : [process.env.ISCSI_TRANSPORT || "auto", "ISCSI_TRANSPORT"];
  if (!(TRANSPORT_CHOICES as readonly string[]).includes(value)) {
    throw new TransportChoiceError(`${where} ${JSON.stringify(value)} is not one of ${TRANSPORT_CHOICES.join(", ")}`);
  }
  return value as TransportChoice;
}

/**
 * The kind a connection uses. "native" without a loadable shim rejects (TransportError); so does "auto" when
 * $ISCSI_NET_LIB names a library that does not load (an explicit file is never silently ignored). The shim is
 * loaded once per process (native-lib.ts), so this is cheap after the first call.
 */
export async function resolveTransport(given?: string): Promise<ResolvedTransport> {
  const choice = transportChoice(given);
  const by =
    given !== undefined
      ? `--transport ${choice}`
      : process.env.ISCSI_TRANSPORT
        ? `ISCSI_TRANSPORT=${choice}`
        : "the default";
  if (choice === "bun") return { kind: "bun", why: by, fellBack: false };
  // macOS and the rest: nothing to load, and nothing is tried.
  if (choice === "auto" && process.platform !== "linux")
    return { kind: "bun", why: `${by}, and the native transport is Linux-only`, fellBack: false };
  try {
    await loadNative();
    return { kind: "native", why: choice === "auto" ? `${by}, and its library loads` : by, fellBack: false };
  } catch (err) {
    if (choice === "native" || process.env.ISCSI_NET_LIB) throw err;
    return { kind: "bun", why: `${by}, but ${(err as Error).message}`, fellBack: true };
  }
}

export function connectTransport(
  kind: TransportKind,
  host: string,
  port: number,
  timeoutMs?: number,
): Promise<Transport> {
  return kind === "native" ? connectNative(host, port, timeoutMs) : connectTcp(host, port, timeoutMs);
}
