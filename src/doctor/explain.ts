// Login and connection failures in plain words with what to do (RFC 7143 §11.13.5 status classes and the
// engine's typed errors), as a NAS owner would need them: CHAP mismatch, ACL/initiator name, unreachable portal.
import { errorCodeOf, type ErrorCode } from "../contract/errors.ts";
import { ChapAlgorithmRejected, LoginRejected } from "../login/login.ts";

export interface Explanation {
  summary: string;
  fix: string;
  code: ErrorCode;
}

export interface LoginContext {
  /** "the login to IQN" or "the discovery login". */
  what: string;
  portal: string;
  target?: string;
  initiatorName: string;
  /** What we offered: None, or CHAP (with mutual CHAP when `mutual`). */
  auth: "None" | "CHAP";
  mutual: boolean;
  /** What the CHAP probe learned: does the target do CHAP here at all (undefined: not known). */
  targetUsesChap?: boolean;
  /** How to store credentials for this login (node or discovery record). */
  storeCredentials: string;
}

const errnoOf = (err: unknown): string | undefined => {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === "string" ? cause.code : undefined;
};

/** A failed TCP connect, by what the system said. */
export function explainConnect(err: unknown, portal: string, host: string, port: number): Explanation {
  const message = (err as Error).message;
  switch (errnoOf(err)) {
    case "ECONNREFUSED":
      return {
        summary: `${portal} is unreachable: the host answered, but nothing listens on port ${port} (connection refused)`,
        fix: `check that the iSCSI service is enabled on the target and that the port is right (iSCSI's is 3260); a firewall may also refuse it`,
        code: "TRANSPORT",
      };
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return {
        summary: `${portal} is unreachable: the name ${host} does not resolve`,
        fix: "check the spelling, or use the target's IP address",
        code: "TRANSPORT",
      };
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return {
        summary: `${portal} is unreachable: no route to ${host}`,
        fix: "check the address and this machine's network (same subnet or VLAN as the target?)",
        code: "TRANSPORT",
      };
  }
  if (/timed out/.test(message)) {
    return {
      summary: `${portal} is unreachable: no answer to the TCP connect (${message})`,
      fix: "the host is down, the address is wrong, or a firewall drops iSCSI traffic (TCP port " + port + ")",
      code: "TIMEOUT",
    };
  }
  return {
    summary: `${portal} is unreachable: ${message}`,
    fix: "check the address, the port and the network path to the target",
    code: errorCodeOf(err) === "GENERIC" ? "TRANSPORT" : errorCodeOf(err),
  };
}

function authFailure(c: LoginContext): Explanation {
  if (c.auth === "None") {
    return {
      summary: `the target requires authentication (CHAP) for ${c.what}, and we have no CHAP credentials for it`,
      fix: `ask the target's owner for the CHAP user and secret; ${c.storeCredentials}`,
      code: "AUTH_FAILED",
    };
  }
  if (c.targetUsesChap === false) {
    return {
      summary: `we offered CHAP for ${c.what}, but the target does not use CHAP here (it refused AuthMethod=CHAP)`,
      fix: "set the authmethod of this record back to None, or enable CHAP for this target on the target",
      code: "AUTH_FAILED",
    };
  }
  return {
    summary: `the target refused our CHAP response for ${c.what}: the CHAP user name or secret does not match what the target expects`,
    fix: `compare the user name and secret with the target's CHAP settings for ${c.initiatorName}; ${c.storeCredentials}`,
    code: "AUTH_FAILED",
  };
}

/** A failed login (discovery or normal session). */
export function explainLogin(err: unknown, c: LoginContext): Explanation {
  const message = (err as Error).message;
  if (err instanceof ChapAlgorithmRejected) {
    return {
      summary: `the target refused every CHAP algorithm we offered for ${c.what} (${message})`,
      fix: "see the CHAP algorithms finding for the ones it accepts and list one of them in node.session.auth.chap_algs",
      code: "AUTH_FAILED",
    };
  }
  if (err instanceof LoginRejected) {
    if (err.statusClass === 3) {
      return {
        summary: `the target cannot log us in right now: ${message}`,
        fix: "retry later; if it persists, check the target's load and logs",
        code: "LOGIN",
      };
    }
    switch (err.statusDetail) {
      case 0x01:
        return authFailure(c);
      case 0x02:
        return {
          summary: `the target refused our initiator name ${c.initiatorName} for ${c.what} (authorization failure: not in its ACL)`,
          fix: `add ${c.initiatorName} to the allowed initiators (ACL) of ${c.target ?? "the target"} on the target, or log in with a name it allows (\`iscsi initiator-name --set\`)`,
          code: "AUTH_FAILED",
        };
      case 0x03:
        return {
          summary: `the target says ${c.target ?? "the target"} does not exist at ${c.portal}, or hides it from initiator ${c.initiatorName} (many targets answer "not found" when their ACL does not allow the initiator's name or address)`,
          fix: `check the name with \`iscsi discover ${c.portal}\`, and that the target's ACL allows ${c.initiatorName} and this machine's address`,
          code: "LOGIN_FATAL",
        };
      case 0x04:
        return {
          summary: `${c.target ?? "the target"} was removed from ${c.portal}`,
          fix: "ask the target's owner; rediscover with `iscsi discover`",
          code: "LOGIN_FATAL",
        };
      case 0x06:
        return {
          summary: `the target refused another connection (too many connections)`,
          fix: "another initiator, or a stale session of ours, holds it: log out elsewhere or raise the target's limit",
          code: "LOGIN_FATAL",
        };
    }
    return {
      summary: `the target refused ${c.what}: ${message}`,
      fix: "check the target's logs for why it refused this initiator",
      code: errorCodeOf(err),
    };
  }
  const code = errorCodeOf(err);
  switch (code) {
    case "AUTH_FAILED":
      if (c.mutual) {
        return {
          summary: `mutual CHAP failed for ${c.what}: the target did not prove it knows its secret (${message})`,
          fix: "check username_in and password_in against the target's own (outgoing) CHAP account; the two secrets must differ",
          code,
        };
      }
      return { summary: `authentication failed for ${c.what}: ${message}`, fix: c.storeCredentials, code };
    case "TIMEOUT":
    case "PDU_TIMEOUT":
      return {
        summary: `the target accepted TCP but did not finish ${c.what} in time (${message})`,
        fix: "the target may be overloaded, or what listens on this port is not an iSCSI target",
        code,
      };
    case "TRANSPORT":
      return {
        summary: `the target closed the connection during ${c.what} (${message})`,
        fix: "targets do this when an ACL by IP address or network does not allow this machine, or when the port is not iSCSI",
        code,
      };
    case "PROTOCOL":
      return {
        summary: `the target broke the iSCSI protocol during ${c.what}: ${message}`,
        fix: "run with --debug and report the output with the target's make and firmware",
        code,
      };
    case "CONFIG":
      return {
        summary: `our stored settings cannot be used for ${c.what}: ${message}`,
        fix: "fix the record (`iscsi -m node -o show`, `-o update`)",
        code,
      };
  }
  return {
    summary: `${c.what} failed: ${message}`,
    fix: "run with --debug for the full exchange",
    code: code === "GENERIC" ? "LOGIN" : code,
  };
}
