// The dashboard's one door to the daemon: POST /api/op with a control-protocol request (the same ops and
// schemas as the CLI), errors in plain words with the catalogue's code, and polling that rests while hidden.

let catalogue = {};

export class OpError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** The error catalogue (code → what it means), fetched once. */
export async function loadCatalogue() {
  const res = await fetch("/api/errors", { credentials: "same-origin" });
  if (res.ok) catalogue = await res.json();
}

/** Runs one op; resolves with its result or rejects with an OpError carrying the daemon's code. */
export async function op(name, args = {}) {
  let res;
  try {
    res = await fetch("/api/op", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ op: name, ...args }),
    });
  } catch {
    throw new OpError("DAEMON_COMM", "the daemon does not answer (is it still running?)");
  }
  if (!res.ok)
    throw new OpError(res.status === 401 || res.status === 403 ? "ACCESS" : "DAEMON_COMM", (await res.text()).trim());
  const body = await res.json();
  if (!body.ok) throw new OpError(body.error.code, body.error.message);
  return body.result;
}

/** What a user can do about an error of each kind, in plain words; the daemon's message says what happened. */
const ADVICE = {
  AUTH_FAILED: "Check the CHAP user name and secret: they must match what the NAS has for this target.",
  BUSY: "A disk of this connection is still in use: eject it first.",
  DAEMON_COMM: "Start the iscsi service again (sudo iscsi service install), then reload this page.",
  ACCESS: "Open the address that `iscsi ui` prints to sign in again.",
  TRANSPORT: "Check that the NAS is switched on, on the network, and that its iSCSI service is enabled.",
  LOGIN: "Check the address and that the NAS allows this computer (its initiator name, on the Settings page).",
  LOGIN_FATAL:
    "The NAS refuses this computer: allow its initiator name (on the Settings page) in the NAS's iSCSI settings.",
  TIMEOUT: "The NAS did not answer in time. Check the network, then try again.",
  PDU_TIMEOUT: "The NAS did not answer in time. Check the network, then try again.",
  DAEMON_NOT_RUNNING: "Start the iscsi service (sudo iscsi service install), then reload this page.",
  ATTACH_UNAVAILABLE: "This computer cannot show the disk as a local drive: see the troubleshooting guide.",
  NOT_FOUND: "It may have been removed meanwhile: reload the page.",
};

/** The error as a sentence: what happened (the daemon's words), then what to do where we know it. Never a bare catalogue tag. */
export function describe(err) {
  const code = err?.code ?? "GENERIC";
  let text = String(err?.message ?? err ?? "Something went wrong").trim() || catalogue[code] || "Something went wrong";
  if (!/[.!?]$/.test(text)) text += ".";
  const advice = ADVICE[code];
  return advice ? `${text} ${advice}` : text;
}

/** Shows `err` in an error box (or hides the box when err is undefined). */
export function showError(box, err) {
  box.hidden = err === undefined;
  box.textContent = err === undefined ? "" : describe(err);
  // The code stays on the box (not in its text) so a page can offer the action that fits it.
  if (err === undefined) delete box.dataset.code;
  else box.dataset.code = err?.code ?? "GENERIC";
}

/**
 * Runs `work` once at a time for `button` and reports a failure in `box`; resolves true when work succeeded.
 * The button is marked aria-disabled rather than disabled: a disabled button drops the keyboard focus.
 */
export async function busy(button, box, work) {
  if (button.getAttribute("aria-busy") === "true") return false;
  button.setAttribute("aria-busy", "true");
  button.setAttribute("aria-disabled", "true");
  try {
    await work();
    showError(box, undefined);
    return true;
  } catch (err) {
    showError(box, err);
    return false;
  } finally {
    button.removeAttribute("aria-busy");
    button.removeAttribute("aria-disabled");
  }
}

/** Calls `tick` now and every `ms` while the tab is visible; returns the stop function. */
export function every(ms, tick) {
  let timer;
  let stopped = false;
  const run = async () => {
    clearTimeout(timer);
    if (stopped) return;
    if (!document.hidden) await tick();
    if (!stopped) timer = setTimeout(run, ms);
  };
  const wake = () => !document.hidden && run();
  document.addEventListener("visibilitychange", wake);
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", wake);
  };
}
