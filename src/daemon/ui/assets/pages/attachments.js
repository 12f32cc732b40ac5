// Attachments: LUNs of logged-in sessions made local disks (attach.add / attach.remove / attach.list, the
// daemon's attach backends: FUSE + loop on Linux, DiskImages or DriverKit on macOS, or the loopback NFS server),
// with a mount point; NFS attachments show their export URL and what NFS clients asked (COMMITs, JUKEBOX answers).
import { busy, every, op, showError } from "../api.js";
import { pathsPanel } from "./paths.js";
import { bytes, count, errorBox, field, h, heading, portalText, rerender, select, table, toast, when } from "../dom.js";

/** A daemon without the attach ops answers INVALID_REQUEST "unknown op": said so instead of an error. */
const missing = (err) => err?.code === "INVALID_REQUEST" && /unknown op/.test(err.message);

function detachButton(a, box, reload) {
  const button = h(
    "button",
    {
      type: "button",
      "data-key": `detach ${a.id}`,
      "aria-label": `Detach ${a.device ?? a.file}`,
      onclick: () =>
        busy(button, box, async () => {
          const { detached } = await op("attach.remove", { attachment: a.id });
          toast(`Detached ${detached.map((d) => d.device ?? d.file).join(", ")}`);
          reload();
        }),
    },
    "Detach",
  );
  return button;
}

function listing(attachments, box, reload) {
  if (attachments.length === 0) return h("p", {}, "Nothing attached.");
  return table(
    [
      { label: "Device", cell: (a) => a.device ?? a.export?.url ?? a.file, class: "name" },
      { label: "Route", cell: (a) => a.backend },
      { label: "Target", cell: (a) => `${a.target} (LUN ${a.lun})`, class: "name" },
      { label: "State", cell: (a) => h("span", { class: `state state-${a.state}` }, a.state) },
      { label: "Mounted on", cell: (a) => a.mountPoint ?? "—", class: "name" },
      { label: "Size", cell: (a) => `${bytes(a.sizeBytes)}${a.readOnly ? ", read-only" : ""}` },
      {
        label: "I/O",
        cell: (a) =>
          `${count(a.stats.reads)} reads (${bytes(a.stats.bytesRead)}), ${count(a.stats.writes)} writes (${bytes(a.stats.bytesWritten)}), ${count(a.stats.errors)} errors${a.nfs ? `, ${count(a.nfs.commits)} COMMITs, ${count(a.nfs.jukebox)} JUKEBOX` : ""}`,
      },
      { label: "Since", cell: (a) => when(a.since) },
      { label: "Actions", cell: (a) => detachButton(a, box, reload) },
    ],
    attachments,
  );
}

/** Disk LUNs of logged-in sessions that are not attached yet. */
function attachForm(sessions, attachments, reload) {
  const taken = new Set(attachments.map((a) => `${a.target} ${a.lun}`));
  const choices = sessions.flatMap((s) =>
    s.luns
      .filter((l) => l.bytes && !taken.has(`${s.target} ${l.lun}`))
      .map((l) => ({
        value: JSON.stringify({ target: s.target, portal: s.persistentPortal, lun: l.lun }),
        label: `${s.target} at ${portalText(s.persistentPortal)}, LUN ${l.lun}${l.bytes ? ` (${bytes(l.bytes)})` : ""}`,
      })),
  );
  if (choices.length === 0)
    return h(
      "p",
      {},
      "No LUN to attach: log in to a target with a disk LUN that is not attached yet (",
      h("a", { href: "#/nodes" }, "Nodes"),
      ").",
    );
  const lun = select(choices, choices[0].value);
  const mountPoint = h("input", { autocomplete: "off", spellcheck: "false", placeholder: "/mnt/nas" });
  const readOnly = h("input", { type: "checkbox" });
  const submit = h("button", { type: "submit", class: "primary" }, "Attach");
  const box = errorBox();
  const onsubmit = (e) => {
    e.preventDefault();
    busy(submit, box, async () => {
      const pick = JSON.parse(lun.value);
      const a = await op("attach.add", {
        ...pick,
        ...(mountPoint.value.trim() ? { mount: mountPoint.value.trim() } : {}),
        readOnly: readOnly.checked,
      });
      toast(`Attached as ${a.device ?? a.file}${a.mountPoint ? `, mounted on ${a.mountPoint}` : ""}`);
      reload();
    });
  };
  return h(
    "form",
    { class: "card", onsubmit },
    h("h2", {}, "Attach a LUN"),
    field("LUN", lun),
    field("Mount point (optional)", mountPoint, "An empty directory; leave empty to get only the block device"),
    h("div", { class: "check" }, readOnly, h("label", { for: (readOnly.id ||= "attach-ro") }, "Read-only")),
    h("div", { class: "actions" }, submit),
    box,
  );
}

export function mount(main) {
  const box = errorBox();
  const list = h("div");
  const form = h("div");
  const paths = h("div");
  let formFor = "";
  const reload = async () => {
    try {
      const attachments = await op("attach.list");
      rerender(list, listing(attachments, box, reload));
      const { sessions } = await op("sessions.list");
      // Re-render the form only when the LUNs it offers change, and keep what the user typed meanwhile.
      const taken = new Set(attachments.map((a) => `${a.target} ${a.lun}`));
      const key = JSON.stringify(
        sessions.flatMap((s) =>
          s.luns.filter((l) => l.bytes && !taken.has(`${s.target} ${l.lun}`)).map((l) => [s.sid, l.lun, l.bytes]),
        ),
      );
      if (key !== formFor) {
        const typed = form.querySelector("input[placeholder]")?.value ?? "";
        const chosen = form.querySelector("select")?.value;
        rerender(form, attachForm(sessions, attachments, reload));
        const input = form.querySelector("input[placeholder]");
        if (input) input.value = typed;
        const lun = form.querySelector("select");
        if (lun && [...lun.options].some((o) => o.value === chosen)) lun.value = chosen;
      }
      formFor = key;
      rerender(paths, await pathsPanel());
      showError(box, undefined);
    } catch (err) {
      if (!missing(err)) return showError(box, err);
      rerender(
        list,
        h(
          "p",
          { class: "notice" },
          "This daemon cannot attach LUNs yet: it has no attach operations (attach.add, attach.remove, attach.list).",
        ),
      );
      rerender(form);
      stop();
    }
  };
  main.append(heading("Attachments"), box, list, form, h("h2", {}, "Multipath devices"), paths);
  const stop = every(2000, reload);
  return stop;
}
