// A TCP connection that leaves through a chosen interface and/or from a chosen local address (open-iscsi's
// iface.net_ifacename, SO_BINDTODEVICE, and iface.ipaddress, bind()). Bun.connect cannot bind, so the native
// shim (ffi/net/bound_connect.c) makes and connects the socket and Bun adopts the descriptor. Linux only: on
// macOS the shim does not exist, and a binding is refused with an error that says so.
import { isIP } from "node:net";
import { ptr } from "bun:ffi";
import { loadNative } from "./native-lib.ts";
import { TransportError } from "./errors.ts";
import { adoptTcp } from "./tcp.ts";
import type { Transport } from "./types.ts";

export interface SourceBinding {
  /** Leave through this interface (e.g. "eth1"); empty or absent: any. */
  netIfaceName?: string;
  /** Leave from this local address; empty or absent: the kernel picks. */
  ipAddress?: string;
}

const cstring = (s: string) => Buffer.from(`${s}\0`, "utf8");

/** Connect to host:port as `bind` says; rejects with a TransportError naming peer, interface and address. */
export async function connectBound(
  host: string,
  port: number,
  bind: SourceBinding,
  timeoutMs = 10_000,
): Promise<Transport> {
  const from = [bind.netIfaceName && `interface ${bind.netIfaceName}`, bind.ipAddress && `address ${bind.ipAddress}`]
    .filter(Boolean)
    .join(", ");
  const lib = await loadNative().catch((err: Error) => {
    throw new TransportError(`cannot leave from ${from}: binding a connection needs the native shim (${err.message})`, {
      cause: err,
    });
  });
  const { nb_connect, nb_connect_result, nb_close, nt_strerror } = lib.symbols;
  const address = isIP(host) ? host : (await Bun.dns.lookup(host).catch(() => []))[0]?.address;
  if (!address) throw new TransportError(`cannot connect to ${host}:${port}: the name does not resolve`);
  const args = [cstring(address), cstring(bind.netIfaceName ?? ""), cstring(bind.ipAddress ?? "")] as const;
  const fd = nb_connect(ptr(args[0]), port, ptr(args[1]), ptr(args[2]));
  const failed = (rc: number) =>
    new TransportError(`cannot connect to ${address}:${port} from ${from}: ${nt_strerror(rc)}`);
  if (fd < 0) throw failed(fd);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const rc = nb_connect_result(fd);
    if (rc === 0) break;
    if (rc !== lib.wouldBlock || performance.now() > deadline) {
      nb_close(fd);
      throw rc === lib.wouldBlock
        ? new TransportError(`connecting to ${address}:${port} from ${from} timed out after ${timeoutMs} ms`)
        : failed(rc);
    }
    await Bun.sleep(5);
  }
  return adoptTcp(fd, address, port, timeoutMs);
}
