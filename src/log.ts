/**
 * Structured log lines (`{"event":"domain:verb", …}`) with secrets removed:
 * query-string values whose names look secret (token, key, secret, password,
 * auth, sig, code) and any of the given secret values, wherever they appear.
 */
const SECRET_QUERY = /([?&;](?:[\w-]*(?:token|key|secret|password|passwd|auth|sig|signature|code|jwt)[\w-]*)=)[^&#\s"']+/gi;

export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(SECRET_QUERY, '$1[redacted]');
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join('[redacted]');
  return out;
}

export function logLine(event: string, fields: Record<string, unknown>, secrets: readonly string[] = []): string {
  return redact(JSON.stringify({ event, ...fields }), secrets);
}
