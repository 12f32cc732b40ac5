// Names from targets and users made safe to store (RFC 7143 §4.2.7; reliability.md #84, #88): an iSCSI name
// check, and file names for node and discovery records that are derived from names, never the names themselves.

const MAX_NAME_BYTES = 223; // RFC 7143 §4.2.7.1

/** Why `name` is not a usable iSCSI name (iqn./eui./naa. form, ≤ 223 bytes, printable), or undefined. */
export function iscsiNameProblem(name: string): string | undefined {
  if (name.length === 0) return "the iSCSI name is empty";
  if (new TextEncoder().encode(name).length > MAX_NAME_BYTES) return `the iSCSI name is longer than ${MAX_NAME_BYTES} bytes`;
  if (/[\s\x00-\x1f\x7f/\\]/.test(name)) return "the iSCSI name contains spaces, control characters or slashes";
  if (!/^(iqn\.\d{4}-\d{2}\.[^.]|eui\.[0-9A-Fa-f]{16}$|naa\.[0-9A-Fa-f]{16,32}$)/.test(name)) {
    return "an iSCSI name starts with iqn.YYYY-MM.<reversed domain>, eui.<16 hex> or naa.<16 or 32 hex>";
  }
  return undefined;
}

/** A readable, bounded slug: letters, digits, dot and dash; never starts with a dot. */
function slug(text: string, max: number): string {
  return text.replace(/[^A-Za-z0-9.-]/g, "_").replace(/^\.+/, "_").slice(0, max) || "_";
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
