// Multipath devices on the Attachments page (paths.list): each device with its policy, and each path's
// session, portal, state and command counts, so a user sees which paths carry the disk and which are down.
import { op } from "../api.js";
import { count, h, portalText, table } from "../dom.js";

/** The device's state in plain words. */
const STATE_WORDS = { "full-feature": "working", recovering: "waiting for a path", failed: "no path left" };

function device(d) {
  const wait = d.noPathRetry < 0 ? "forever" : `${d.noPathRetry} s`;
  return h(
    "div",
    { class: "card", "data-key": `mpath ${d.name}` },
    h("h3", {}, `${d.name} — ${d.wwid}`),
    h(
      "p",
      {},
      `${d.target}: ${STATE_WORDS[d.state] ?? d.state}, policy ${d.policy}${d.policy === "failover" ? ` (failback ${d.failback})` : ""}, waits ${wait} with no path; ${count(d.stats.commands)} commands, ${count(d.stats.reissued)} re-issued on another path`,
    ),
    table(
      [
        { label: "Session", cell: (p) => String(p.sid) },
        { label: "Portal", cell: (p) => portalText(p.portal) },
        { label: "LUN", cell: (p) => String(p.lun) },
        {
          label: "State",
          cell: (p) =>
            h(
              "span",
              { class: `state state-${p.state}`, title: p.reason ?? "" },
              `${p.state}${p.active ? " (active)" : ""}`,
            ),
        },
        {
          label: "Commands",
          cell: (p) =>
            `${count(p.counters.commands)} sent, ${count(p.inFlight)} in flight, ${count(p.counters.errors)} errors`,
        },
      ],
      d.paths,
      `Paths of ${d.name}`,
    ),
  );
}

/** The devices as a list of cards; empty when no session is logged in. */
export async function pathsPanel() {
  const { devices } = await op("paths.list");
  if (devices.length === 0) return h("p", {}, "No multipath device: log in to a target with a disk LUN.");
  return h("div", {}, devices.map(device));
}
