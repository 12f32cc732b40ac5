// open-iscsi's iscsiadm command line (`-m discovery|discoverydb|node|session|iface` with its short and long
// options), parsed by hand because citty cannot read `-m node -T …`; main.ts sends such argv here.
import { IscsiError } from "../contract/errors.ts";
import { suggestion } from "./_argv.ts";

export interface AdmArgs {
  mode: string;
  type?: string;
  portal?: string;
  target?: string;
  login: boolean;
  logout: boolean;
  loginAll?: string;
  logoutAll?: string;
  ops: string[];
  name?: string;
  value?: string;
  print?: number;
  sid?: number;
  rescan: boolean;
  iface?: string;
  discover: boolean;
  show: boolean;
  stats: boolean;
  json: boolean;
  stdin: boolean;
  file?: string;
  socket?: string;
  help: boolean;
}

type Key = keyof AdmArgs | "debug" | "version";
interface OptDef {
  key: Key;
  value: boolean;
}

const OPTIONS: Record<string, OptDef> = {};
function opt(short: string | undefined, long: string, key: Key, value: boolean): void {
  if (short) OPTIONS[`-${short}`] = { key, value };
  OPTIONS[`--${long}`] = { key, value };
}
opt("m", "mode", "mode", true);
opt("t", "type", "type", true);
opt("p", "portal", "portal", true);
opt("T", "targetname", "target", true);
opt("l", "login", "login", false);
opt("u", "logout", "logout", false);
opt("L", "loginall", "loginAll", true);
opt("U", "logoutall", "logoutAll", true);
opt("o", "op", "ops", true);
opt("n", "name", "name", true);
opt("v", "value", "value", true);
opt("P", "print", "print", true);
opt("r", "sid", "sid", true);
opt("R", "rescan", "rescan", false);
opt("I", "interface", "iface", true);
opt("D", "discover", "discover", false);
opt("S", "show", "show", false);
opt("s", "stats", "stats", false);
opt("h", "help", "help", false);
opt("d", "debug", "debug", false);
opt(undefined, "json", "json", false);
opt(undefined, "stdin", "stdin", false);
opt(undefined, "file", "file", true);
opt(undefined, "socket", "socket", true);

/** Is this argv in iscsiadm's syntax? (-m/--mode anywhere, or -L/-U given alone.) */
export function isIscsiadmSyntax(argv: string[], commands: string[]): boolean {
  const first = argv.find((a) => a !== "-d" && a !== "--debug");
  if (first !== undefined && commands.includes(first)) return false; // `iscsi attach IQN 1 -m DIR`: -m is --mount there
  return argv.some(
    (a) =>
      a === "-m" ||
      a === "--mode" ||
      a.startsWith("--mode=") ||
      /^-m[a-z]/.test(a) ||
      a === "-L" ||
      a === "-U" ||
      a === "--loginall" ||
      a === "--logoutall",
  );
}

const bad = (message: string) => new IscsiError("INVALID_ARGUMENT", message);

function integer(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw bad(`${what} must be a number from ${min} to ${max}, not ${JSON.stringify(text)}`);
  return Number(text);
}

type Field = keyof AdmArgs;
const COMMON: Field[] = ["mode", "json", "socket", "help", "iface"];

/** Which options each mode uses (iscsiadm's own table); anything else is refused rather than ignored. */
const MODE_OPTIONS: Record<string, Field[]> = {
  discovery: ["type", "portal", "login", "print"],
  discoverydb: ["type", "portal", "ops", "name", "value", "discover", "login", "stdin", "file"],
  node: [
    "target",
    "portal",
    "login",
    "logout",
    "loginAll",
    "logoutAll",
    "ops",
    "name",
    "value",
    "print",
    "rescan",
    "stdin",
    "file",
    "show",
  ],
  session: ["sid", "print", "rescan", "logout", "stats"],
  iface: ["ops", "name", "value"],
};

/** Why an option means nothing in a mode, where a plain "not used" would leave the user guessing. */
const MISPLACED: Record<string, string> = {
  "node:stats": "-s (statistics) works with -m session [-r SID]",
  "discovery:ops": "discovery records are changed with -m discoverydb -t st -p PORTAL -o new|delete|update",
  "session:ops": "-m session -o new (one more session to the same target) is not supported: one session per node",
  "session:target": "-m session takes -r SID, not -T; use -m node -T IQN to act on a target's sessions",
  "session:portal": "-m session takes -r SID, not -p; use -m node -p PORTAL to act on a portal's sessions",
};

