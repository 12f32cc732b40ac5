// The SCN listener (RFC 4171 §5.6.5.8, §6.3.4): the port we register as our portal's SCN Port. The server
// connects, sends SCN messages (and ESI if it probes us); each is acknowledged (SCNRsp, ESIRsp) and reported.
// A malformed message is logged and its connection closed; it never reaches the caller.
import type { Socket, TCPSocketListener } from "bun";
import { FUNCTION } from "../isns/constants.ts";
import { esiRsp, parseScn, scnRsp, type ScnEvent } from "../isns/messages.ts";
import { encodeMessage, functionName, MessageFramer } from "../isns/pdu.ts";

export interface ScnListener {
  readonly port: number;
  stop(): void;
}

export interface ScnHandlers {
  /** Our iSCSI name: SCNs for another destination are acknowledged but not reported. */
  destination: string;
  onScn(events: ScnEvent[]): void;
  onProblem(message: string): void;
}

/** Listens on `host` (the address the server sees us at), port chosen by the OS. */
export function listenScn(host: string, h: ScnHandlers): ScnListener {
  const framers = new WeakMap<Socket<undefined>, MessageFramer>();
  const server: TCPSocketListener<undefined> = Bun.listen<undefined>({
    hostname: host,
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(s) {
        framers.set(s, new MessageFramer());
      },
      data(s, chunk) {
        try {
          for (const m of framers.get(s)!.push(chunk)) {
            if (m.functionId === FUNCTION.SCN) {
              const scn = parseScn(m);
              s.write(encodeMessage({ ...scnRsp(h.destination), transactionId: m.transactionId }));
              if (scn.destination === h.destination) h.onScn(scn.events);
            } else if (m.functionId === FUNCTION.ESI) {
              s.write(encodeMessage({ ...esiRsp(m.payload), transactionId: m.transactionId }));
            } else {
              h.onProblem(`SCN port: ignored unexpected ${functionName(m.functionId)}`);
            }
          }
        } catch (err) {
          h.onProblem(`SCN port: malformed message from ${s.remoteAddress}: ${(err as Error).message}`);
          s.end();
        }
      },
    },
  });
  return { port: server.port, stop: () => server.stop(true) };
}
