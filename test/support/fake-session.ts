// The one way protocol-only tests open a session on the scripted fake target: the fake's endpoint (an in-memory
// pipe unless the test needs TCP), a test login, recovery off unless the test turns it on.
import type { LoginParams } from "../../src/login/login.ts";
import { Session, type SessionOptions } from "../../src/session/session.ts";
import type { FakeTarget } from "../fake/target.ts";

export const FAKE_LOGIN = {
  initiatorName: "iqn.2026-11.dev.iscsi:test",
  targetName: "iqn.2026-11.test:fake",
  sessionType: "Normal",
  auth: { method: "None" },
} as const satisfies Partial<LoginParams>;

type Extra = Omit<Partial<SessionOptions>, "login"> & { login?: Partial<SessionOptions["login"]> };

/** Log in to `target`; `extra` overrides the test login, the recovery options and the rest. */
export function openFakeSession(target: FakeTarget, extra: Extra = {}): Promise<Session> {
  const { login, recovery, ...rest } = extra;
  return Session.open({ ...target.endpoint, ...rest, login: { ...FAKE_LOGIN, ...login }, recovery: { enabled: false, ...recovery } });
}