const FLAG_OF: Partial<Record<Field, string>> = {};
for (const [flag, def] of Object.entries(OPTIONS))
  if (flag.startsWith("-") && !flag.startsWith("--") && def.key !== "debug" && def.key !== "version")
    FLAG_OF[def.key as Field] = flag;

function checkModeOptions(a: AdmArgs, given: Set<Field>): void {
  const allowed = MODE_OPTIONS[a.mode];
  if (!allowed) return;
  for (const key of given) {
    if (COMMON.includes(key) || allowed.includes(key)) continue;
    const flag = FLAG_OF[key]
      ? `${FLAG_OF[key]} (--${Object.entries(OPTIONS)
          .find(([f, d]) => d.key === key && f.startsWith("--"))![0]
          .slice(2)})`
      : key;
    throw bad(MISPLACED[`${a.mode}:${key}`] ?? `${flag} is not used with -m ${a.mode}`);
  }
  // RFC 7143 over TCP is all we speak: iSER (RDMA) and offload interfaces have no transport here.
  if (a.iface !== undefined && a.iface !== "default" && a.mode !== "iface") {
    throw new IscsiError(
      "NOT_SUPPORTED",
      `-I ${a.iface}: only the "default" interface (iSCSI over TCP) exists; iSER and offload interfaces are not supported`,
    );
  }
}

export function parseAdmArgs(argv: string[]): AdmArgs {
  const given = new Set<Field>();
  const a: AdmArgs = {
    mode: "",
    login: false,
    logout: false,
    ops: [],
    rescan: false,
    discover: false,
    show: false,
    stats: false,
    json: false,
    stdin: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    let name = word;
    let inline: string | undefined;
    if (word.startsWith("--") && word.includes("=")) {
      name = word.slice(0, word.indexOf("="));
      inline = word.slice(word.indexOf("=") + 1);
    } else if (/^-[A-Za-z]./.test(word) && OPTIONS[word.slice(0, 2)]?.value) {
      name = word.slice(0, 2); // -pHOST, as getopt allows
      inline = word.slice(2);
    }
    const def = OPTIONS[name];
    if (!def)
      throw bad(
        word.startsWith("-")
          ? `unknown option ${name}${suggestion(name, Object.keys(OPTIONS)) || " (iscsiadm syntax; see iscsi -m node --help)"}`
          : `unexpected argument ${JSON.stringify(word)}`,
      );
    if (def.key === "debug") {
      if (/^\d$/.test(argv[i + 1] ?? "")) i++; // iscsiadm's -d LEVEL
      continue;
    }
    given.add(def.key as Field);
    let value: string | undefined;
    if (def.value) {
      value = inline ?? argv[++i];
      if (value === undefined) throw bad(`${name} needs a value`);
    }
    switch (def.key) {
      case "ops":
        a.ops.push(value!);
        break;
      case "print":
        a.print = integer(value!, "-P", 0, 3);
        break;
      case "sid":
        a.sid = integer(value!, "-r (session id)", 1, 2 ** 31);
        break;
      default:
        if (def.value) (a as unknown as Record<string, unknown>)[def.key] = value;
        else (a as unknown as Record<string, unknown>)[def.key] = true;
    }
  }
  if (!a.mode && (a.loginAll || a.logoutAll)) a.mode = "node";
  if (!a.mode && !a.help) throw bad("iscsiadm syntax needs a mode: -m discovery|discoverydb|node|session|iface");
  for (const o of a.ops)
    if (!["new", "delete", "update", "show", "nonpersistent"].includes(o))
      throw bad(`-o must be new, delete, update or show, not ${JSON.stringify(o)}`);
  if (given.has("loginAll") || given.has("logoutAll")) given.delete("mode");
  checkModeOptions(a, given);
  return a;
}

export const ADM_USAGE = `iscsiadm syntax (open-iscsi compatible; talks to the daemon):
  iscsi -m discovery -t sendtargets|st -p PORTAL[:PORT] [--login]
  iscsi -m discoverydb [-t st -p PORTAL] [-o new|delete|update|show] [-n NAME -v VALUE] [--discover]
  iscsi -m node [-T IQN] [-p PORTAL] [--login|--logout] [-o new|delete|update|show] [-n NAME -v VALUE]
  iscsi -m node -L all|automatic|manual     iscsi -m node -U all
  iscsi -m session [-P 0..3] [-r SID] [-R]
  iscsi -m iface
Secrets (node.session.auth.password, ..._in) are never taken from -v: add --stdin or --file PATH.
Every listing takes --json. --socket PATH (or $ISCSI_SOCKET) names the daemon's socket.
`;
