// What `iscsi paths`, `-m session -P 1/3` and the dashboard show of multipath devices: each device with its
// policy and counters, each path with its session, portal, state and counters (docs/multipath.md).
import type { MultipathDevice } from "../multipath/device.ts";
import type { Path } from "../multipath/path.ts";
import type { DeviceView, PathView, SessionPathView } from "../contract/views.ts";

export function pathView(p: Path, d: MultipathDevice): PathView {
  return {
    sid: p.meta.sid,
    target: p.meta.target,
    portal: { ...p.meta.portal },
    lun: p.lun,
    state: p.state.kind,
    ...("reason" in p.state ? { reason: p.state.reason } : {}),
    active: d.activePath === p,
    inFlight: p.inFlight,
    serviceMicros: Math.round(p.serviceMicros),
    counters: { ...p.counters },
  };
}

export function deviceView(d: MultipathDevice): DeviceView {
  const s = d.settings;
  return {
    name: d.name,
    wwid: d.wwid,
    target: d.targetName ?? "",
    state: d.state.kind,
    policy: s.policy,
    failback: s.failback,
    noPathRetry: s.noPathRetryMs < 0 ? -1 : s.noPathRetryMs / 1000,
    pollingInterval: s.pollingIntervalMs / 1000,
    paths: d.paths.map((p) => pathView(p, d)),
    stats: { ...d.stats },
  };
}

export function sessionPaths(devices: readonly MultipathDevice[], sid: number): SessionPathView[] {
  return devices.flatMap((d) =>
    d.paths
      .filter((p) => p.meta.sid === sid)
      .map((p) => ({ device: d.name, lun: p.lun, state: p.state.kind, active: d.activePath === p })),
  );
}
