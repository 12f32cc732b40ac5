// Opening a session over real loopback TCP: redirects followed and bounded, login timeout, refused ports.
import { afterEach, expect, test } from "bun:test";
import { Session } from "../../src/session/session.ts";
import { FakeTarget } from "../fake/target.ts";
import { freePort } from "../harness/processes.ts";

const started: FakeTarget[] = [];
const listen = (o: Parameters<typeof FakeTarget.listen>[0]) => {
  const t = FakeTarget.listen(o);
  started.push(t);
  return t;
};
afterEach(() => {
  for (const t of started.splice(0)) t.stop();
});

const open = (port: number, extra: Partial<Parameters<typeof Session.open>[0]> = {}) =>
  Session.open({
    portal: { host: "127.0.0.1", port },
    login: {
      initiatorName: "iqn.2026-11.dev.iscsi:test",
      targetName: "iqn.2026-11.test:fake",
      sessionType: "Normal",
      auth: { method: "None" },
    },
    ...extra,
  });

test("a temporary redirect is followed to the new portal", async () => {
  const real = listen({});
  const front = listen({ redirect: { address: () => `127.0.0.1:${real.port},1` } });
  const s = await open(front.port);
  expect(s.portal.port).toBe(real.port);
  expect(real.connections.length).toBe(1);
  await s.logout();
});

test("a redirect loop stops after the hop limit with an error naming it", async () => {
  let self = 0;
  const loop = listen({ redirect: { address: () => `127.0.0.1:${self}` } });
  self = loop.port;
  const err = await open(loop.port, { maxRedirects: 3 }).then(
    () => undefined,
    (e: unknown) => e as Error & { code: string },
  );
  expect(err?.code).toBe("LOGIN");
  expect(err?.message).toMatch(/redirected more than 3 times/);
  expect(loop.connections.length).toBe(4);
});

test("a target that never answers the login hits the login timeout", async () => {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  try {
    const started = performance.now();
    const err = await open(server.port, { loginTimeoutMs: 300 }).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(err?.code).toBe("TIMEOUT");
    expect(performance.now() - started).toBeLessThan(3000);
  } finally {
    server.stop(true);
  }
});

test("a closed port is a TRANSPORT error naming the portal", async () => {
  const port = freePort();
  const err = await open(port).then(
    () => undefined,
    (e: unknown) => e as Error & { code: string },
  );
  expect(err?.code).toBe("TRANSPORT");
  expect(err?.message).toContain(`127.0.0.1:${port}`);
});
