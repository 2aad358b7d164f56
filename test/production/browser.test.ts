/**
 * The agent's browser on the production path: the `Agent` class with the
 * production wrangler.jsonc's `browser` binding gives each boot's gateway a
 * CDP URL of its own (Browser Rendering through the passthrough), which the
 * configure step turns into OpenClaw's default browser profile. What the twin
 * cannot show: the Containers outbound interception of that host (the twin's
 * sidecar does not intercept egress) and a real Browser Rendering session
 * (wrangler dev has no local browser behind the binding) — those are tested
 * in workerd against a local Chromium (test/workers/browser.test.ts).
 */
import { describe, expect, inject, it } from 'vitest';
import { chat, ensureAwake, inContainer, sleep, status, wake } from './twin-client.ts';

const CDP_URL = /^ws:\/\/browser\.ondemand\.internal\/devtools\/browser\/[0-9a-f]{64}$/;

/** This boot's CDP URL as the gateway has it: in its environment (openclaw.json names it only as ${BROWSER_CDP_URL}). */
const gatewayCdpUrl = () => inContainer('tr "\\0" "\\n" < /proc/$(cat /tmp/openclaw-boot/gateway.pid)/environ | sed -n "s/^BROWSER_CDP_URL=//p"').trim();

describe.skipIf(inject('twinSkipped') !== '')('production twin: the agent\'s browser', () => {
  it('should give the gateway this boot\'s Browser Rendering CDP URL as its browser profile, and a new one at the next boot', async () => {
    const ready = await ensureAwake();
    expect(ready.browser).toMatchObject({ mode: 'browser-rendering', session: null });
    const config = JSON.parse(inContainer('cat "${OPENCLAW_STATE_DIR:-$OPENCLAW_HOME/.openclaw}/openclaw.json"')) as { browser: { enabled: boolean; defaultProfile: string; profiles: Record<string, { cdpUrl: string }>; ssrfPolicy: { allowedHostnames: string[] } } };
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
    expect((await status()).browser).toMatchObject({ mode: 'browser-rendering', session: null, sessionsOpened: 0 });
  });
});
