// The daemon's recent log (a bounded buffer in the daemon; secret-looking values masked there), newest last,
// fetched incrementally every two seconds, filterable by level.
import { every, op, showError } from "../api.js";
import { errorBox, field, h, heading, select } from "../dom.js";

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
  let after = 0;
  const apply = () => {
    for (const li of list.children) li.hidden = Number(li.dataset.level) > Number(level.value);
  };
  level.addEventListener("change", apply);
  const tick = async () => {
    try {
      const { entries } = await op("log.recent", { after });
      const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
      for (const e of entries) {
        list.append(
          h("li", { "data-level": e.level, class: `level-${e.type}` },
            h("time", { datetime: e.time }, e.time.slice(11, 23)), " ",
            h("span", { class: "type" }, e.type), " ",
            e.tag ? h("span", { class: "tag" }, `[${e.tag}]`) : "", " ",
            e.message),
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
  main.append(heading("Log"), field("Show", level), box, empty, list);
  return every(2000, tick);
}
