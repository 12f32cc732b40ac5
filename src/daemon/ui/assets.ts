// The dashboard's files, embedded in the binary as text: one page (plain HTML, CSS and ES modules, no
// framework, nothing fetched from elsewhere), served by path.
import indexHtml from "./assets/index.html" with { type: "text" };
import appCss from "./assets/app.css" with { type: "text" };
import appJs from "./assets/app.js" with { type: "text" };
import apiJs from "./assets/api.js" with { type: "text" };
import domJs from "./assets/dom.js" with { type: "text" };
import nasJs from "./assets/nas.js" with { type: "text" };
import disksJs from "./assets/pages/disks.js" with { type: "text" };
import addJs from "./assets/pages/add.js" with { type: "text" };
import discoveryJs from "./assets/pages/discovery.js" with { type: "text" };
import nodesJs from "./assets/pages/nodes.js" with { type: "text" };
import nodeJs from "./assets/pages/node.js" with { type: "text" };
import sessionsJs from "./assets/pages/sessions.js" with { type: "text" };
import attachmentsJs from "./assets/pages/attachments.js" with { type: "text" };
import pathsJs from "./assets/pages/paths.js" with { type: "text" };
import preferencesJs from "./assets/pages/preferences.js" with { type: "text" };
import logJs from "./assets/pages/log.js" with { type: "text" };

const JS = "text/javascript; charset=utf-8";

export interface Asset {
  body: string;
  type: string;
}

// Bun types an .html import as a bundle; with type "text" it is the file's text.
const html = indexHtml as unknown as string;

export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["/", { body: html, type: "text/html; charset=utf-8" }],
  ["/app.css", { body: appCss, type: "text/css; charset=utf-8" }],
  ["/app.js", { body: appJs, type: JS }],
  ["/api.js", { body: apiJs, type: JS }],
  ["/dom.js", { body: domJs, type: JS }],
  ["/nas.js", { body: nasJs, type: JS }],
  ["/pages/disks.js", { body: disksJs, type: JS }],
  ["/pages/add.js", { body: addJs, type: JS }],
  ["/pages/discovery.js", { body: discoveryJs, type: JS }],
  ["/pages/nodes.js", { body: nodesJs, type: JS }],
  ["/pages/node.js", { body: nodeJs, type: JS }],
  ["/pages/sessions.js", { body: sessionsJs, type: JS }],
  ["/pages/attachments.js", { body: attachmentsJs, type: JS }],
  ["/pages/paths.js", { body: pathsJs, type: JS }],
  ["/pages/preferences.js", { body: preferencesJs, type: JS }],
  ["/pages/log.js", { body: logJs, type: JS }],
]);

/** Scripts and styles only from here; nothing inline, nothing from elsewhere, no framing. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
