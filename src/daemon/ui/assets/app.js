// The dashboard's shell: hash routes (#/discovery, #/nodes, #/node/…, #/sessions, …) to page modules, the
// daemon line in the header, and focus moved to the heading after a page change so keyboard and screen-reader users land there.
import { describe, every, loadCatalogue, op } from "./api.js";
import { clear } from "./dom.js";

const ROUTES = {
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
  const route = ROUTES[name] ? name : "sessions";
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

document.getElementById("skip").addEventListener("click", (e) => {
  e.preventDefault();
  (main.querySelector("h1") ?? main).focus();
});
window.addEventListener("hashchange", show);
await loadCatalogue().catch(() => {});
watchDaemon();
if (!location.hash) history.replaceState(null, "", "#/sessions");
show();
