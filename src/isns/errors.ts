// The one error class of the iSNSP codec: a stable `code` from the shared catalogue's names (PROTOCOL for a
// malformed or unexpected message from the server), so upper layers map it to exit codes without importing us.

export class IsnsError extends Error {
  readonly code: "PROTOCOL";
  constructor(message: string) {
    super(message);
    this.name = "IsnsError";
    this.code = "PROTOCOL";
  }
}
