// The daemon's system-event sources (src/daemon/system-events.ts): the one-line protocol, a helper that waits
// for our acknowledgement of will-sleep (as the macOS helper does), and rtnetlink through `ip monitor`: a link
// made and removed in the main namespace is reported, with the latency printed.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { logFor } from "../../src/log.ts";
import { lineSource, parseEventLine, startSystemEvents, type SystemEvent } from "../../src/daemon/system-events.ts";
import { ip } from "../harness/netlab.ts";

const log = logFor("test");

test("event lines: will-sleep with its id, did-wake, network-changed; ip monitor lines are network changes; blank is nothing", () => {
  expect(parseEventLine("will-sleep 42")).toEqual({ kind: "will-sleep", ack: "42" });
  expect(parseEventLine("will-sleep")).toEqual({ kind: "will-sleep" });
  expect(parseEventLine("did-wake")).toEqual({ kind: "did-wake" });
  expect(parseEventLine("network-changed State:/Network/Global/IPv4")).toEqual({
    kind: "network-changed",
    detail: "State:/Network/Global/IPv4",
  });
  expect(parseEventLine("3: eth0    inet 10.0.0.2/24 scope global eth0")).toEqual({
    kind: "network-changed",
    detail: "3: eth0    inet 10.0.0.2/24 scope global eth0",
  });
  expect(parseEventLine("   ")).toBeUndefined();
});

test("a helper that announces will-sleep gets our acknowledgement on its stdin", async () => {
  const dir = mkdtempSync(join(tmpdir(), "iscsi-events-"));
  try {
    const acked = join(dir, "acked");
    const script = `echo "will-sleep 7"; read line; echo "$line" > ${acked}; echo did-wake; sleep 5`;
    const events: SystemEvent[] = [];
    let source: ReturnType<typeof lineSource> | undefined;
    const wake = new Promise<void>((resolve) => {
      source = lineSource(
        "test helper",
        ["bash", "-c", script],
        (e) => {
          events.push(e);
          if (e.kind === "will-sleep") source!.acknowledge(e.ack!);
          if (e.kind === "did-wake") resolve();
        },
        log,
      );
    });
    await wake;
    source!.stop();
    expect(events).toEqual([{ kind: "will-sleep", ack: "7" }, { kind: "did-wake" }]);
    expect(readFileSync(acked, "utf8")).toBe("ack 7\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Linux: rtnetlink through ip monitor reports a link change in the main namespace", async () => {
  const name = `ne${process.pid.toString(36)}ev`;
  const seen: Array<{ at: number; e: SystemEvent }> = [];
  const source = startSystemEvents((e) => seen.push({ at: performance.now(), e }), log)!;
  try {
    expect(source.name).toContain("ip -o monitor");
    await Bun.sleep(300); // let ip monitor subscribe
    const before = performance.now();
    await ip(undefined, ["link", "add", name, "type", "veth", "peer", "name", `${name}p`]);
    const deadline = Date.now() + 5_000;
    while (
      !seen.some((s) => s.e.kind === "network-changed" && "detail" in s.e && s.e.detail.includes(name)) &&
      Date.now() < deadline
    )
      await Bun.sleep(5);
    const hit = seen.find((s) => s.e.kind === "network-changed" && s.e.detail.includes(name));
    expect(hit).toBeDefined();
    console.log(
      `ip monitor: link ${name} reported ${(hit!.at - before).toFixed(1)} ms after \`ip link add\` was started`,
    );
  } finally {
    source.stop();
    await ip(undefined, ["link", "del", name]).catch(() => undefined);
  }
});
