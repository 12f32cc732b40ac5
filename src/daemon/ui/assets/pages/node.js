// One node: where it is, its session, start-up mode, CHAP (secrets write-only: a field to set one, never shown
// back, only "stored"), every setting with a form to change one, and deleting the record.
import { busy, op, showError } from "../api.js";
import {
  errorBox,
  facts,
  field,
  h,
  heading,
  nameText,
  portalText,
  rerender,
  select,
  shortName,
  table,
  toast,
} from "../dom.js";
import { loginOrOut, nodeFilter } from "./nodes.js";

const AUTH = "node.session.auth.";
const SECRET_HINT = (stored) =>
  (stored ? "A secret is stored. Type a new one to replace it" : "No secret stored") +
  "; 12 to 255 bytes, never shown again";

function authForm(n, reload) {
  const method = select(["None", "CHAP"], n.settings[`${AUTH}authmethod`]);
  const user = h("input", { value: n.settings[`${AUTH}username`], autocomplete: "off", spellcheck: "false" });
  const secret = h("input", { type: "password", autocomplete: "new-password" });
  const userIn = h("input", { value: n.settings[`${AUTH}username_in`], autocomplete: "off", spellcheck: "false" });
  const secretIn = h("input", { type: "password", autocomplete: "new-password" });
  const save = h("button", { type: "submit", class: "primary", "data-key": "save-auth" }, "Save authentication");
  const box = errorBox();
  const clearButton = (name, label) =>
    n.secrets[name] &&
    h(
      "button",
      {
        type: "button",
        onclick: (e) =>
          busy(e.currentTarget, box, async () => {
            await op("secret.clear", { scope: "node", ...nodeFilter(n), name });
            // The page is rebuilt first, so the notice appears once its buttons are the ones that stay.
            await reload();
            toast(`${label} cleared`);
          }),
      },
      `Clear ${label.toLowerCase()}`,
    );
  const submit = (e) => {
    e.preventDefault();
    busy(save, box, async () => {
      const f = nodeFilter(n);
      await op("node.update", { ...f, name: `${AUTH}authmethod`, value: method.value });
      await op("node.update", { ...f, name: `${AUTH}username`, value: user.value.trim() });
      await op("node.update", { ...f, name: `${AUTH}username_in`, value: userIn.value.trim() });
      if (secret.value) await op("secret.set", { scope: "node", ...f, name: "password", value: secret.value });
      if (secretIn.value) await op("secret.set", { scope: "node", ...f, name: "password_in", value: secretIn.value });
      secret.value = secretIn.value = "";
      await reload();
      toast("Authentication saved");
    });
  };
  return h(
    "form",
    { class: "card", onsubmit: submit },
    h("h2", {}, "Authentication"),
    field("Method", method),
    field("CHAP user name", user),
    field("CHAP secret", secret, SECRET_HINT(n.secrets.password)),
    h(
      "fieldset",
      {},
      h("legend", {}, "Mutual CHAP (the target proves itself)"),
      field("Target's user name", userIn),
      field("Target's secret", secretIn, SECRET_HINT(n.secrets.password_in)),
    ),
    h(
      "div",
      { class: "actions" },
      save,
      clearButton("password", "Secret"),
      clearButton("password_in", "Target's secret"),
    ),
    box,
  );
}

function settingsForm(n, reload) {
  const names = Object.keys(n.settings).filter((k) => !k.startsWith(AUTH) && k !== "node.startup");
  const name = select(names, names[0]);
  const value = h("input", { value: String(n.settings[names[0]]), spellcheck: "false" });
  name.addEventListener("change", () => (value.value = String(n.settings[name.value])));
  const save = h("button", { type: "submit", "data-key": "change-setting" }, "Change setting");
  const box = errorBox();
  const submit = (e) => {
    e.preventDefault();
    busy(save, box, async () => {
      await op("node.update", { ...nodeFilter(n), name: name.value, value: value.value.trim() });
      await reload();
      toast(`${name.value} changed`);
    });
  };
  // Every raw setting (node.session.*, node.conn[0].*) is for experts: one click away, never first.
  return h(
    "details",
    { class: "card" },
    h("summary", {}, "Advanced settings"),
    table(
      [
        { label: "Setting", cell: ([k]) => k, class: "name" },
        { label: "Value", cell: ([, v]) => String(v) },
        { label: "Changed by you", cell: ([k]) => (n.userSet.includes(k) ? "yes" : "") },
      ],
      Object.entries(n.settings),
    ),
    h(
      "form",
      { class: "inline", onsubmit: submit },
      field("Setting", name),
      field("New value", value),
      h("div", { class: "actions" }, save),
      box,
    ),
  );
}

function overview(n, reload, leave) {
  const box = errorBox();
  const startup = select(["manual", "automatic", "onboot"], n.startup);
  startup.addEventListener("change", () =>
    op("node.update", { ...nodeFilter(n), name: "node.startup", value: startup.value }).then(
      () => toast(`Start-up is now ${startup.value}`),
      (err) => showError(box, err),
    ),
  );
  const login = h(
    "button",
    {
      type: "button",
      class: "primary",
      "data-key": "login",
      onclick: () => busy(login, box, () => loginOrOut(n)).then((ok) => ok && reload()),
    },
    n.sid === undefined ? "Log in" : "Log out",
  );
  const remove = h(
    "button",
    {
      type: "button",
      class: "danger",
      onclick: () => {
        if (!confirm(`Delete the node record of ${n.target}? Its settings and stored secrets go too.`)) return;
        busy(remove, box, async () => {
          await op("node.delete", nodeFilter(n));
          toast("Node deleted");
          leave();
        });
      },
    },
    "Delete node",
  );
  return h(
    "section",
    { class: "card" },
    facts([
      ["Address", portalText(n.portal)],
      [
        "Found by",
        n.discovery
          ? `${n.discovery.type === "isns" ? "the iSNS server" : "asking"} ${portalText(n.discovery)}${n.discovery.type === "isns" ? "" : " for its targets"}${n.stale ? " (no longer listed there)" : ""}`
          : "added by hand",
      ],
      ["Session", n.sid === undefined ? "not logged in" : h("a", { href: "#/sessions" }, `session ${n.sid}`)],
    ]),
    field(
      "Log in when the daemon starts",
      startup,
      "automatic and onboot log in at every daemon start, retrying in the background; manual only on request",
    ),
    h("div", { class: "actions" }, login, remove),
    box,
    h(
      "details",
      {},
      h("summary", {}, "Technical details"),
      facts([["Target portal group tag (TPGT)", String(n.tpgt)]]),
    ),
  );
}

export function mountNode(main, [target, host, port]) {
  const body = h("div");
  const box = errorBox();
  const leave = () => (location.hash = "#/nodes");
  const reload = async () => {
    try {
      const { nodes } = await op("nodes.list", { target, portal: { host, port: Number(port) } });
      if (nodes.length === 0)
        throw Object.assign(new Error(`no node ${target} at ${host}:${port}`), { code: "NOT_FOUND" });
      const n = nodes[0];
      rerender(body, overview(n, reload, leave), authForm(n, reload), settingsForm(n, reload));
    } catch (err) {
      showError(box, err);
    }
  };
  main.append(
    h("p", { class: "crumbs" }, h("a", { href: "#/nodes" }, "Nodes"), " / node"),
    heading(target ? shortName(target) : "Node"),
    target ? h("p", { class: "muted" }, nameText(target)) : null,
    box,
    body,
  );
  reload();
}
