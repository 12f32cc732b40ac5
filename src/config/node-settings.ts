// The per-node settings of the node database, named as open-iscsi names them (node.startup,
// node.session.auth.*, node.conn[0].iscsi.*), each with a valibot schema for the text a user types and for
// the stored value, and its default; secrets are named here but only ever live in the secret store.
import * as v from "valibot";

type Def =
  | { kind: "enum"; values: readonly string[]; default: string; doc: string }
  | { kind: "int"; min: number; max: number; default: number; doc: string }
  | { kind: "text"; default: string; doc: string }
  | { kind: "list"; values: readonly string[]; default: string; doc: string };

const DIGESTS = ["None", "CRC32C", "CRC32C,None", "None,CRC32C"] as const;
const YES_NO = ["Yes", "No"] as const;
const LENGTH_MAX = 2 ** 24 - 1; // RFC 7143 §13.12–§13.14

export const NODE_SETTINGS = {
  "node.startup": {
    kind: "enum",
    values: ["automatic", "manual", "onboot"],
    default: "manual",
    doc: "log in when the daemon starts (automatic, onboot) or only on request",
  },
  "node.session.auth.authmethod": { kind: "enum", values: ["None", "CHAP"], default: "None", doc: "None or CHAP" },
  "node.session.auth.username": { kind: "text", default: "", doc: "our CHAP user name" },
  "node.session.auth.username_in": { kind: "text", default: "", doc: "the target's CHAP user name (mutual CHAP)" },
  "node.session.auth.chap_algs": {
    kind: "list",
    values: ["SHA3-256", "SHA256", "SHA1", "MD5"],
    default: "SHA256,SHA3-256,SHA1,MD5",
    doc: "CHAP_A preference",
  },
  "node.conn[0].iscsi.HeaderDigest": {
    kind: "enum",
    values: DIGESTS,
    default: "None,CRC32C",
    doc: "header digest preference",
  },
  "node.conn[0].iscsi.DataDigest": {
    kind: "enum",
    values: DIGESTS,
    default: "None,CRC32C",
    doc: "data digest preference",
  },
  "node.conn[0].iscsi.MaxRecvDataSegmentLength": {
    kind: "int",
    min: 512,
    max: LENGTH_MAX,
    default: 262144,
    doc: "bytes we accept per PDU",
  },
  "node.session.iscsi.InitialR2T": {
    kind: "enum",
    values: YES_NO,
    default: "No",
    doc: "ask for R2T before the first burst",
  },
  "node.session.iscsi.ImmediateData": {
    kind: "enum",
    values: YES_NO,
    default: "Yes",
    doc: "send data with the command",
  },
  "node.session.iscsi.FirstBurstLength": {
    kind: "int",
    min: 512,
    max: LENGTH_MAX,
    default: 262144,
    doc: "unsolicited bytes per command",
  },
  "node.session.iscsi.MaxBurstLength": {
    kind: "int",
    min: 512,
    max: LENGTH_MAX,
    default: 16776192,
    doc: "bytes per sequence",
  },
  "node.session.iscsi.MaxConnections": {
    kind: "int",
    min: 1,
    max: 65535,
    default: 1,
    doc: "TCP connections in the session (MC/S; the target's own maximum wins)",
  },
  "node.conn[0].timeo.login_timeout": {
    kind: "int",
    min: 1,
    max: 3600,
    default: 15,
    doc: "seconds for one login attempt",
  },
  "node.conn[0].timeo.logout_timeout": {
    kind: "int",
    min: 1,
    max: 3600,
    default: 15,
    doc: "seconds to wait for a Logout Response",
  },
  "node.session.initial_login_retry_max": {
    kind: "int",
    min: 0,
    max: 1000,
    default: 4,
    doc: "extra attempts of a requested login",
  },
  "node.session.timeo.replacement_timeout": {
    kind: "int",
    min: -1,
    max: 86400,
    default: 120,
    doc: "seconds I/O waits for a lost session (-1 forever)",
  },
  "node.multipath.policy": {
    kind: "enum",
    values: ["failover", "round-robin", "queue-length", "service-time"],
    default: "failover",
    doc: "how commands spread over the paths of a device",
  },
  "node.multipath.failback": {
    kind: "enum",
    values: ["immediate", "manual"],
    default: "immediate",
    doc: "failover: go back to the first path as soon as it is up again, or stay",
  },
  "node.multipath.no_path_retry": {
    kind: "int",
    min: -2,
    max: 86400,
    default: -2,
    doc: "seconds I/O waits while no path is up (-1 forever, -2 the replacement timeout)",
  },
  "node.multipath.polling_interval": {
    kind: "int",
    min: 1,
    max: 3600,
    default: 5,
    doc: "seconds between TEST UNIT READY path checks",
  },
  "iface.net_ifacename": {
    kind: "text",
    default: "",
    doc: "leave through this network interface (SO_BINDTODEVICE, Linux); empty: any",
  },
  "iface.ipaddress": {
    kind: "text",
    default: "",
    doc: "leave from this local address (bind); empty: the kernel picks",
  },
  "node.session.queue_depth": { kind: "int", min: 1, max: 4096, default: 128, doc: "most commands in flight" },
} as const satisfies Record<string, Def>;

