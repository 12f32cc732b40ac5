// Nodes: every record of the node database with its start-up mode and session, logged in or out from here;
// damaged records the daemon set aside are named above the table.
import { busy, op, showError } from "../api.js";
import { errorBox, h, heading, portalText, rerender, table, toast } from "../dom.js";

export const nodeHref = (n) =>
  `#/node/${encodeURIComponent(n.target)}/${encodeURIComponent(n.portal.host)}/${n.portal.port}`;
export const nodeFilter = (n) => ({ target: n.target, portal: { host: n.portal.host, port: n.portal.port } });

/** Logs the node in or out; per-node failures come back as results, shown like any other error. */
export async function loginOrOut(n) {
  if (n.sid === undefined) {
    const { results } = await op("login", nodeFilter(n));
    const r = results[0];
    if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
    toast(`Logged in to ${n.target} (session ${r.sid})`);
  } else {
    const { results } = await op("logout", { sid: n.sid });
    const r = results[0];
    if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
    toast(`Logged out of ${n.target}`);
  }
}

function actions(n, box, reload) {
  const label = n.sid === undefined ? "Log in" : "Log out";
  const button = h(
    "button",
    {
      type: "button",
      "data-key": `login ${n.target} ${portalText(n.portal)}`,
      "aria-label": `${label}: ${n.target} at ${portalText(n.portal)}`,
      onclick: () => busy(button, box, () => loginOrOut(n)).then((ok) => ok && reload()),
    },
    label,
  );
  return h(
    "span",
    { class: "row-actions" },
    h("a", { href: nodeHref(n), "aria-label": `Settings of ${n.target} at ${portalText(n.portal)}` }, "Settings"),
    button,
  );
}

export function mount(main) {
  const box = errorBox();
  const list = h("div");
  const reload = async () => {
    try {
      const { nodes, quarantined = [] } = await op("nodes.list");
      rerender(
        list,
        ...quarantined.map((f) =>
          h(
            "p",
            { class: "error", role: "alert" },
            `${f.original} was damaged and is set aside as ${f.path}. Discovery will not recreate it with defaults; run iscsi doctor for what to do.`,
          ),
        ),
        nodes.length === 0
          ? h(
              "p",
              {},
              "No nodes yet. ",
              h("a", { href: "#/discovery" }, "Discover a portal"),
              " and save its targets as nodes.",
            )
          : table(
              [
                { label: "Target", cell: (n) => n.target, class: "name" },
                { label: "Portal", cell: (n) => portalText(n.portal) },
                { label: "Start-up", cell: (n) => n.startup },
                {
                  label: "Session",
                  cell: (n) => (n.sid === undefined ? "—" : h("a", { href: "#/sessions" }, `session ${n.sid}`)),
                },
                {
                  label: "CHAP",
                  cell: (n) =>
                    n.settings["node.session.auth.authmethod"] === "CHAP"
                      ? `yes${n.secrets.password ? "" : " (no secret stored)"}`
                      : "no",
                },
                { label: "Actions", cell: (n) => actions(n, box, reload) },
              ],
              nodes,
            ),
      );
    } catch (err) {
      showError(box, err);
    }
  };
  main.append(heading("Nodes"), box, list);
  reload();
}
