/**
 * A secret the container may hold, derived from one it must not: HMAC-SHA-256
 * of `label` under the Worker's secret, hex. The gateway checks it on what the
 * Worker hands it (Telegram's listener, the Discord hook), and learning it
 * reveals nothing of the platform's own secret.
 */
export async function derivedSecret(secret: string, label: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(label));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
