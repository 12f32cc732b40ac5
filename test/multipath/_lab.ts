// Shared pieces of the multipath tests: one tgtd target reached over two fault proxies (two paths, one LU),
// a daemon with a node record per path, and `iscsi paths --json` as the tests read it.
import { FaultProxy } from "../fault/proxy.ts";
import { TestDaemon } from "../harness/iscsid.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";

export interface PathJson {
  sid: number;
  portal: { host: string; port: number };
  lun: number;
  state: "up" | "down" | "failed";
  active: boolean;
  inFlight: number;
  serviceMicros: number;
  counters: Record<string, number>;
}
export interface DeviceJson {
  name: string;
  wwid: string;
  state: string;
  policy: string;
  paths: PathJson[];
  stats: Record<string, number>;
}

export interface Lab {
  t: TgtdTarget;
  d: TestDaemon;
  proxies: FaultProxy[];
  iqn: string;
  portals: string[];
  json<T = any>(args: string[]): Promise<T>;
  devices(): Promise<DeviceJson[]>;
  /** The proxy a path goes through. */
  proxyOf(p: PathJson): FaultProxy;
  stop(): Promise<void>;
}

/** tgtd with one LU, two proxies in front of it, node records for both and `settings` on each. */
export async function startLab(settings: Record<string, string> = {}, lunMiB = 64): Promise<Lab> {
  const t = await startTgtd({ luns: [{ sizeMiB: lunMiB }] });
  const proxies = [
    await FaultProxy.start({ host: t.host, port: t.port }),
    await FaultProxy.start({ host: t.host, port: t.port }),
  ];
  const d = new TestDaemon();
  await d.start();
  const iqn = t.targets[0]!.iqn;
  const portals = proxies.map((p) => `${p.portal.host}:${p.portal.port}`);
  const run = async (args: string[]) => {
    const r = await d.cli(args);
    if (r.code !== 0) throw new Error(`iscsi ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  for (const portal of portals) {
    await run(["-m", "node", "-o", "new", "-T", iqn, "-p", portal]);
    for (const [name, value] of Object.entries(settings))
      await run(["-m", "node", "-T", iqn, "-p", portal, "-o", "update", "-n", name, "-v", value]);
  }
  const json = async <T>(args: string[]) => JSON.parse(await run([...args, "--json"])) as T;
  return {
    t,
    d,
    proxies,
    iqn,
    portals,
    json,
    devices: async () => (await json<{ devices: DeviceJson[] }>(["paths"])).devices,
    proxyOf: (p) => proxies.find((x) => x.portal.port === p.portal.port)!,
    stop: async () => {
      await d.stop();
      for (const p of proxies) await p.stop();
      await t.stop();
    },
  };
}

export const upCount = (dev: DeviceJson) => dev.paths.filter((p) => p.state === "up").length;
