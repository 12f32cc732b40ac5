// A host name of the lab's own in /etc/hosts for the address-change test: "<tag>.lab.test" (the .test TLD is
// reserved, RFC 6761), one line that only this helper writes, changed in place (the file may be a bind mount)
// and removed afterwards.
import { readFileSync, writeFileSync } from "node:fs";

const HOSTS = "/etc/hosts";

export class HostsEntry {
  private constructor(readonly name: string) {}

  static create(tag: string, address: string): HostsEntry {
    const e = new HostsEntry(`${tag}.lab.test`);
    e.set(address);
    return e;
  }

  /** Point the name at `address` (replacing our line, leaving every other line as it was). */
  set(address: string): void {
    writeFileSync(HOSTS, `${this.others()}${address} ${this.name}\n`);
  }

  remove(): void {
    writeFileSync(HOSTS, this.others());
  }

  /** The file without our line, every other line (blank ones too) as it was. */
  private others(): string {
    const text = readFileSync(HOSTS, "utf8");
    const kept = text.split("\n").filter((l) => !l.trim().split(/\s+/).slice(1).includes(this.name));
    const joined = kept.join("\n");
    return joined === "" || joined.endsWith("\n") ? joined : `${joined}\n`;
  }
}
