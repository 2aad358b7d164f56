/**
 * A stand-in for the Cloudflare GraphQL Analytics API, on loopback, for the
 * workerd cost-guard tests (vitest globalSetup, runs in Node). It answers the
 * `containersUsageAdaptiveGroups` query the way the API does, from a usage
 * profile chosen by the URL path, for the windows the query asks for:
 *   /graphql/full      standard-1 running 24/7
 *   /graphql/half      standard-1 running half of the time
 *   /graphql/low       2 % of the time
 *   /graphql/spent     three standard-1 running 24/7 until a day ago, nothing
 *                      since: the month so far over $20, no recent burn
 *   /graphql/empty     the account has no container usage (empty groups)
 *   /graphql/noaccount no account visible to the token (empty accounts)
 *   /graphql/errors    a GraphQL error payload (HTTP 200)
 *   /graphql/500       HTTP 500
 *   /webhook           records notifications (GET /webhook lists them)
 * and, for the Access tests, a team's signing keys at /cdn-cgi/access/certs
 * (the private key is provided to the tests to sign tokens).
 */
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import type { TestProject } from 'vitest/node';

const GIB = 2 ** 30;
const STANDARD_1 = { vcpu: 0.5, memoryBytes: 4 * GIB, diskBytes: 8e9 };
const SHARE: Record<string, number> = { full: 1, half: 0.5, low: 0.02 };

function sums(fraction: number, fromIso: string, toIso: string) {
  const seconds = Math.max(0, (Date.parse(toIso) - Date.parse(fromIso)) / 1000) * fraction;
  if (seconds === 0) return [];
  // One group per "instance"; the API returns sums in byte-seconds, CPU in seconds.
  return [
    {
      sum: {
        cpuTimeSec: STANDARD_1.vcpu * seconds * 0.1,
        allocatedMemory: STANDARD_1.memoryBytes * seconds,
        allocatedDisk: STANDARD_1.diskBytes * seconds,
        txBytes: 1e6 * (seconds / 3600),
      },
    },
  ];
}

export default async function setup(project: TestProject) {
  const webhooks: unknown[] = [];
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256' };
  let certsFetches = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/cdn-cgi/access/certs') {
      certsFetches += 1;
      return send(200, { keys: [publicJwk], public_cert: { kid: 'test-key-1' } });
    }
    if (url.pathname === '/certs-fetches') return send(200, { count: certsFetches });
    if (url.pathname === '/webhook') {
      if (req.method === 'POST') webhooks.push(JSON.parse(Buffer.concat(chunks).toString() || 'null'));
      return send(200, webhooks);
    }
    const scenario = url.pathname.replace(/^\/graphql\/?/, '');
    if (req.headers.authorization !== 'Bearer test-analytics-token') return send(401, { errors: [{ message: 'Authentication error' }], data: null });
    if (scenario === '500') return send(500, { errors: [{ message: 'internal error' }] });
    if (scenario === 'errors') return send(200, { data: null, errors: [{ message: 'does not have access to the path', path: ['viewer', 'accounts'] }] });
    const body = JSON.parse(Buffer.concat(chunks).toString()) as {
      query: string;
      variables: { accountTag: string; monthStart: string; recentStart: string; end: string };
    };
    if (!body.query.includes('containersUsageAdaptiveGroups')) return send(400, { errors: [{ message: 'unknown query' }] });
    if (scenario === 'noaccount') return send(200, { data: { viewer: { accounts: [] } }, errors: null });
    const v = body.variables;
    if (scenario === 'spent') {
      const dayAgo = new Date(Date.parse(v.end) - 86_400_000).toISOString();
      return send(200, { data: { viewer: { accounts: [{ month: sums(3, v.monthStart, dayAgo), recent: [] }] } }, errors: null });
    }
    const fraction = scenario === 'empty' ? 0 : (SHARE[scenario] ?? 0);
    return send(200, {
      data: { viewer: { accounts: [{ month: sums(fraction, v.monthStart, v.end), recent: sums(fraction, v.recentStart, v.end) }] } },
      errors: null,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  project.provide('analyticsUrl', `http://127.0.0.1:${port}`);
  project.provide('accessPrivateJwk', JSON.stringify(privateJwk));
  project.provide('accessPublicJwk', JSON.stringify(publicJwk));
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

declare module 'vitest' {
  export interface ProvidedContext {
    analyticsUrl: string;
    accessPrivateJwk: string;
    accessPublicJwk: string;
  }
}
