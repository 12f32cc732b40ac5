// Names from targets and users made safe to store and show (reliability.md #84, #88, #89): file names for node
// and discovery records derived from names, never the names themselves, and target text made printable.

/** A readable, bounded slug: letters, digits, dot and dash; never starts with a dot. */
function slug(text: string, max: number): string {
  return (
    text
      .replace(/[^A-Za-z0-9.-]/g, "_")
      .replace(/^\.+/, "_")
      .slice(0, max) || "_"
  );
}

function digest(parts: string[]): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(parts.join("\n"));
  return h.digest("hex").slice(0, 16);
}

/** File name of a node record: a slug for people, a hash of the exact key for uniqueness. */
export function nodeFileName(target: string, host: string, port: number): string {
  return `${slug(target, 96)}_${slug(host, 48)}_${port}_${digest([target, host, String(port)])}.json`;
}

/** File name of a discovery record (one per portal). */
export function discoveryFileName(host: string, port: number): string {
  return `${slug(host, 96)}_${port}_${digest([host, String(port)])}.json`;
}

/** Target-supplied text made safe for a terminal: control characters shown as \xNN (reliability.md #89). */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
