/**
 * The gateway trusts the Worker as its proxy by the address the Worker's
 * requests come from (GATEWAY_TRUSTED_PROXIES). On the twin that address is
 * normally loopback; here the sidecar sends them through a relay on the
 * Docker bridge, from a source address the test chooses: one inside the
 * trusted ranges (as production's is assumed to be) is served, one outside is
 * refused, and `GET /api/doctor` (what `clawctl doctor` prints) names the
 * address the container saw in both cases.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bridgeAddress, startIngressRelay, type IngressRelay } from './twin/ingress-relay.ts';
import { bridgeGateway } from './twin/twin-shell.ts';
import { appContainer, ensureAwake, twinUrl } from './twin-client.ts';

/** A benchmarking address (198.18.0.0/15), in none of the trusted ranges, added to this host's bridge for the test. */
const OUTSIDE = '198.18.0.1';

interface Doctor {
  state: string;
  container: { node: string; openclaw: string; ingress: { address: string | null; trusted: boolean; trustedProxies: string[] } } | null;
}

async function setIngress(sidecar: string, via: string | null): Promise<void> {
  const published = execFileSync('docker', ['port', sidecar, '39001/tcp'], { encoding: 'utf8' }).trim().split('\n')[0]?.split(':').at(-1);
  const r = await fetch(`http://127.0.0.1:${published}/twin/ingress`, { method: 'PUT', body: JSON.stringify({ via }) });
  expect(r.status).toBe(204);
}

const doctor = async () => (await (await fetch(`${twinUrl()}/api/doctor`)).json()) as Doctor;
/**
 * A chat turn through the Worker. A switch of route closes the tunnels workerd
 * kept open, and a request that workerd sends on one just closed fails on the
 * way (5xx): that request is sent again, at most twice.
 */
const chatStatus = async (content: string) => {
  for (let attempt = 1; ; attempt++) {
    const r = await fetch(`${twinUrl()}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openclaw', user: 'twin-ingress', messages: [{ role: 'user', content }] }),
    });
    const answer = { status: r.status, body: await r.text() };
    if (answer.status < 500 || attempt === 3) return answer;
  }
};

describe.skipIf(inject('twinSkipped') !== '')('production twin: the proxy source address the gateway sees', () => {
  let relay: IngressRelay;
  let sidecar: string;
  beforeAll(async () => {
    await ensureAwake();
    sidecar = `${appContainer()}-proxy`;
    relay = await startIngressRelay(bridgeAddress(sidecar));
    spawnSync('ip', ['addr', 'add', `${OUTSIDE}/32`, 'dev', 'docker0'], { stdio: 'ignore' });
    await setIngress(sidecar, relay.address);
  });
  afterAll(async () => {
    await setIngress(sidecar, null).catch(() => undefined);
    await relay?.close();
    spawnSync('ip', ['addr', 'del', `${OUTSIDE}/32`, 'dev', 'docker0'], { stdio: 'ignore' });
  });

  it('should serve the gateway through a non-loopback proxy address inside the trusted ranges, and say which in /api/doctor', async () => {
    relay.use(bridgeGateway());
    const chat = await chatStatus('hello from the bridge, ingress-7c1');
    expect(chat.status, chat.body).toBe(200);
    expect(chat.body).toContain('mock answer: hello from the bridge, ingress-7c1');
    const seen = await doctor();
    expect(seen.container?.ingress).toMatchObject({ address: relay.source, trusted: true });
    expect(seen.container?.ingress.trustedProxies).toContain('172.16.0.0/12');
    expect(seen.container?.node).toMatch(/^v24\./);
  });

  it('should be refused by the gateway from an address outside them, and say so in /api/doctor', async () => {
    relay.use(OUTSIDE);
    const chat = await chatStatus('hello from outside');
    // The gateway's own refusal (OpenClaw: the proxy is not one of gateway.trustedProxies), not a broken tunnel.
    expect(chat.status, chat.body).toBe(403);
    expect(chat.body).toContain('proxy_attribution_required');
    expect(chat.body).not.toContain('mock answer');
    expect((await doctor()).container?.ingress).toMatchObject({ address: OUTSIDE, trusted: false });
  });
});
