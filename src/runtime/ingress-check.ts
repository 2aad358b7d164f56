/**
 * Which address the container sees the Worker's requests come from, and
 * whether the gateway trusts it as its proxy (GATEWAY_TRUSTED_PROXIES): in
 * production the ingress source address is the platform's, unknown until a
 * deploy shows it. Pure: the matching of an address against the list.
 */

export interface IngressCheck {
  /** The peer address the container saw for a request from the Agent (untrusted: what the container says). */
  address: string | null;
  /** GATEWAY_TRUSTED_PROXIES as the container has it. */
  trustedProxies: string[];
  /** Whether `address` falls in one of them. */
  trusted: boolean;
}

/** An IPv4 address as a 32-bit number, or null (an IPv4-mapped IPv6 address reads as its IPv4). */
function ipv4(address: string): number | null {
  const m = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i.exec(address.trim());
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return (((parts[0] as number) << 24) | ((parts[1] as number) << 16) | ((parts[2] as number) << 8) | (parts[3] as number)) >>> 0;
}

/** Whether `address` is one of `entries` (addresses or IPv4 CIDRs; IPv6 entries match exactly). */
export function isTrustedProxy(address: string, entries: readonly string[]): boolean {
  const ip = ipv4(address);
  for (const entry of entries) {
    const [base, bits] = entry.trim().split('/');
    if (!base) continue;
    const net = ipv4(base);
    if (ip !== null && net !== null) {
      const prefix = bits === undefined ? 32 : Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) continue;
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      if ((ip & mask) === (net & mask)) return true;
    } else if (bits === undefined && base.toLowerCase() === address.trim().toLowerCase()) return true;
  }
  return false;
}
