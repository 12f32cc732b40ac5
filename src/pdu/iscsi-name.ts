// iSCSI names (RFC 7143 §4.2.7, RFC 3722): the one check every name passes before we use, store or send it,
// whether a target sent it (SendTargets) or a user typed it.

const MAX_NAME_BYTES = 223; // RFC 7143 §4.2.7.1

/** Why `name` is not a usable iSCSI name (iqn./eui./naa. form, ≤ 223 bytes, printable), or undefined. */
export function iscsiNameProblem(name: string): string | undefined {
  if (name.length === 0) return "the iSCSI name is empty";
  if (new TextEncoder().encode(name).length > MAX_NAME_BYTES)
    return `the iSCSI name is longer than ${MAX_NAME_BYTES} bytes`;
  if (/[\s\x00-\x1f\x7f/\\]/.test(name)) return "the iSCSI name contains spaces, control characters or slashes";
  if (!/^(iqn\.\d{4}-\d{2}\.[^.]|eui\.[0-9A-Fa-f]{16}$|naa\.[0-9A-Fa-f]{16,32}$)/.test(name)) {
    return "an iSCSI name starts with iqn.YYYY-MM.<reversed domain>, eui.<16 hex> or naa.<16 or 32 hex>";
  }
  return undefined;
}
