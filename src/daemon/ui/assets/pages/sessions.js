// Sessions: state, live throughput, IOPS and mean latency (from the session's counters, sampled every second),
// totals, negotiated parameters (RFC 7143 §13), LUNs and reconnect history; logout and LUN rescan; and the
// background logins of automatic nodes still being retried.
import { busy, every, op, showError } from "../api.js";
import { eject, listAttachments, stateWords } from "../nas.js";
import {
  bytes,
  clock,
  count,
  errorBox,
  facts,
  h,
  heading,
  nameText,
  portalText,
  rate,
  rerender,
  shortName,
  table,
  toast,
  when,
} from "../dom.js";

const SPARK_POINTS = 60;
const plural = (n, word) => `${count(n)} ${word}${n === 1 ? "" : "s"}`;
const SVG = "http://www.w3.org/2000/svg";

/** Rates between two samples of a session's counters; undefined figures until there are two. */
function figures(prev, cur, seconds) {
  if (!prev || seconds <= 0) return {};
  const d = (k) => Math.max(0, (cur[k] ?? 0) - (prev[k] ?? 0));
  const done = d("completed");
  return {
    read: d("bytesIn") / seconds,
    write: d("bytesOut") / seconds,
    iops: done / seconds,
    latencyMs: done > 0 ? d("latencyMicros") / done / 1000 : undefined,
  };
}

