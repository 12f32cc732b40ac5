// The settings of an iSNS discovery record (open-iscsi's discovery.isns.* names where it has them), their
// defaults, and the parser shared by iscsid.conf (defaults for new records) and `-m discoverydb -o update`.
import * as v from "valibot";

const yesNo = v.picklist(["Yes", "No"], "must be Yes or No");
const seconds = (max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, "must be a whole number of seconds"),
    v.transform(Number),
    v.maxValue(max, `must be at most ${max} s`),
  );

export const ISNS_SETTINGS = {
  /** Keep a watch on the server after discovery: stay registered, take SCNs, poll (open-iscsi's name). */
  "discovery.isns.use_discoveryd": { input: yesNo, stored: yesNo, default: "Yes" },
  /** Seconds between fallback queries; 0 relies on SCNs alone (open-iscsi's name and spelling). */
  "discovery.isns.discoveryd_poll_inval": {
    input: seconds(86_400),
    stored: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(86_400)),
    default: 60,
  },
  /** Register for State Change Notifications; No for servers that never send them or send malformed ones. */
  "discovery.isns.use_scn": { input: yesNo, stored: yesNo, default: "Yes" },
  /** Seconds to wait for the server to answer one request. */
  "discovery.isns.timeo.query_timeout": {
    input: v.pipe(seconds(600), v.minValue(1, "must be at least 1 s")),
    stored: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(600)),
    default: 10,
  },
} as const;

export type IsnsSettingName = keyof typeof ISNS_SETTINGS;
export interface IsnsSettings {
  "discovery.isns.use_discoveryd": "Yes" | "No";
  "discovery.isns.discoveryd_poll_inval": number;
  "discovery.isns.use_scn": "Yes" | "No";
  "discovery.isns.timeo.query_timeout": number;
}

export const isIsnsSettingName = (name: string): name is IsnsSettingName => Object.hasOwn(ISNS_SETTINGS, name);

export function defaultIsnsSettings(): IsnsSettings {
  return Object.fromEntries(Object.entries(ISNS_SETTINGS).map(([k, d]) => [k, d.default])) as unknown as IsnsSettings;
}

/** A value as a user types it, checked: the parsed value or what is wrong with it (never echoing it). */
export function parseIsnsSetting(
  name: IsnsSettingName,
  text: string,
): { value: string | number } | { problem: string } {
  const r = v.safeParse(ISNS_SETTINGS[name].input as v.GenericSchema<string, string | number>, text);
  return r.success ? { value: r.output } : { problem: r.issues[0].message };
}

export const storedIsnsSettingsSchema = v.object(
  Object.fromEntries(
    Object.entries(ISNS_SETTINGS).map(([k, d]) => [
      k,
      v.optional(d.stored as v.GenericSchema<unknown, string | number>, d.default),
    ]),
  ) as unknown as Record<IsnsSettingName, v.GenericSchema<unknown, string | number>>,
);
