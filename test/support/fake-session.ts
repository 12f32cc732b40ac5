// The one way protocol-only tests open a session on the scripted fake target: the fake's endpoint (an in-memory
// pipe unless the test needs TCP), a test login, recovery off unless the test turns it on.
import { afterEach } from "bun:test";
import type { LoginParams } from "../../src/login/login.ts";
import { Session, type SessionOptions } from "../../src/session/session.ts";
import { FakeTarget, type FakeTargetOptions } from "../fake/target.ts";

export const FAKE_LOGIN = {
  initiatorName: "iqn.2026-11.dev.iscsi:test",
  targetName: "iqn.2026-11.test:fake",
  sessionType: "Normal",
  auth: { method: "None" },
} as const satisfies Partial<LoginParams>;

export type Extra = Omit<Partial<SessionOptions>, "login"> & { login?: Partial<SessionOptions["login"]> };

/** Log in to `target`; `extra` overrides the test login, the recovery options and the rest. */
export function openFakeSession(target: FakeTarget, extra: Extra = {}): Promise<Session> {
  const { login, recovery, ...rest } = extra;
  return Session.open({
    ...target.endpoint,
    ...rest,
    login: { ...FAKE_LOGIN, ...login },
    recovery: { enabled: false, ...recovery },
  });
}

/** The target and session of the running test: opened by `open`, closed after each test. */
export interface FakeFixture {
  target: FakeTarget | undefined;
  session: Session | undefined;
  open(opts: FakeTargetOptions, extra?: Extra): Promise<Session>;
}

/** A fixture for a test file; call once at its top level (it registers the afterEach that closes both). */
export function fakeFixture(): FakeFixture {
  const f: FakeFixture = {
    target: undefined,
    session: undefined,
    async open(opts, extra) {
      f.target = FakeTarget.inMemory(opts);
      f.session = await openFakeSession(f.target, extra);
      return f.session;
    },
  };
  afterEach(() => {
    f.session?.close();
    f.target?.stop();
    f.session = f.target = undefined;
  });
  return f;
}
