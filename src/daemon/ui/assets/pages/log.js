// The daemon's recent log (a bounded buffer in the daemon; secret-looking values masked there), newest last,
// fetched incrementally every two seconds, filterable by level and by disk.
import { every, op, showError } from "../api.js";
import { listAttachments } from "../nas.js";
import { errorBox, field, h, heading, select, shortName } from "../dom.js";

const KEEP = 500;
const LEVELS = [
  { value: "3", label: "Everything (info and above)" },
  { value: "1", label: "Warnings and errors" },
  { value: "0", label: "Errors only" },
];

export function mount(main) {
  const box = errorBox();
  const level = select(LEVELS, "3");
  const list = h("ol", { class: "log", "aria-label": "Log entries, newest last" });
  const empty = h("p", {}, "Nothing logged yet.");
  const disk = select([{ value: "", label: "Every disk" }], "");
  let disks = [];
  let after = 0;
  // An entry is about a disk when its tag names the disk's session (s<sid>) or its text names the disk's target or device.
  const about = (li, a) =>
    li.dataset.tag.split(":")[0] === `s${a.sid}` ||
    li.dataset.text.includes(a.target) ||
    (a.device !== undefined && li.dataset.text.includes(a.device));
  const apply = () => {
    const a = disks.find((x) => String(x.id) === disk.value);
    for (const li of list.children)
      li.hidden = Number(li.dataset.level) > Number(level.value) || (a !== undefined && !about(li, a));
  };
  level.addEventListener("change", apply);
  disk.addEventListener("change", apply);
  const refreshDisks = async () => {
    disks = await listAttachments().catch(() => []);
    const chosen = disk.value;
    disk.replaceChildren(
      h("option", { value: "" }, "Every disk"),
      ...disks.map((a) =>
        h(
          "option",
          { value: String(a.id), selected: String(a.id) === chosen },
          `${shortName(a.target)} (${a.device ?? a.file})`,
        ),
      ),
    );
  };
  const tick = async () => {
    try {
      await refreshDisks();
      const { entries } = await op("log.recent", { after });
      const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
      for (const e of entries) {
        list.append(
          h(
            "li",
            { "data-level": e.level, "data-tag": e.tag, "data-text": e.message, class: `level-${e.type}` },
            h("time", { datetime: e.time }, e.time.slice(11, 23)),
            " ",
            h("span", { class: "type" }, e.type),
            " ",
            e.tag ? h("span", { class: "tag" }, `[${e.tag}]`) : "",
            " ",
            e.message,
          ),
        );
        after = e.seq;
      }
      while (list.children.length > KEEP) list.firstElementChild.remove();
      empty.hidden = list.children.length > 0;
      apply();
      if (atEnd) list.scrollTop = list.scrollHeight;
      showError(box, undefined);
    } catch (err) {
      showError(box, err);
    }
  };
  main.append(
    heading("Log"),
    h("div", { class: "filters" }, field("Show", level), field("Disk", disk)),
    box,
    empty,
    list,
  );
  return every(2000, tick);
}
