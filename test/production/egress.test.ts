/**
 * The container's egress on the production path: HTTPS to a host the
 * Worker intercepts (`interceptHttps`) is terminated with the CA the
 * platform writes into the container, which the Sandbox's control server
 * makes Node, curl and git trust, and reaches the Worker's `ContainerProxy`;
 * a hostname a test stands in for (`standIn`) is answered by the test's
 * handler over HTTP and HTTPS, as the internet would answer it.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { asGateway, ensureAwake, inContainer, inContainerAsync, standIn, type StandIn } from './twin-client.ts';

const AS_GATEWAY = asGateway();
const nodeFetch = (url: string) =>
  `${AS_GATEWAY} node -e "fetch('${url}').then(async (r) => console.log(r.status, await r.text()), (e) => console.log('error', e.cause?.code ?? e.message))"`;

describe.skipIf(inject('twinSkipped') !== '')("production twin: the container's egress", () => {
  let api: StandIn;
  beforeAll(async () => {
    api = await standIn('api.example.com', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ standIn: 'api.example.com', method: req.method, path: req.url }));
    });
  });
  afterAll(() => api?.close());

  it("should intercept HTTPS to the browser host with the CA the platform installs, trusted by the gateway's Node and by curl", async () => {
    await ensureAwake();
    expect(inContainer('cat /etc/cloudflare/certs/cloudflare-containers-ca.crt')).toContain('BEGIN CERTIFICATE');
    const gatewayTrust = inContainer(
      'tr "\\0" "\\n" < /proc/$(cat /tmp/openclaw-boot/gateway.pid)/environ | grep -E "^(NODE_EXTRA_CA_CERTS|GIT_SSL_CAINFO)=" | sort',
    );
    expect(gatewayTrust).toMatch(/^GIT_SSL_CAINFO=\/.+\nNODE_EXTRA_CA_CERTS=\/etc\/cloudflare\/certs\/cloudflare-containers-ca\.crt$/m);
    // Through TLS, the sidecar, workerd's egress (X-Tls-Sni), the ContainerProxy and the Agent's passthrough: its own 426.
    expect(inContainer("curl -sS -o /dev/null -w '%{http_code}' https://browser.ondemand.internal/devtools/browser/not-this-boot")).toBe('426');
    expect(inContainer(nodeFetch('https://browser.ondemand.internal/devtools/browser/not-this-boot')).trim()).toMatch(/^426 /);
    // Without the CA a client refuses the certificate: the answer above came through the interception, not around it.
    expect(inContainer("curl -sS --cacert /dev/null -o /dev/null -w '%{http_code}' https://browser.ondemand.internal/ 2>&1 || true")).toMatch(
      /certificate|SSL/i,
    );
  });

  it("should answer a stood-in hostname over HTTPS and HTTP from the test's handler, for Node, curl and git", async () => {
    await ensureAwake();
    const before = api.requests.length;
    const overHttps = JSON.parse(await inContainerAsync("curl -sS -H 'x-probe: https' https://api.example.com/v1/models?limit=1")) as Record<string, unknown>;
    expect(overHttps).toEqual({ standIn: 'api.example.com', method: 'GET', path: '/v1/models?limit=1' });
    expect(api.requests.at(-1)?.headers['x-probe']).toBe('https');
    const overHttp = JSON.parse(await inContainerAsync("curl -sS -X POST -d 'hello' http://api.example.com/plain")) as Record<string, unknown>;
    expect(overHttp).toMatchObject({ method: 'POST', path: '/plain' });
    expect(api.requests.at(-1)?.body).toBe('hello');
    expect((await inContainerAsync(nodeFetch('https://api.example.com/from-node'))).trim()).toBe(
      '200 {"standIn":"api.example.com","method":"GET","path":"/from-node"}',
    );
    // git asks for the refs; the stand-in's JSON is no git answer, but the TLS held.
    const git = await inContainerAsync(`${AS_GATEWAY} git ls-remote https://api.example.com/owner/repo.git 2>&1 || true`);
    expect(git).not.toMatch(/certificate|SSL/i);
    expect(api.requests.slice(before).map((r) => r.url)).toContain('/owner/repo.git/info/refs?service=git-upload-pack');
  });

  it('should stop answering a hostname once its stand-in is gone', async () => {
    await ensureAwake();
    const gone = await standIn('gone.example.com', (_req, res) => res.end('here'));
    expect(await inContainerAsync('curl -sS https://gone.example.com/')).toBe('here');
    await gone.close();
    expect(inContainer('getent hosts gone.example.com || echo none').trim()).toBe('none');
  });
});
