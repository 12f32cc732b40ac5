// Small DOM helpers for the dashboard: elements built with textContent only (names from targets are never
// parsed as HTML), tables that stack into cards on a phone, labelled form fields, number formats.

/** h("button", { class: "primary", onclick }, "Log in"): attributes, properties for on* and value, children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value" || k === "checked") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** Replaces a container's content and gives focus back to the control with the same data-key, if it had it. */
export function rerender(container, ...children) {
  const active = document.activeElement;
  const key = container.contains(active) ? active.dataset.key : undefined;
  clear(container).append(...children);
  if (key) container.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

/** A page heading that takes focus on arrival (tabindex -1: focusable by script, not in the tab order). */
export const heading = (text) => h("h1", { tabindex: "-1" }, text);

let ids = 0;
export const uid = (prefix) => `${prefix}-${++ids}`;

/** A label and its control; `hint` becomes the control's description. */
export function field(label, control, hint) {
  control.id ||= uid("f");
  const parts = [h("label", { for: control.id }, label), control];
  if (hint) {
    const hintId = uid("hint");
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("small", { id: hintId, class: "hint" }, hint));
  }
  return h("div", { class: "field" }, parts);
}

export function select(options, value, attrs = {}) {
  return h(
    "select",
    attrs,
    options.map((o) => h("option", { value: o.value ?? o, selected: (o.value ?? o) === value }, o.label ?? o)),
  );
}

/**
 * columns: [{ label, cell: (row) => Node|string, class? }]. On narrow screens each row becomes a card and
 * every cell shows its column's label (data-label).
 */
export function table(columns, rows, caption) {
  return h(
    "table",
    { class: "grid" },
    caption ? h("caption", {}, caption) : null,
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map((c) => h("th", { scope: "col" }, c.label)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h(
          "tr",
          {},
          columns.map((c) => h("td", { "data-label": c.label, class: c.class }, c.cell(r))),
        ),
      ),
    ),
  );
}

/** A definition list from [term, value] pairs. */
export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter(Boolean).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );
}

export const portalText = (p) => (p.host.includes(":") ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`);

/** HOST, HOST:PORT or [IPv6]:PORT; 3260 when no port is given. Throws with what is wrong. */
export function parsePortal(text, defaultPort = 3260) {
  const t = text.trim();
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(t);
  const [host, port] = v6 ? [v6[1], v6[2]] : t.split(":").length === 2 ? t.split(":") : [t, undefined];
  const n = port === undefined ? defaultPort : Number(port);
  if (!host || /\s/.test(host) || !Number.isInteger(n) || n < 1 || n > 65535)
    throw new Error(`"${t}" is not a portal: write HOST, HOST:PORT or [IPv6]:PORT`);
  return { host, port: n };
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
export function bytes(n) {
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${UNITS[u]}`;
}

export const rate = (bytesPerSecond) => `${bytes(bytesPerSecond)}/s`;
/** Numbers and dates in the browser's own locale (undefined = the user's). */
export const count = (n) => Math.round(n).toLocaleString(undefined);

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

/** The time of day only, for "reconnecting since 12:03". */
export const clock = (iso) => new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });

/**
 * A long name (an IQN, a path) as text with line-break opportunities after ':', '.', '/' and '-', so it wraps
 * at a sensible point on a phone instead of in the middle of a word.
 */
export function nameText(name) {
  const span = h("span", { class: "name" });
  for (const part of String(name).split(/(?<=[:./-])/)) span.append(part, h("wbr"));
  return span;
}

/** The last part of an IQN, the name a NAS shows for its target: "iqn.2004-04.com.qnap:ts-453:disk1" → "disk1". */
export const shortName = (iqn) => String(iqn).split(":").pop() || String(iqn);

/** A message for a moment in the page's live region. */
export function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove("show"), 4000);
}

/** The place a page shows a failure: role=alert, so a screen reader says it at once. */
export function errorBox() {
  return h("div", { class: "error", role: "alert", hidden: true });
}
