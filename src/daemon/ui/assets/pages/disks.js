// The home page: each attached disk as the main object — its state in words, device, mount point, free space
// and throughput, a safe Eject (unmount, detach, log out, in that order) and what to do when something is
// wrong as buttons. With nothing attached yet it opens the first-run path ("Add your NAS").
import { busy, every, op, showError } from "../api.js";
import { eject, listAttachments, stateWords } from "../nas.js";
import { addNas } from "./add.js";
import {
  bytes,
  clock,
  errorBox,
  facts,
  h,
  heading,
  nameText,
  portalText,
  rate,
  rerender,
  shortName,
  toast,
  when,
} from "../dom.js";

/** Throughput between two samples of an attachment's counters. */
function throughput(prev, cur, seconds) {
  if (!prev || seconds <= 0) return undefined;
  return {
    read: Math.max(0, cur.bytesRead - prev.bytesRead) / seconds,
    write: Math.max(0, cur.bytesWritten - prev.bytesWritten) / seconds,
  };
}

/**
 * "paths 2 of 2 up" when the disk's logical unit is reached over more than one path (paths.list of a daemon with
 * multipath; an older daemon answers "unknown op" and the disk shows no paths), or when a path is down.
 */
function pathWords(a, devices) {
  const d = devices.find((x) => x.target === a.target && x.paths.some((p) => p.lun === a.lun));
  if (!d) return undefined;
  const up = d.paths.filter((p) => p.state === "up").length;
  return d.paths.length > 1 || up < d.paths.length ? `paths ${up} of ${d.paths.length} up` : undefined;
}

/** Damaged state files the daemon set aside, with what to do: shown until they are dealt with. */
function setAside(files) {
  if (!files?.length) return [];
  return [
    h(
      "div",
      { class: "notice", role: "note" },
      h(
        "p",
        {},
        `${files.length === 1 ? "A damaged settings file was" : `${files.length} damaged settings files were`} set aside and not used: `,
        files.map((f) => f.original ?? f.path).join(", "),
        ".",
      ),
      h(
        "p",
        {},
        "Nothing was overwritten. Repair the file and rename it back, or delete it and add the NAS again; `iscsi doctor` names each one.",
      ),
    ),
  ];
}

