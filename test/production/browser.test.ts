/**
 * The agent's browser on the production path: the `Agent` class gives each
 * boot's gateway a CDP URL of its own, whose host only the container's
 * outbound interception answers (`outboundByHost`): the twin's sidecar
 * resolves it and hands the connection to workerd's egress, which gives it to
 * the Worker's `ContainerProxy` entrypoint and so to the Agent's CDP
 * passthrough, which joins a session of the `BROWSER` binding — on the twin
 * a stand-in over Debian's Chromium with the binding's session methods. The
 * real OpenClaw's browser tool, in the container, opens a page this test
 * serves, reads it and clicks its link through all of that.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { until } from '../../scripts/lib/local-stack.ts';
import { chat, ensureAwake, inContainer, sleep, status, wake } from './twin-client.ts';

const CDP_URL = /^ws:\/\/browser\.ondemand\.internal\/devtools\/browser\/[0-9a-f]{64}$/;

/** This boot's CDP URL as the gateway has it: in its environment (openclaw.json names it only as ${BROWSER_CDP_URL}). */
const gatewayCdpUrl = () => inContainer('tr "\\0" "\\n" < /proc/$(cat /tmp/openclaw-boot/gateway.pid)/environ | sed -n "s/^BROWSER_CDP_URL=//p"').trim();

describe.skipIf(inject('twinSkipped') !== '')("production twin: the agent's browser", () => {
  it("should give the gateway this boot's Browser Rendering CDP URL as its browser profile, and a new one at the next boot", async () => {
    const ready = await ensureAwake();
    expect(ready.browser).toMatchObject({ mode: 'browser-rendering', session: null });
    const config = JSON.parse(inContainer('cat "${OPENCLAW_STATE_DIR:-$OPENCLAW_HOME/.openclaw}/openclaw.json"')) as {
      browser: { enabled: boolean; defaultProfile: string; profiles: Record<string, { cdpUrl: string }>; ssrfPolicy: { allowedHostnames: string[] } };
    };
    expect(config.browser).toMatchObject({ enabled: true, defaultProfile: 'browser-rendering' });
    expect(config.browser.profiles['browser-rendering']!.cdpUrl).toBe('${BROWSER_CDP_URL}');
    const first = gatewayCdpUrl();
    expect(first).toMatch(CDP_URL);
    expect(config.browser.ssrfPolicy.allowedHostnames).toContain('browser.ondemand.internal');
    // The gateway's browser tool sees that profile (OpenClaw's own answer).
    const answer = await chat(`[[tool:tool_call ${JSON.stringify({ id: 'browser', args: { action: 'profiles' } })}]]`);
    expect(answer).toContain('browser-rendering');

    await sleep();
    await wake();
    const second = gatewayCdpUrl();
    expect(second).toMatch(CDP_URL);
    expect(second).not.toBe(first);
    // Listing the profiles connected the tool to its browser (a session, through the outbound interception); the sleep closed it.
    const after = (await status()).browser as { mode: string; session: unknown; sessionsOpened: number };
    expect(after).toMatchObject({ mode: 'browser-rendering', session: null });
    expect(after.sessionsOpened).toBeGreaterThanOrEqual(1);
  });

  it('should resolve the browser host in the container to the outbound interception, and refuse there what the passthrough refuses', async () => {
    await ensureAwake();
    const resolved = inContainer('getent hosts browser.ondemand.internal').trim().split(/\s+/)[0] ?? '';
    expect(resolved).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(resolved.startsWith('127.')).toBe(false);
    // Not a WebSocket: the passthrough's own 426; a WebSocket with another boot's secret: 401.
    expect(inContainer("curl -s -o /dev/null -w '%{http_code}' http://browser.ondemand.internal/devtools/browser/not-this-boot").trim()).toBe('426');
    const upgrade = "-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='";
    expect(
      inContainer(`curl -s -o /dev/null -m 10 -w '%{http_code}' ${upgrade} http://browser.ondemand.internal/devtools/browser/${'0'.repeat(64)}`).trim(),
    ).toBe('401');
    // A name no outbound handler answers does not resolve (no internet here: NXDOMAIN at once, not a 5 s timeout).
    expect(inContainer('getent hosts nothing-answers-this.example || echo none').trim()).toBe('none');
  });

  describe('the real browser tool through the outbound interception', () => {
    let site: Server;
    let base = '';
    const pages: string[] = [];
    beforeAll(async () => {
      site = createServer((req, res) => {
        pages.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        if (req.url === '/next') res.end('<!doctype html><title>Second</title><main><p>twin-second-page-91c</p></main>');
        else res.end('<!doctype html><title>First</title><main><p>twin-first-page-7e2</p><a href="/next">Go to the second page</a></main>');
      });
      await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => site.close(() => r())));

    const browserCall = (args: Record<string, unknown>) => chat(`[[tool:tool_call ${JSON.stringify({ id: 'browser', args })}]]`, 'twin-browser');

    it('should open a page, read it and click its link, with one session metered and closed at sleep', async () => {
      const before = ((await ensureAwake()).browser as { sessionsOpened: number }).sessionsOpened;
      const opened = await browserCall({ action: 'open', url: `${base}/`, label: 'twin' });
      expect(opened).toContain(base);
      expect(pages).toContain('/');
      expect(await browserCall({ action: 'text', targetId: 'twin' })).toContain('twin-first-page-7e2');
      const snapshot = await browserCall({ action: 'snapshot', targetId: 'twin', interactive: true });
      const ref = /link \\?"Go to the second page\\?" \[ref=(\w+)\]/.exec(snapshot)?.[1];
      expect(ref, snapshot.slice(0, 2000)).toBeTruthy();
      const clicked = await browserCall({ action: 'act', kind: 'click', ref, targetId: 'twin' });
      await until(async () => pages.includes('/next') || undefined, 15_000, `the click to navigate (the tool answered: ${clicked.slice(0, 600)})`, 100);
      // The browser's first use changed no config (a generated password written into openclaw.json restarts the gateway mid-call).
      expect(inContainer('cat /tmp/openclaw/*.log | grep -c "requires gateway restart" || true').trim()).toBe('0');
      const during = await status();
      expect(during.browser).toMatchObject({ mode: 'browser-rendering', sessionsOpened: before + 1 });
      expect((during.browser as { session: unknown }).session).not.toBeNull();
      const asleep = await sleep();
      expect(asleep.browser).toMatchObject({ session: null, sessionsOpened: before + 1 });
      expect((asleep.browser as { hoursThisMonth: number }).hoursThisMonth).toBeGreaterThan(0);
    });
  });
});
