// Every command in the command table (enumerated, so commands added later are covered) run as a user would,
// with a misspelled option: exit 7, the message names the option and the closest valid one, and nothing ran:
// the LUN's data, the output file and the state directory are unchanged and the daemon socket saw no client.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ArgsDef, CommandDef } from "citty";
import { subCommands } from "../../src/cli/index.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");

interface Leaf {
  path: string[];
  args: ArgsDef;
}

async function leaves(table: Record<string, unknown>, path: string[] = []): Promise<Leaf[]> {
  const out: Leaf[] = [];
  for (const [name, entry] of Object.entries(table)) {
    const def = (await (typeof entry === "function" ? entry() : entry)) as CommandDef<any>;
    const subs = await (typeof def.subCommands === "function" ? def.subCommands() : def.subCommands);
    if (subs) out.push(...(await leaves(subs as Record<string, unknown>, [...path, name])));
    else
      out.push({
        path: [...path, name],
        args: ((await (typeof def.args === "function" ? def.args() : def.args)) ?? {}) as ArgsDef,
      });
  }
  return out;
}

/** A typo a user makes: the last two letters swapped (--offset → --offste). */
const misspell = (name: string) => name.slice(0, -2) + name.at(-1) + name.at(-2);

let t: TgtdTarget;
let dir: string;
let socketPath: string;
let daemonClients = 0;
let listener: ReturnType<typeof Bun.listen>;
beforeAll(async () => {
  t = await startTgtd({ luns: [{ sizeMiB: 4 }] });
  dir = mkdtempSync(join(tmpdir(), "iscsi-strict-"));
  mkdirSync(join(dir, "state"));
  writeFileSync(join(dir, "existing.txt"), "keep me\n");
  writeFileSync(join(dir, "input.bin"), new Uint8Array(1 << 20).fill(0xa5));
  socketPath = join(dir, "daemon.sock");
  listener = Bun.listen({ unix: socketPath, socket: { open: () => void daemonClients++, data() {} } });
});
afterAll(async () => {
  listener?.stop(true);
  await t?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("strict arguments", () => {
  test("every command refuses a misspelled option, names it, suggests the right one, and touches nothing", async () => {
    const iqn = t.targets[0]!.iqn;
    const backing = t.targets[0]!.luns[0]!.path!;
    const lunBefore = sha(backing);
    // Values a user would give, by argument name; anything else gets a plain word.
    const values: Record<string, string> = {
      url: `iscsi://${t.portal}/${iqn}/1`,
      target: iqn,
      what: iqn,
      lun: "1",
      portal: t.portal,
      output: join(dir, "existing.txt"),
      input: join(dir, "input.bin"),
      mount: join(dir, "mnt"),
      name: "node.startup",
      value: "manual",
      file: join(dir, "input.bin"),
    };
    const commands = await leaves(subCommands);
    expect(commands.length).toBeGreaterThanOrEqual(Object.keys(subCommands).length);
    for (const { path, args } of commands) {
      const argv = [...path];
      const options = Object.entries(args)
        .filter(([, d]) => d.type !== "positional")
        .map(([n]) => n);
      for (const [name, d] of Object.entries(args)) {
        if (d.type === "positional") argv.push(values[name] ?? "x");
        else if (d.required) argv.push(`--${name}`, values[name] ?? "x");
      }
      const victim =
        ["offset", "mount", "read-only", "force", "login"].find((o) => options.includes(o)) ??
        options.find((o) => o.length > 3) ??
        "debug";
      argv.push(`--${misspell(victim)}`, ...(args[victim]?.type === "string" ? ["1M"] : []));
      const p = Bun.spawn([process.execPath, MAIN, ...argv], {
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, ISCSI_SOCKET: socketPath, ISCSI_STATE_DIR: join(dir, "state"), ISCSI_CHAP_SECRET: "" },
      });
      const [stdout, stderr, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ]);
      const label = `iscsi ${argv.join(" ")}`;
      expect({ label, code }).toEqual({ label, code: 7 });
      expect(stderr).toContain(`unknown option --${misspell(victim)}`);
      expect(stderr).toContain(`did you mean --${victim}?`);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stdout).toBe("");
    }
    expect(sha(backing)).toBe(lunBefore);
    expect(readFileSync(join(dir, "existing.txt"), "utf8")).toBe("keep me\n");
    expect(readdirSync(join(dir, "state"))).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(["daemon.sock", "existing.txt", "input.bin", "state"]);
    expect(existsSync(join(dir, "mnt"))).toBe(false);
    expect(daemonClients).toBe(0);
  });
});