function sparkline() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${SPARK_POINTS - 1} 30`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "spark");
  svg.setAttribute("role", "img");
  const line = document.createElementNS(SVG, "polyline");
  svg.append(line);
  return {
    svg,
    draw(values) {
      const peak = Math.max(1, ...values);
      line.setAttribute(
        "points",
        values.map((v, i) => `${i + SPARK_POINTS - values.length},${(30 - (v / peak) * 28 - 1).toFixed(1)}`).join(" "),
      );
      svg.setAttribute(
        "aria-label",
        `Throughput over the last ${values.length} s, peak ${rate(Math.max(0, ...values))}`,
      );
    },
  };
}

function figure(label, key) {
  const value = h("span", { class: "value", "data-figure": key }, "—");
  return { el: h("div", { class: "figure" }, h("span", { class: "label" }, label), value), value };
}

const negotiatedTable = (n) =>
  table(
    [
      { label: "Parameter", cell: ([k]) => k, class: "name" },
      { label: "Value", cell: ([, v]) => String(v) },
    ],
    Object.entries(n),
  );

/** The local disk a LUN is attached as ("/dev/loop0 at /mnt/nas"), or how to get one. */
const localDisk = (a) =>
  a
    ? `${a.device ?? a.file}${a.mountPoint ? ` at ${a.mountPoint}` : ""}`
    : h("a", { href: "#/disks" }, "not connected as a disk");

const lunTable = (luns, attached) =>
  luns.length === 0
    ? h("p", {}, "No LUNs reported.")
    : table(
        [
          { label: "LUN", cell: (l) => String(l.lun) },
          { label: "Type", cell: (l) => l.deviceType },
          { label: "Local disk", cell: (l) => (l.bytes ? localDisk(attached.find((a) => a.lun === l.lun)) : "—") },
          { label: "Model", cell: (l) => `${l.vendor} ${l.product} ${l.revision}`.trim() || "—" },
          {
            label: "Size",
            cell: (l) => (l.bytes ? `${bytes(l.bytes)} (${l.blockSize} B blocks)` : (l.error ?? "—")),
            class: "name",
          },
        ],
        luns,
      );

const historyList = (events) =>
  events.length === 0
    ? h("p", {}, "No reconnects since login.")
    : h(
        "ol",
        { class: "history" },
        events.map((e) => h("li", {}, h("time", { datetime: e.at }, when(e.at)), ` ${e.event}: ${e.detail}`)),
      );

/** One session's card, built once and updated in place, so focus and open sections survive each refresh. */
function card(s0, onGone) {
  const state = h("span", { class: "state" });
  const info = h("div");
  const figs = [figure("Read", "read"), figure("Write", "write"), figure("IOPS", "iops"), figure("Latency", "latency")];
  const spark = sparkline();
  const totals = h("p", { class: "totals" });
  const negotiated = h("div");
  const technical = h("div");
  const luns = h("div");
  const history = h("div");
  const box = errorBox();
  const fixes = h("div", { class: "actions fixes" });
  const logOut = async () => {
    const { results } = await op("logout", { sid: s0.sid });
    if (!results[0].ok) throw Object.assign(new Error(results[0].error.message), { code: results[0].error.code });
    toast(`Logged out of ${shortName(s0.target)}`);
    onGone();
  };
  // A connection with disks in use cannot be closed: offer the safe way (eject its disks, then log out) as a button.
  const ejectAll = h(
    "button",
    { type: "button", class: "primary", "data-key": `eject-all ${s0.sid}` },
    "Eject its disks and log out",
  );
  ejectAll.addEventListener("click", () =>
    busy(ejectAll, box, async () => {
      for (const a of (await listAttachments()).filter((x) => x.sid === s0.sid)) await eject(a);
      fixes.replaceChildren();
      toast(`Ejected the disks of ${shortName(s0.target)} and logged out`);
      onGone();
    }),
  );
  const logout = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        const done = await busy(logout, box, logOut);
        fixes.replaceChildren(...(done || box.dataset.code !== "BUSY" ? [] : [ejectAll]));
      },
    },
    "Log out",
  );
  const rescan = h(
    "button",
    {
      type: "button",
      onclick: () =>
        busy(rescan, box, () => op("sessions.rescan", { sid: s0.sid }).then(() => toast("LUNs rescanned"))),
    },
    "Rescan LUNs",
  );
  const headingId = `session-${s0.sid}`;
  const el = h(
    "section",
    { class: "card session", "aria-labelledby": headingId, "data-sid": s0.sid },
    h("h2", { id: headingId }, `${shortName(s0.target)} `, state),
    h("p", { class: "muted" }, nameText(s0.target), ` · session ${s0.sid}`),
    info,
    h(
      "div",
      { class: "figures" },
      figs.map((f) => f.el),
    ),
    h("figure", { class: "trend" }, spark.svg, h("figcaption", {}, "Read + write throughput, last minute")),
    totals,
    h("div", { class: "actions" }, rescan, logout),
    box,
    fixes,
    h("details", {}, h("summary", {}, "Technical details"), technical, negotiated),
    h("details", { open: true }, h("summary", {}, "LUNs"), luns),
    h("details", { open: true }, h("summary", {}, "Reconnect history"), history),
  );
  let prev;
  let last = {};
  const through = [];
  const changed = (k, v) => {
    const text = JSON.stringify(v);
    if (last[k] === text) return false;
    last[k] = text;
    return true;
  };
  return {
    el,
    update(s, now, attached) {
      const words = stateWords(s, clock);
      state.textContent = words.words;
      state.className = `state tone-${words.tone}`;
      const f = figures(prev?.stats, s.stats, prev ? (now - prev.t) / 1000 : 0);
      prev = { t: now, stats: s.stats };
      figs[0].value.textContent = f.read === undefined ? "—" : rate(f.read);
      figs[1].value.textContent = f.write === undefined ? "—" : rate(f.write);
      figs[2].value.textContent = f.iops === undefined ? "—" : count(f.iops);
      figs[3].value.textContent =
        f.latencyMs === undefined ? "—" : `${f.latencyMs.toFixed(f.latencyMs < 10 ? 2 : 1)} ms`;
      if (f.read !== undefined) {
        through.push(f.read + f.write);
        if (through.length > SPARK_POINTS) through.shift();
        spark.draw(through);
      }
      totals.replaceChildren(
        h("span", { "data-total": "commands" }, plural(s.stats.commands ?? 0, "command")),
        ` · ${bytes(s.stats.bytesIn ?? 0)} read · ${bytes(s.stats.bytesOut ?? 0)} written · ${plural(s.stats.reinstatements ?? 0, "reconnect")}`,
      );
      const links = Array.isArray(s.connections) ? s.connections.length : 1;
      const where = [
        ["Address", portalText(s.portal)],
        ["Connected since", when(s.since)],
        links > 1 && ["Connections", `${links} TCP connections share this session`],
        s.error && ["Last error", s.error],
      ];
      if (changed("info", where)) rerender(info, facts(where));
      const tech = [
        ["State (RFC 7143)", s.state],
        ["ISID / TSIH", `${s.isid} / ${s.tsih}`],
        ["Target portal group tag", String(s.tpgt)],
        ["Interface", s.iface],
      ];
      if (changed("technical", tech)) rerender(technical, facts(tech));
      if (changed("negotiated", s.negotiated)) rerender(negotiated, negotiatedTable(s.negotiated));
      const mine = attached.filter((a) => a.sid === s.sid);
      if (changed("luns", [s.luns, mine.map((a) => [a.lun, a.device, a.mountPoint])]))
        rerender(luns, lunTable(s.luns, mine));
      if (changed("history", s.history)) rerender(history, historyList(s.history));
    },
  };
}

/** Background logins of automatic nodes that have not succeeded yet (the daemon keeps retrying them). */
const pendingTable = (pending) =>
  pending.length === 0
    ? []
    : [
        h("h2", {}, "Waiting to log in"),
        table(
          [
            { label: "Node", cell: (p) => p.label, class: "name" },
            { label: "State", cell: (p) => p.state },
            { label: "Attempts", cell: (p) => String(p.attempts) },
            { label: "Next attempt", cell: (p) => when(p.nextAttemptAt) },
            { label: "Last error", cell: (p) => (p.lastError ? p.lastError.message : "—"), class: "name" },
          ],
          pending,
        ),
      ];

export function mount(main) {
  const box = errorBox();
  const pending = h("section", { class: "card", hidden: true });
  const list = h("div", { class: "sessions" });
  const empty = h("p", { hidden: true }, "No sessions. Log in from ", h("a", { href: "#/nodes" }, "Nodes"), ".");
  const cards = new Map();
  const tick = async () => {
    try {
      const [{ sessions }, status, attached] = await Promise.all([
        op("sessions.list"),
        op("status"),
        listAttachments().catch(() => []),
      ]);
      const now = performance.now();
      pending.hidden = status.startup.length === 0;
      rerender(pending, ...pendingTable(status.startup));
      for (const [sid, c] of cards) {
        if (sessions.some((s) => s.sid === sid)) continue;
        const hadFocus = c.el.contains(document.activeElement);
        c.el.remove();
        cards.delete(sid);
        if (hadFocus) main.querySelector("h1").focus();
      }
      for (const s of sessions) {
        let c = cards.get(s.sid);
        if (!c) {
          c = card(s, tick);
          cards.set(s.sid, c);
          list.append(c.el);
        }
        c.update(s, now, attached);
      }
      empty.hidden = sessions.length > 0;
      showError(box, undefined);
    } catch (err) {
      showError(box, err);
    }
  };
  main.append(heading("Sessions"), box, pending, empty, list);
  return every(1000, tick);
}