export type SettingName = keyof typeof NODE_SETTINGS;
export type NodeSettings = {
  [K in SettingName]: (typeof NODE_SETTINGS)[K]["default"] extends number ? number : string;
};

/** Secrets of a node (or discovery record) by setting name; values sit in the secret store only. */
export const SECRET_SETTINGS = {
  "node.session.auth.password": "password",
  "node.session.auth.password_in": "password_in",
} as const;
export const DISCOVERY_SECRET_SETTINGS = {
  "discovery.sendtargets.auth.password": "password",
  "discovery.sendtargets.auth.password_in": "password_in",
} as const;
export type SecretName = "password" | "password_in";

/** Identity fields shown by `-o show` but changed only through -o new/delete. */
export const READ_ONLY_SETTINGS = [
  "node.name",
  "node.tpgt",
  "node.conn[0].address",
  "node.conn[0].port",
  "node.discovery_address",
  "node.discovery_port",
  "node.discovery_type",
] as const;

export const SETTING_NAMES = Object.keys(NODE_SETTINGS) as SettingName[];

export function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(NODE_SETTINGS, name);
}

export function defaultSettings(): NodeSettings {
  return Object.fromEntries(SETTING_NAMES.map((n) => [n, NODE_SETTINGS[n].default])) as NodeSettings;
}

/** RFC 7143 §5.1 text values: printable, at most 255 bytes (CHAP user names go on the wire as such). */
const textValue = v.pipe(
  v.string(),
  v.check((s) => new TextEncoder().encode(s).length <= 255, "must be at most 255 bytes"),
  v.regex(/^[^\x00-\x1f\x7f]*$/, "must not contain control characters"),
);

function listSchema(values: readonly string[]) {
  return v.pipe(
    v.string(),
    v.transform((s) => s.split(",").map((x) => x.trim().toUpperCase().replace(/^SHA-/, "SHA"))),
    v.check(
      (xs) => xs.length > 0 && xs.every((x) => values.includes(x)),
      `must be a comma-separated list of ${values.join(", ")}`,
    ),
    v.check((xs) => new Set(xs).size === xs.length, "must not repeat a value"),
    v.transform((xs) => xs.join(",")),
  );
}

/** Schema of the text a user gives for a setting (`-v VALUE`, a config file line): parses to the stored value. */
export function inputSchema(name: SettingName): v.GenericSchema<string, string | number> {
  const def: Def = NODE_SETTINGS[name];
  switch (def.kind) {
    case "enum":
      return v.picklist(def.values as string[], `must be one of ${def.values.join(", ")}`);
    case "int":
      return v.pipe(
        v.string(),
        v.regex(/^-?\d+$/, "must be a whole number"),
        v.transform(Number),
        v.minValue(def.min, `must be at least ${def.min}`),
        v.maxValue(def.max, `must be at most ${def.max}`),
      );
    case "text":
      return textValue;
    case "list":
      return listSchema(def.values);
  }
}

/** Schema of a stored value (the node database's JSON): numbers as numbers, text already normalized. */
export function storedSchema(name: SettingName): v.GenericSchema<unknown, string | number> {
  const def: Def = NODE_SETTINGS[name];
  if (def.kind === "int") return v.pipe(v.number(), v.integer(), v.minValue(def.min), v.maxValue(def.max));
  return v.pipe(v.string(), inputSchema(name));
}

/** Parses `text` for setting `name`; returns the value or the problem in words (never echoing the text). */
export function parseSetting(name: SettingName, text: string): { value: string | number } | { problem: string } {
  const r = v.safeParse(inputSchema(name), text);
  return r.success ? { value: r.output } : { problem: r.issues[0].message };
}

/** Stored settings of one record: every known name, with defaults for the ones a record lacks. */
export const storedSettingsSchema = v.pipe(
  v.record(v.string(), v.unknown()),
  v.transform((raw) => {
    const out: Record<string, unknown> = { ...defaultSettings() };
    for (const n of SETTING_NAMES) if (raw[n] !== undefined) out[n] = raw[n];
    return out;
  }),
  v.object(
    Object.fromEntries(SETTING_NAMES.map((n) => [n, storedSchema(n)])) as Record<
      SettingName,
      v.GenericSchema<unknown, string | number>
    >,
  ),
  v.transform((o) => o as NodeSettings),
);
