/**
 * Headers on every answer the Worker writes itself (its pages, its JSON):
 * never framed by another site (the status page has Hibernate/Resume
 * buttons), never sniffed as another type, no referrer, and pages load
 * nothing from elsewhere. Answers proxied from the gateway keep the
 * gateway's own headers.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** The pages' policy: their own inline script and style, calls to this origin only, no framing. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/** Adds SECURITY_HEADERS (and, for a page, PAGE_CSP) to `headers`. */
export function secure(headers: Headers, page = false): Headers {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value);
  headers.set('content-security-policy', page ? PAGE_CSP : "default-src 'none'; frame-ancestors 'none'");
  return headers;
}
