// Discovery: SendTargets at a portal (optionally with CHAP, kept in the discovery record and the secret store) or
// a query of an iSNS server (which the daemon then keeps watching); results listed without touching the node
// database, and each target portal saved as a node on request.
import { busy, op, showError } from "../api.js";
import { prepareDiscoveryAuth } from "../nas.js";
import { clear, errorBox, field, h, heading, nameText, parsePortal, portalText, table, toast, when } from "../dom.js";

const AUTH = "discovery.sendtargets.auth.";
const nodeHref = (target, p) => `#/node/${encodeURIComponent(target)}/${encodeURIComponent(p.host)}/${p.port}`;

function saveButton(t, p, saved, discovery, discoveryType) {
  if (saved) return h("a", { href: nodeHref(t.name, p) }, "Saved — open node");
  const cell = h("span");
  const box = errorBox();
  const button = h(
    "button",
    {
      type: "button",
      "aria-label": `Save ${t.name} at ${portalText(p)} as a node`,
      onclick: () =>
        busy(button, box, async () => {
          await op("node.new", {
            target: t.name,
            portal: { host: p.host, port: p.port },
            tpgt: p.tpgt,
            discovery,
            discoveryType,
          });
          cell.replaceChildren(h("a", { href: nodeHref(t.name, p) }, "Saved — open node"));
          toast(`Saved ${t.name} as a node`);
        }),
    },
    "Save as node",
  );
  cell.append(button, box);
  return cell;
}

function results(into, found, nodes, type) {
  const known = new Set(nodes.map((n) => `${n.target} ${n.portal.host}:${n.portal.port}`));
  const rows = found.targets.flatMap((t) =>
    t.portals.map((p) => ({ t, p, saved: known.has(`${t.name} ${p.host}:${p.port}`) })),
  );
  clear(into).append(
    h("h2", {}, `Found at ${portalText(found.portal)}`),
    rows.length === 0
      ? h(
          "p",
          {},
          "The portal answered but offers no targets to this initiator (check the target's ACL for our initiator name).",
        )
      : table(
          [
            { label: "Target", cell: (r) => nameText(r.t.name), class: "name" },
            { label: "Address", cell: (r) => portalText(r.p) },
            { label: "Node", cell: (r) => saveButton(r.t, r.p, r.saved, found.portal, type) },
          ],
          rows,
        ),
  );
}

function records(into, list, rediscover) {
  clear(into);
  if (list.length === 0) return;
  into.append(
    h("h2", {}, "Discovery portals"),
    table(
      [
        { label: "Portal", cell: (r) => portalText(r.portal) },
        { label: "Method", cell: (r) => (r.type === "isns" ? "iSNS" : "SendTargets") },
        {
          label: "Authentication",
          cell: (r) =>
            r.type === "isns"
              ? "—"
              : `${r.settings[`${AUTH}authmethod`]}${r.settings[`${AUTH}username`] ? ` (${r.settings[`${AUTH}username`]})` : ""}${r.secrets.password ? ", secret stored" : ""}`,
        },
        { label: "Last asked", cell: (r) => when(r.lastDiscovered) },
        { label: "Targets", cell: (r) => (r.targets === undefined ? "—" : String(r.targets)) },
        {
          label: "Actions",
          cell: (r) =>
            h(
              "button",
              { type: "button", onclick: () => rediscover(r.portal, r.type) },
              `Discover ${portalText(r.portal)} again`,
            ),
        },
      ],
      list,
    ),
  );
}

export function mount(main) {
  const methodInput = h(
    "select",
    { name: "method" },
    h("option", { value: "sendtargets" }, "SendTargets (a target portal)"),
    h("option", { value: "isns" }, "iSNS server"),
  );
  const portalInput = h("input", {
    name: "portal",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "192.168.1.10 or nas:3260",
  });
  const userInput = h("input", { name: "chap-user", autocomplete: "off", spellcheck: "false" });
  const secretInput = h("input", { name: "chap-secret", type: "password", autocomplete: "new-password" });
  const submit = h("button", { type: "submit", class: "primary" }, "Discover");
  const box = errorBox();
  const found = h("section", { "aria-live": "polite" });
  const known = h("section");

  const run = (portal, type = methodInput.value) => {
    // Results of an earlier discovery must not stand under a new error.
    clear(found);
    return busy(submit, box, async () => {
      const user = userInput.value.trim();
      if (portal === undefined && type === "isns") {
        portal = parsePortal(portalInput.value, 3205);
        await op("discoverydb.new", { portal, type });
      } else if (portal === undefined) {
        portal = parsePortal(portalInput.value);
        await prepareDiscoveryAuth(portal, user, secretInput.value);
      }
      secretInput.value = "";
      const [result, { nodes }] = await Promise.all([
        op("discover", { portal, record: false, type }),
        op("nodes.list"),
      ]);
      results(found, result, nodes, type);
      refresh();
    });
  };
  const refresh = () =>
    op("discoverydb.list").then(
      (r) => records(known, r.records, (p, t) => run(p, t)),
      (err) => showError(box, err),
    );

  const form = h(
    "form",
    { class: "card", onsubmit: (e) => (e.preventDefault(), run()) },
    field(
      "Method",
      methodInput,
      "SendTargets asks one target portal; an iSNS server lists every target this initiator may see, and the daemon keeps watching it",
    ),
    field("Portal", portalInput, "HOST, HOST:PORT or [IPv6]:PORT; the port defaults to 3260 (3205 for iSNS)"),
    h(
      "fieldset",
      {},
      h("legend", {}, "CHAP for SendTargets discovery (optional)"),
      field("User name", userInput, "Leave empty when the portal needs no CHAP"),
      field("Secret", secretInput, "12 to 255 bytes; kept by the daemon, never shown again. Empty keeps a stored one"),
    ),
    h("div", { class: "actions" }, submit),
    box,
  );
  main.append(heading("Discovery"), form, found, known);
  refresh();
}
