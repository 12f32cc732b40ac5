// The system's own events as the daemon sees them, on every platform: will-sleep, did-wake, network-changed.
// Sources write one line per event ("will-sleep 7", "did-wake", "network-changed addr del eth0 …"); Linux reads
// rtnetlink through `ip -o monitor link address route`, macOS a small C helper (ffi/macos/power_events.c) that
// also waits for our acknowledgement of will-sleep. Tests inject the same events over IPC (op system.event).
import type { ConsolaInstance } from "consola";
import type { Subprocess } from "bun";

export type SystemEvent =
  /** The machine is about to sleep; `ack` is the helper's id to acknowledge once we are ready. */
  | { kind: "will-sleep"; ack?: string }
  | { kind: "did-wake" }
  /** A link, address or route changed; `detail` is the source's description, for the log. */
  | { kind: "network-changed"; detail: string };

export type SystemEventKind = SystemEvent["kind"];
export const SYSTEM_EVENT_KINDS: readonly SystemEventKind[] = ["will-sleep", "did-wake", "network-changed"];

/** One line of a source; `ip monitor` lines (anything else) mean the network changed. Blank lines: nothing. */
export function parseEventLine(line: string): SystemEvent | undefined {
  const text = line.trim();
  if (text === "") return undefined;
  const [word, ...rest] = text.split(/\s+/);
  if (word === "will-sleep") return rest[0] ? { kind: "will-sleep", ack: rest[0] } : { kind: "will-sleep" };
  if (word === "did-wake") return { kind: "did-wake" };
  if (word === "network-changed") return { kind: "network-changed", detail: rest.join(" ") };
  return { kind: "network-changed", detail: text.slice(0, 200) };
}

export interface SystemEventSource {
  /** What feeds the events, for the log ("rtnetlink (ip monitor)"). */
  readonly name: string;
  /** Acknowledge a will-sleep (macOS: IOAllowPowerChange); a no-op where sleep is not reported. */
  acknowledge(ack: string): void;
  stop(): void;
}

/**
 * A helper process that prints one event per line on stdout (and reads acknowledgements on stdin). It is
 * restarted after a crash, at most once a second; `stop()` ends it for good.
 */
export function lineSource(
  name: string,
  argv: string[],
  onEvent: (e: SystemEvent) => void,
  log: ConsolaInstance,
): SystemEventSource {
  let child: Subprocess<"pipe", "pipe", "ignore"> | undefined;
  let stopped = false;
  const run = () => {
    if (stopped) return;
    const started = Date.now();
    try {
      child = Bun.spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
    } catch (err) {
      log.warn(
        `system events: cannot start ${argv[0]} (${(err as Error).message}); sleep and network changes are not watched`,
      );
      return;
    }
    const me = child;
    void (async () => {
      let buffered = "";
      const decoder = new TextDecoder();
      for await (const chunk of me.stdout) {
        buffered += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const event = parseEventLine(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
          if (event) onEvent(event);
        }
        if (buffered.length > 64 * 1024) buffered = ""; // a line this long is no event of ours
      }
      const code = await me.exited;
      if (stopped) return;
      log.warn(`system events: ${argv[0]} exited (${code}); restarting`);
      setTimeout(run, Math.max(0, 1000 - (Date.now() - started)));
    })();
  };
  run();
  return {
    name,
    acknowledge(ack: string) {
      if (!/^\w{1,32}$/.test(ack)) return;
      try {
        child?.stdin.write(`ack ${ack}\n`);
        void child?.stdin.flush();
      } catch (err) {
        log.warn(`system events: could not acknowledge sleep ${ack}: ${(err as Error).message}`);
      }
    },
    stop() {
      stopped = true;
      child?.kill();
    },
  };
}

/** The platform's source: rtnetlink through `ip monitor` on Linux, the power/network helper on macOS. */
export function startSystemEvents(
  onEvent: (e: SystemEvent) => void,
  log: ConsolaInstance,
  macHelper?: string,
): SystemEventSource | undefined {
  if (process.platform === "linux") {
    if (!Bun.which("ip")) {
      log.warn(
        "system events: `ip` (iproute2) is not installed; network changes are noticed only by keepalive timeouts",
      );
      return undefined;
    }
    // With setpriv the monitor dies with the daemon even after a kill -9 (else it would go at the next event, on EPIPE).
    const withParent = Bun.which("setpriv") ? ["setpriv", "--pdeathsig", "TERM", "--"] : [];
    return lineSource(
      "rtnetlink (ip -o monitor link address route)",
      [...withParent, "ip", "-o", "monitor", "link", "address", "route"],
      onEvent,
      log,
    );
  }
  if (process.platform === "darwin" && macHelper)
    return lineSource("IOKit power + SCDynamicStore helper", [macHelper], onEvent, log);
  return undefined;
}
