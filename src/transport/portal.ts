// A portal (RFC 7143 §3.4.1): the network address, host and TCP port, at which a target listens.

export interface Portal {
  host: string;
  port: number;
}

/** "host:port", with brackets around an IPv6 host. */
export function formatPortal(p: Portal): string {
  return `${p.host.includes(":") ? `[${p.host}]` : p.host}:${p.port}`;
}
