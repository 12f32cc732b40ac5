// bench/tcp-floor.ts, the bare-TCP floor the performance notes compare against: it builds its C program,
// runs every mode, and prints a row per mode and CPU placement with positive figures (no timing assertions).
import { expect, test } from "bun:test";
import { join } from "node:path";

test("tcp-floor prints four rows of positive throughput and CPU figures", async () => {
  const p = Bun.spawn(
    [process.execPath, join(import.meta.dir, "../../bench/tcp-floor.ts"), "--time", "0.3", "--rounds", "1"],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(err).toBe("");
  expect(code).toBe(0);
  const rows = out.split("\n").filter((l) => /^\| (1 MiB|48 B)/.test(l));
  expect(rows).toHaveLength(4);
  for (const row of rows) {
    const [mbs, recvCpu, sendCpu] = row
      .split("|")
      .slice(3, 6)
      .map((c) => Number(c.trim()));
    expect(mbs).toBeGreaterThan(0);
    expect(recvCpu).toBeGreaterThan(0);
    expect(sendCpu).toBeGreaterThan(0);
  }
}, 30_000);
