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

/** A log: an event (`domain:verb`) and its fields. */
export type Log = (event: string, fields: Record<string, unknown>) => void;

/**
 * A log with context bound (e.g. `{ agent }`, first in every line) and
 * secrets redacted: into `into` (another log, e.g. a test's) when given,
 * else JSON lines on the console (`console.error` with `level: 'error'`).
 */
export function boundLog(context: Record<string, unknown>, secrets: readonly string[] = [], into?: Log, level: 'info' | 'error' = 'info'): Log {
  if (into) return (event, fields) => into(event, { ...context, ...fields });
  // The console is looked up at each line (a test's spy on it sees them).
  return (event, fields) => {
    const line = logLine(event, { ...context, ...fields }, secrets);
    if (level === 'error') console.error(line);
    else console.log(line);
  };
}
