// Preferences: our initiator name (targets allow initiators by it), the defaults new node records start with
// (node.* keys of the daemon's config file, comments there kept), and where the daemon keeps its state.
import { busy, op, showError } from "../api.js";
import { errorBox, facts, field, h, heading, rerender, select, table, toast, when } from "../dom.js";

function nameForm(current) {
  const input = h("input", { value: current, spellcheck: "false", autocomplete: "off" });
  const save = h("button", { type: "submit", class: "primary" }, "Save initiator name");
  const box = errorBox();
  const onsubmit = (e) => {
    e.preventDefault();
    busy(save, box, async () => {
      const r = await op("initiator-name.set", { name: input.value.trim() });
      input.value = r.initiatorName;
      toast("Initiator name saved; it applies to the next login");
    });
  };
  return h(
    "form",
    { class: "card", onsubmit },
    h("h2", {}, "Initiator name"),
    field(
      "Name",
      input,
      "An iqn. or eui. name; NAS targets usually allow initiators by it, so change it in their ACLs too",
    ),
    h("div", { class: "actions" }, save),
    box,
  );
}

function defaultsCard(config, reload) {
  const names = Object.keys(config.nodeDefaults).filter((k) => !/\.password(_in)?$/.test(k));
  const name = select(names, names[0]);
  const value = h("input", { value: String(config.nodeDefaults[names[0]]), spellcheck: "false" });
  name.addEventListener("change", () => (value.value = String(config.nodeDefaults[name.value])));
  const save = h("button", { type: "submit", class: "primary", "data-key": "save-default" }, "Save default");
  const reset = h("button", { type: "button", "data-key": "reset-default" }, "Back to built-in");
  const box = errorBox();
  const apply = (button, v) =>
    busy(button, box, async () => {
      await op("config.set", { name: name.value, ...(v === undefined ? {} : { value: v }) });
      toast(`Default of ${name.value} saved in ${config.path}`);
      reload(name.value);
    });
  reset.addEventListener("click", () => apply(reset, undefined));
  // Raw node.* keys are for experts: one click away.
  return h(
    "details",
    { class: "card defaults" },
    h("summary", {}, "Defaults for new targets (advanced)"),
    h("p", { class: "hint" }, `Kept in ${config.path}; existing nodes keep their own settings.`),
    table(
      [
        { label: "Setting", cell: ([k]) => k, class: "name" },
        { label: "Default", cell: ([, v]) => String(v) },
        { label: "From", cell: ([k]) => (config.inFile.includes(k) ? "config file" : "built-in") },
      ],
      Object.entries(config.nodeDefaults),
    ),
    h(
      "form",
      { class: "inline", onsubmit: (e) => (e.preventDefault(), apply(save, value.value.trim())) },
      field("Setting", name),
      field("Default value", value),
      h("div", { class: "actions" }, save, reset),
      box,
    ),
  );
}

export function mount(main) {
  const box = errorBox();
  const body = h("div");
  const reload = async (selected) => {
    try {
      const [status, config] = await Promise.all([op("status"), op("config.show")]);
      const wasOpen = body.querySelector("details.defaults")?.open ?? false;
      const defaults = defaultsCard(config, reload);
      defaults.open = wasOpen;
      if (selected) {
        const s = defaults.querySelector("select");
        s.value = selected;
        s.dispatchEvent(new Event("change"));
      }
      rerender(
        body,
        nameForm(status.initiatorName),
        defaults,
        h(
          "section",
          { class: "card" },
          h("h2", {}, "Daemon"),
          facts([
            ["Version", status.version],
            ["Process", String(status.pid)],
            ["Running since", when(status.startedAt)],
            ["State directory", status.stateDir],
            ["Config file", status.configPath],
            [
              "Dashboard",
              `this page, port ${location.port}; the config file says ${config.ui.enabled ? `on, port ${config.ui.port}` : "off"} (iscsid.ui, iscsid.ui.port; --ui-port and --no-ui win)`,
            ],
          ]),
        ),
      );
    } catch (err) {
      showError(box, err);
    }
  };
  main.append(heading("Preferences"), box, body);
  reload();
}
