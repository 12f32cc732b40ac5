// Choosing the TCP transport: by name or ISCSI_TRANSPORT (unknown names refused), "auto" by default and native
// here (Linux, shim built); "auto" falls back to Bun's transport when no shim is found, but an ISCSI_NET_LIB that
// does not load is an error, as is "native" without a shim; on macOS nothing is loaded at all.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TCPSocketListener } from "bun";
import { connectTransport, resolveTransport, transportChoice } from "../../src/transport/connect.ts";
import { ensureNativeLib } from "../harness/native.ts";

const ROOT = join(import.meta.dir, "../..");
const tmp = mkdtempSync(join(tmpdir(), "iscsi-transport-choice-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(() => void ensureNativeLib());

/** The env var set for the duration of `fn` (undefined: unset), restored after. */
async function withEnv<T>(name: string, value: string | undefined, fn: () => Promise<T> | T): Promise<T> {
  const saved = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

/**
 * resolveTransport(given) in a fresh Bun (the shim is loaded once per process), from `src` (the real tree or a
 * copy); prints the result as JSON or the error's code and message. `prelude` runs before connect.ts is imported.
 */
async function resolveIn(
  env: Record<string, string | undefined>,
  given?: string,
  src = join(ROOT, "src"),
  prelude = "",
): Promise<string> {
  const script = `${prelude}
    const { resolveTransport } = await import(${JSON.stringify(join(src, "transport/connect.ts"))});
    resolveTransport(${given === undefined ? "" : JSON.stringify(given)}).then((t) => console.log(JSON.stringify(t)), (e) => console.log(e.code, e.message));`;
  const p = Bun.spawn([process.execPath, "-e", script], {
    env: { ...process.env, ISCSI_TRANSPORT: undefined, ISCSI_NET_LIB: undefined, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return out.trim() || err.trim();
}

describe("the choice", () => {
  test("by name, else ISCSI_TRANSPORT, else auto; an unknown name is an INVALID_ARGUMENT error naming it", async () => {
    expect(["auto", "bun", "native"].map((n) => transportChoice(n))).toEqual(["auto", "bun", "native"]);
    expect(await withEnv("ISCSI_TRANSPORT", "native", () => transportChoice())).toBe("native");
    expect(await withEnv("ISCSI_TRANSPORT", "", () => transportChoice())).toBe("auto");
    expect(await withEnv("ISCSI_TRANSPORT", undefined, () => transportChoice())).toBe("auto");
    await withEnv("ISCSI_TRANSPORT", "rdma", () =>
      expect(() => transportChoice()).toThrow(/ISCSI_TRANSPORT "rdma" is not one of auto, bun, native/),
    );
    let code: unknown;
    try {
      transportChoice("tcp");
    } catch (e) {
      code = (e as { code?: unknown }).code;
    }
    expect(code).toBe("INVALID_ARGUMENT");
  });
});

describe("resolving it on this machine (Linux, shim built)", () => {
  test("the default is the native transport, and says why", async () => {
    const t = await withEnv("ISCSI_TRANSPORT", undefined, () => resolveTransport());
    expect(t).toEqual({ kind: "native", why: "the default, and its library loads", fellBack: false });
  });

  test("ISCSI_TRANSPORT=bun and --transport bun still give Bun's transport; explicit native gives native", async () => {
    expect(await withEnv("ISCSI_TRANSPORT", "bun", () => resolveTransport())).toEqual({
      kind: "bun",
      why: "ISCSI_TRANSPORT=bun",
      fellBack: false,
    });
    expect(await withEnv("ISCSI_TRANSPORT", "native", () => resolveTransport("bun"))).toEqual({
      kind: "bun",
      why: "--transport bun",
      fellBack: false,
    });
    expect(await resolveTransport("native")).toEqual({ kind: "native", why: "--transport native", fellBack: false });
  });

  test("each kind connects with its own transport", async () => {
    const server: TCPSocketListener<undefined> = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      for (const kind of ["native", "bun"] as const) {
        const t = await connectTransport(kind, "127.0.0.1", server.port);
        expect([kind, t.constructor.name]).toEqual([kind, kind === "native" ? "NativeTransport" : "TcpTransport"]);
        t.close();
      }
    } finally {
      server.stop(true);
    }
  });
});

describe("without a usable shim", () => {
  test("an ISCSI_NET_LIB that does not exist is an error naming it, for auto and native; bun never looks", async () => {
    const env = { ISCSI_NET_LIB: join(tmp, "missing.so") };
    const message = `TRANSPORT $ISCSI_NET_LIB names ${join(tmp, "missing.so")}, which does not exist: unset ISCSI_NET_LIB or point it at libiscsi_net.so`;
    expect(await resolveIn(env)).toBe(message);
    expect(await resolveIn(env, "native")).toBe(message);
    expect(JSON.parse(await resolveIn(env, "bun"))).toEqual({ kind: "bun", why: "--transport bun", fellBack: false });
  });

  test("an ISCSI_NET_LIB that is not a library is an error that says it cannot be loaded", async () => {
    writeFileSync(join(tmp, "garbage.so"), "not an ELF file\n");
    expect(await resolveIn({ ISCSI_NET_LIB: join(tmp, "garbage.so") })).toStartWith(
      `TRANSPORT cannot load the native transport library ${join(tmp, "garbage.so")}: `,
    );
  });

  test("no shim anywhere: auto falls back to Bun's transport and says why; native fails saying how to build it", async () => {
    // The transport's sources copied into a tree without ffi/build: nothing to find.
    const tree = join(tmp, "tree");
    cpSync(join(ROOT, "src/transport"), join(tree, "src/transport"), { recursive: true });
    const auto = JSON.parse(await resolveIn({}, undefined, join(tree, "src")));
    expect(auto).toMatchObject({ kind: "bun", fellBack: true });
    expect(auto.why).toStartWith(
      "the default, but the native transport library libiscsi_net.so was not found; looked at: (no copy embedded in this executable), ",
    );
    expect(auto.why).toContain(join(tree, "ffi/build/linux-x64/libiscsi_net.so"));
    const native = await resolveIn({}, "native", join(tree, "src"));
    expect(native).toStartWith("TRANSPORT the native transport library libiscsi_net.so was not found; ");
    expect(native).toEndWith("build it with `sh ffi/net/build.sh`, or set ISCSI_NET_LIB");
  });

  test("on macOS auto is Bun's transport without trying to load anything; native is refused as Linux-only", async () => {
    const darwin = `Object.defineProperty(process, "platform", { value: "darwin" });`;
    // A missing ISCSI_NET_LIB would be an error if anything were looked up.
    const env = { ISCSI_NET_LIB: join(tmp, "missing.so") };
    expect(JSON.parse(await resolveIn(env, undefined, undefined, darwin))).toEqual({
      kind: "bun",
      why: "the default, and the native transport is Linux-only",
      fellBack: false,
    });
    expect(await resolveIn(env, "native", undefined, darwin)).toBe(
      "TRANSPORT the native transport is Linux-only (this is darwin); use the Bun transport",
    );
  });
});
