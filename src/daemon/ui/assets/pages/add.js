// "Add your NAS", the first-run path in plain words: the NAS's address (and CHAP, when it asks for it) → its
// disks by name and size → "Connect and mount" → the disk on the home page. The expert pages (Discovery,
// Nodes) do the same step by step.
import { busy, op } from "../api.js";
import { closeUnused, connectNas, disksOf } from "../nas.js";
import { bytes, clear, errorBox, field, h, heading, nameText, parsePortal, shortName, toast } from "../dom.js";

/** One disk of the NAS: its name and size, and a mount point to connect it at. */
function diskRow(d, targets, box) {
  const name = shortName(d.session.target);
  const title = h("h3", {}, name, d.lun.lun > 1 ? ` (disk ${d.lun.lun})` : "");
  const what = h("p", { class: "muted" }, `${bytes(d.lun.bytes)} · ${`${d.lun.vendor} ${d.lun.product}`.trim()}`);
  if (d.attachment) {
    return h(
      "li",
      { class: "disk" },
      title,
      what,
      h(
        "p",
        {},
        "Already connected",
        d.attachment.mountPoint ? ` at ${d.attachment.mountPoint}` : "",
        " — ",
        h("a", { href: "#/disks" }, "see it on the Disks page"),
      ),
    );
  }
  const mountPoint = h("input", {
    autocomplete: "off",
    spellcheck: "false",
    placeholder: `/mnt/${name}`,
    "data-key": `mount ${d.session.target} ${d.lun.lun}`,
  });
  const connect = h(
    "button",
    { type: "button", class: "primary", "aria-label": `Connect and mount ${name}` },
    "Connect and mount",
  );
  connect.addEventListener("click", () =>
    busy(connect, box, async () => {
      const mount = mountPoint.value.trim();
      const a = await op("attach.add", {
        target: d.session.target,
        portal: d.session.persistentPortal,
        lun: d.lun.lun,
        ...(mount ? { mount } : {}),
      });
      await closeUnused(targets);
      toast(`${name} is connected${a.mountPoint ? ` and mounted at ${a.mountPoint}` : ` as ${a.device ?? a.file}`}`);
      location.hash = "#/disks";
    }),
  );
  return h(
    "li",
    { class: "disk" },
    title,
    what,
    field(
      "Mount it at",
      mountPoint,
      "A folder (created when missing). Leave empty to get only the device, e.g. to format it first.",
    ),
    h("div", { class: "actions" }, connect),
  );
}

/** The form and its results; `into` receives the whole path. Used by the home page when nothing is there yet. */
export function addNas(into) {
  const address = h("input", {
    name: "nas",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "192.168.1.10 or nas.local",
  });
  const user = h("input", { name: "chap-user", autocomplete: "off", spellcheck: "false" });
  const secret = h("input", { name: "chap-secret", type: "password", autocomplete: "new-password" });
  const find = h("button", { type: "submit", class: "primary" }, "Find disks");
  const box = errorBox();
  const found = h("section", { "aria-live": "polite", class: "found" });

  const onsubmit = (e) => {
    e.preventDefault();
    clear(found);
    busy(find, box, async () => {
      const portal = parsePortal(address.value);
      const typed = secret.value;
      secret.value = "";
      const { targets, outcomes } = await connectNas(portal, user.value.trim(), typed);
      const failed = outcomes.filter((o) => !o.ok);
      const disks = await disksOf(targets);
      found.append(h("h2", { tabindex: "-1" }, `Disks on ${address.value.trim()}`));
      for (const o of failed)
        found.append(
          h(
            "p",
            { class: "error", role: "alert" },
            `${shortName(o.target)}: ${o.error.message}. ${o.error.code === "AUTH_FAILED" ? "Check the CHAP user name and secret." : ""}`.trim(),
          ),
        );
      if (targets.length === 0)
        found.append(
          h(
            "p",
            {},
            "The NAS answered but offers no disk to this computer. Allow this computer's name (see Settings) in the NAS's iSCSI settings.",
          ),
        );
      else if (disks.length === 0 && failed.length === 0)
        found.append(h("p", {}, "The NAS's targets have no disk yet. Create a disk (LUN) on the NAS, then try again."));
      else
        found.append(
          h(
            "ul",
            { class: "disks" },
            disks.map((d) => diskRow(d, targets, box)),
          ),
        );
      found.querySelector("h2").focus();
    });
  };
  into.append(
    h(
      "form",
      { class: "card", onsubmit },
      h("h2", {}, "Add your NAS"),
      h(
        "p",
        {},
        "Type the address of your NAS (or of any iSCSI storage). Its disks are listed next, and you choose which to connect.",
      ),
      field("NAS address", address, "A name or an IP address; add :PORT when the NAS does not use the usual port 3260"),
      h(
        "details",
        {},
        h("summary", {}, "The NAS asks for a user name and password (CHAP)"),
        field("CHAP user name", user),
        field(
          "CHAP secret",
          secret,
          "As set on the NAS (12 to 16 characters on most); kept by the service, never shown again",
        ),
      ),
      h("div", { class: "actions" }, find),
      box,
    ),
    found,
  );
}

export function mount(main) {
  main.append(heading("Add a NAS"), h("p", { class: "crumbs" }, h("a", { href: "#/disks" }, "← Disks")));
  addNas(main);
}
