// The dashboard's shell: hash routes (#/disks — the home page —, #/add, #/discovery, #/nodes, #/node/…, #/sessions,
// …) to page modules, the daemon line in the header, notices when a connection drops or comes back, and focus moved
// to the heading after a page change so keyboard and screen-reader users land there.
import { describe, every, loadCatalogue, op } from "./api.js";
import { clear, h, shortName } from "./dom.js";

const ROUTES = {
  disks: () => import("./pages/disks.js"),
  add: () => import("./pages/add.js"),
  discovery: () => import("./pages/discovery.js"),
  nodes: () => import("./pages/nodes.js"),
  node: () => import("./pages/node.js").then((m) => ({ mount: m.mountNode })),
  sessions: () => import("./pages/sessions.js"),
  attachments: () => import("./pages/attachments.js"),
  preferences: () => import("./pages/preferences.js"),
  log: () => import("./pages/log.js"),
};

const main = document.getElementById("main");
let unmount = () => {};
let generation = 0;

async function show() {
  const [name, ...params] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const route = ROUTES[name] ? name : "disks";
  const mine = ++generation;
  unmount();
  unmount = () => {};
  for (const a of document.querySelectorAll("nav a")) {
    const current = a.getAttribute("href") === `#/${route === "node" ? "nodes" : route}`;
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const page = await ROUTES[route]();
  if (mine !== generation) return;
  clear(main);
  unmount = page.mount(main, params) ?? (() => {});
  document.title = `${main.querySelector("h1")?.textContent ?? "iscsi"} · iscsi`;
  // On arrival the first Tab reaches the skip link; after a page change, focus goes to the new heading.
  if (mine > 1) main.querySelector("h1")?.focus();
}

/** The header line: who the daemon is, or that it does not answer; also refreshed on every page change. */
function watchDaemon() {
  const line = document.getElementById("daemon");
  const offline = document.getElementById("offline");
  const refresh = async () => {
    try {
      const s = await op("status");
      line.textContent = `daemon ${s.version}, pid ${s.pid} · ${s.sessions} session${s.sessions === 1 ? "" : "s"} · ${s.initiatorName}`;
      offline.hidden = true;
    } catch (err) {
      line.textContent = "";
      offline.textContent = `Cannot reach the daemon: ${describe(err)}`;
      offline.hidden = false;
    }
  };
  window.addEventListener("hashchange", refresh);
  every(5000, refresh);
}

/** A notice in the page that stays until dismissed: disconnects, recoveries and failures. */
function notify(text, tone) {
  const list = document.getElementById("notices");
  const dismiss = h("button", { type: "button", class: "link", "aria-label": `Dismiss: ${text}` }, "Dismiss");
  const item = h(
    "li",
    { class: `notice tone-${tone}` },
    h("time", { datetime: new Date().toISOString() }, new Date().toLocaleTimeString(undefined)),
    " ",
    h("span", {}, text),
    " ",
    dismiss,
  );
  dismiss.addEventListener("click", () => item.remove());
  list.append(item);
  while (list.children.length > 5) list.firstElementChild.remove();
}

/** Watches every session's state and tells the user, in words, when a connection drops, comes back or is lost. */
function watchSessions() {
  const seen = new Map();
  every(3000, async () => {
    let sessions;
    try {
      ({ sessions } = await op("sessions.list"));
    } catch {
      return; // the header line already says the daemon does not answer
    }
    for (const s of sessions) {
      const before = seen.get(s.sid);
      seen.set(s.sid, s.state);
      if (before === undefined || before === s.state) continue;
      const name = shortName(s.target);
      if (s.state === "recovering") notify(`The connection to ${name} was lost: reconnecting…`, "warn");
      else if (s.state === "full-feature" && (before === "recovering" || before === "verifying"))
        notify(`${name} is connected again.`, "ok");
      else if (s.state === "failed") notify(`${name} could not be reconnected${s.error ? `: ${s.error}` : ""}.`, "bad");
    }
    for (const sid of seen.keys()) if (!sessions.some((s) => s.sid === sid)) seen.delete(sid);
  });
}

document.getElementById("skip").addEventListener("click", (e) => {
  e.preventDefault();
  (main.querySelector("h1") ?? main).focus();
});
window.addEventListener("hashchange", show);
await loadCatalogue().catch(() => {});
watchDaemon();
watchSessions();
if (!location.hash) history.replaceState(null, "", "#/disks");
show();