/** One disk's card, built once and updated in place so that focus and an open details panel survive refreshes. */
function card(a0, reload) {
  const name = shortName(a0.target);
  const state = h("span", { class: "state" });
  const about = h("div");
  const details = h("div");
  const box = errorBox();
  const fixes = h("div", { class: "actions fixes" });
  const ejectButton = h(
    "button",
    { type: "button", class: "primary", "aria-label": `Eject ${name}`, "data-key": `eject ${a0.id}` },
    "Eject",
  );
  const ejectNow = (force) => async () => {
    await eject(a0, force);
    toast(`${name} was ejected: it is safe to switch the NAS off`);
    reload();
  };
  const anyway = h(
    "button",
    { type: "button", class: "danger", "aria-label": `Eject ${name} anyway`, "data-key": `eject-anyway ${a0.id}` },
    "Eject anyway",
  );
  anyway.addEventListener("click", () => busy(anyway, box, ejectNow(true)));
  ejectButton.addEventListener("click", async () => {
    const done = await busy(ejectButton, box, ejectNow(false));
    // What to do when the orderly eject fails (a program still uses the disk, or the NAS is gone): offer the forced one.
    fixes.replaceChildren(
      ...(done ? [] : [h("span", {}, "Close the programs that use the disk and try again, or: "), anyway]),
    );
  });
  const reconnect = h("button", { type: "button", "data-key": `reconnect ${a0.id}` }, "Reconnect now");
  reconnect.addEventListener("click", () =>
    busy(reconnect, box, () => op("login", { target: a0.target }).then(() => toast(`Reconnecting ${name}…`))),
  );
  const el = h(
    "section",
    { class: "card disk", "aria-labelledby": `disk-${a0.id}`, "data-disk": a0.id },
    h("h2", { id: `disk-${a0.id}` }, name, a0.lun > 1 ? ` (disk ${a0.lun})` : "", " ", state),
    about,
    h("div", { class: "actions" }, ejectButton),
    fixes,
    box,
    h("details", {}, h("summary", {}, "Details"), details),
  );
  let prev;
  return {
    el,
    update(a, session, now, devices) {
      const s = stateWords(session, clock);
      const paths = pathWords(a, devices);
      state.textContent = paths ? `${s.words}, ${paths}` : s.words;
      state.className = `state tone-${s.tone}`;
      const t = throughput(prev?.stats, a.stats, prev ? (now - prev.t) / 1000 : 0);
      prev = { t: now, stats: a.stats };
      rerender(
        about,
        facts([
          ["Device", a.device ?? a.file],
          ["Mounted at", a.mountPoint ?? "not mounted"],
          a.fs && ["Free space", `${bytes(a.fs.freeBytes)} free of ${bytes(a.fs.sizeBytes)}`],
          ["Size", `${bytes(a.sizeBytes)}${a.readOnly ? ", read-only" : ""}`],
          ["Activity", t ? `reading ${rate(t.read)}, writing ${rate(t.write)}` : "—"],
          a.stats.errors > 0 && ["Errors", `${a.stats.errors} failed requests since it was connected`],
        ]),
      );
      if (s.tone === "bad" && !fixes.contains(reconnect))
        fixes.replaceChildren(h("span", {}, "The connection to the NAS is lost. "), reconnect);
      else if (s.tone !== "bad" && fixes.contains(reconnect)) fixes.replaceChildren();
      rerender(
        details,
        facts([
          ["Target", nameText(a.target)],
          ["Address", portalText(a.portal)],
          ["LUN", String(a.lun)],
          ["Session", String(a.sid)],
          ["Route", a.route ?? a.backend],
          a.export?.url && ["Export", nameText(a.export.url)],
          a.nfs && [
            "NFS requests",
            `${a.nfs.reads} reads, ${a.nfs.writes} writes, ${a.nfs.commits} commits, ${a.nfs.jukebox} "try again later" answers while reconnecting`,
          ],
          ["Backing file", nameText(a.file)],
          ["Connected since", when(a.since)],
          [
            "Requests",
            `${a.stats.reads} reads (${bytes(a.stats.bytesRead)}), ${a.stats.writes} writes (${bytes(a.stats.bytesWritten)}), ${a.stats.flushes} flushes`,
          ],
        ]),
      );
    },
  };
}

export function mount(main) {
  const box = errorBox();
  const warnings = h("div");
  const list = h("div", { class: "disks" });
  const first = h("div");
  const more = h("p", { hidden: true }, h("a", { href: "#/add", class: "button" }, "Add another NAS"));
  const cards = new Map();
  let firstShown = false;
  const tick = async () => {
    try {
      const [attachments, { sessions }, status, devices] = await Promise.all([
        listAttachments(),
        op("sessions.list"),
        op("status"),
        op("paths.list").then(
          (r) => r.devices ?? [],
          () => [],
        ),
      ]);
      rerender(warnings, ...setAside(status.quarantined));
      const now = performance.now();
      for (const [id, c] of cards) {
        if (attachments.some((a) => a.id === id)) continue;
        const hadFocus = c.el.contains(document.activeElement);
        c.el.remove();
        cards.delete(id);
        if (hadFocus) main.querySelector("h1").focus();
      }
      for (const a of attachments) {
        let c = cards.get(a.id);
        if (!c) {
          c = card(a, tick);
          cards.set(a.id, c);
          list.append(c.el);
        }
        c.update(
          a,
          sessions.find((s) => s.sid === a.sid),
          now,
          devices,
        );
      }
      more.hidden = attachments.length === 0;
      if (attachments.length === 0 && !firstShown) {
        firstShown = true;
        first.append(h("p", { class: "lead" }, "No disk is connected yet. Add your NAS to see its disks here."));
        addNas(first);
      }
      if (attachments.length > 0 && firstShown) {
        firstShown = false;
        rerender(first);
      }
      showError(box, undefined);
    } catch (err) {
      showError(box, err);
    }
  };
  main.append(heading("Disks"), box, warnings, list, more, first);
  return every(2000, tick);
}
