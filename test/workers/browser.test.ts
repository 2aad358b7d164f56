/**
 * The CDP passthrough in workerd, a local Chromium standing in for the
 * Browser Rendering binding: the container's connection comes in through the
 * Worker's ContainerProxy entrypoint (as the Containers outbound handler
 * sends it), the Agent checks this boot's secret, joins its one browser
 * session and pipes frames unchanged both ways; the session is kept across
 * reconnects and closed when the assistant sleeps or hibernates; concurrent
 * connections share it, and their number is capped.
 */
import { env, exports } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import type { BrowserSessions } from '../../src/browser/browser-sessions.ts';
import { CDP_PATH_PREFIX, CdpPassthrough, MAX_PIPES, type CdpStatus } from '../../src/browser/cdp-passthrough.ts';
import { CdpClient, chromiumSocket } from '../support/local-chromium-sessions.ts';
import { fakeContainer, resetFakeContainers } from '../support/fake-container.ts';
import { browserStandIn, testClock } from './test-worker.ts';
import { SETTLED } from './settled.ts';

const chromium = inject('chromiumCdp');

let counter = 0;
function browserAgent() {
  const name = `browser-${Date.now()}-${counter++}`;
  const id = env.AGENT.idFromName(name);
  return { name, id, stub: env.AGENT.get(id) };
}
type Agent = ReturnType<typeof browserAgent>;

async function status(agent: Agent): Promise<AgentStatus> {
  const result = (await agent.stub.lifecycleStatus()) as { ok: true; status: AgentStatus };
  expect(result.ok).toBe(true);
  return result.status;
}

async function settled(agent: Agent, state: string): Promise<AgentStatus> {
  let last: AgentStatus | null = null;
  await vi.waitFor(async () => {
    last = await status(agent);
    expect(last.state).toBe(state);
    expect(last.phase).toBeNull();
    expect(last.stopping).toBeNull();
  }, SETTLED);
  return last!;
}

async function wake(agent: Agent): Promise<string> {
  expect((await agent.stub.lifecycleCommand('wake')).ok).toBe(true);
  await settled(agent, 'ready');
  const url = fakeContainer(agent.name).lastEnv?.BROWSER_CDP_URL;
  expect(url).toMatch(/^ws:\/\/browser\.ondemand\.internal\/devtools\/browser\/[0-9a-f]{64}$/);
  return url!;
}

/** What the container's browser tool does: a CDP WebSocket to BROWSER_CDP_URL, through the outbound handler. */
async function connectFromContainer(agent: Agent, cdpUrl: string): Promise<Response> {
  const outbound = (exports as unknown as { ContainerProxy: (o: { props: Record<string, unknown> }) => Fetcher }).ContainerProxy({
    props: { containerId: agent.id.toString(), className: 'TestAgent', enableInternet: false, interceptAll: false },
  });
  return outbound.fetch(cdpUrl.replace(/^ws:/, 'http:'), { headers: { Upgrade: 'websocket' } });
}

async function cdpFromContainer(agent: Agent, cdpUrl: string): Promise<CdpClient> {
  const response = await connectFromContainer(agent, cdpUrl);
  expect(response.status).toBe(101);
  response.webSocket!.accept();
  return new CdpClient(response.webSocket!);
}

/** The targets of one browser context, asked of Chromium directly (not through the passthrough). */
async function targetsIn(contextId: string): Promise<string[]> {
  const direct = new CdpClient(await chromiumSocket(chromium!));
  try {
    const { targetInfos } = (await direct.send('Target.getTargets')) as { targetInfos: Array<{ targetId: string; browserContextId?: string }> };
    return targetInfos.filter((t) => t.browserContextId === contextId).map((t) => t.targetId);
  } finally {
    direct.close();
  }
}

describe.skipIf(!chromium)(
  `the CDP passthrough (workerd, a local Chromium for Browser Rendering)${chromium ? '' : ' (SKIPPED: /usr/bin/chromium is missing)'}`,
  () => {
    beforeAll(() => {
      browserStandIn.httpUrl = chromium;
    });
    afterEach(() => {
      testClock.offsetMs = 0;
      resetFakeContainers();
    });

    it('should pipe CDP frames unchanged both ways, keep the session across reconnects, and close it at sleep', async () => {
      const agent = browserAgent();
      const cdpUrl = await wake(agent);
      expect((await status(agent)).browser).toMatchObject({ mode: 'browser-rendering', session: null, sessionsOpened: 0 });

      // Container → browser and back: a command and its reply, then events the browser sends unasked.
      const first = await cdpFromContainer(agent, cdpUrl);
      const version = await first.send('Browser.getVersion');
      expect(String(version.product)).toMatch(/Chrome/);
      const s1 = (await status(agent)).browser as CdpStatus;
      expect(s1.session).toMatchObject({ connections: 1 });
      const sessionId = s1.session!.id;
      const { targetId } = await first.send('Target.createTarget', { url: 'about:blank', browserContextId: sessionId });
      await first.send('Target.setDiscoverTargets', { discover: true });
      await vi.waitFor(() =>
        expect(first.events.some((e) => e.method === 'Target.targetCreated' && (e.params.targetInfo as { targetId: string }).targetId === targetId)).toBe(true),
      );
      // Unchanged: the frames the client got are Chromium's own JSON, ids and all.
      expect(JSON.parse(first.frames[0]!)).toMatchObject({ id: 1, result: { product: version.product } });

      // A reconnect (the browser tool reconnects per action) joins the same session: the page is still there.
      first.close();
      await first.closed;
      const second = await cdpFromContainer(agent, cdpUrl);
      const { targetInfos } = (await second.send('Target.getTargets')) as { targetInfos: Array<{ targetId: string }> };
      expect(targetInfos.map((t) => t.targetId)).toContain(targetId);
      const stats = browserStandIn.stats.get(agent.name)!;
      expect(stats.acquired).toBe(1);
      expect(stats.connected).toBe(2);
      expect(stats.keepAliveMs).toEqual([600_000]);
      expect(((await status(agent)).browser as CdpStatus).sessionsOpened).toBe(1);

      // An hour of use, then sleep: the connection ends, the session (and its page) is gone, its hours are metered.
      testClock.offsetMs += 3_600_000;
      expect((await agent.stub.lifecycleCommand('sleep')).ok).toBe(true);
      expect((await second.closed).code).toBe(1001);
      const asleep = await settled(agent, 'sleeping');
      expect(asleep.browser).toMatchObject({ mode: 'browser-rendering', session: null, sessionsOpened: 1 });
      expect((asleep.browser as CdpStatus).hoursThisMonth).toBeGreaterThanOrEqual(1);
      expect((asleep.browser as CdpStatus).hoursThisMonth).toBeLessThan(1.01);
      await vi.waitFor(() => expect(stats.closed).toEqual([sessionId]));
      await vi.waitFor(async () => expect(await targetsIn(sessionId)).toEqual([]));
      expect((await agent.stub.usageReport(24))?.browser.monthHours).toBeCloseTo((asleep.browser as CdpStatus).hoursThisMonth, 2);

      // Nothing connects while it sleeps; that boot's secret died with it: the next boot has its own and a new session.
      expect((await connectFromContainer(agent, cdpUrl)).status).toBe(409);
      const nextUrl = await wake(agent);
      expect(nextUrl).not.toBe(cdpUrl);
      expect((await connectFromContainer(agent, cdpUrl)).status).toBe(401);
      const third = await cdpFromContainer(agent, nextUrl);
      expect(String((await third.send('Browser.getVersion')).product)).toMatch(/Chrome/);
      expect(stats.acquired).toBe(2);
      third.close();
    });

    it('should open one session for concurrent connections, meter its open time, close it and every pipe at sleep, and refuse one pipe over the cap', async () => {
      const agent = browserAgent();
      const cdpUrl = await wake(agent);
      // The browser tool (or whatever runs in the container) opens MAX_PIPES connections at once.
      const responses = await Promise.all(Array.from({ length: MAX_PIPES }, () => connectFromContainer(agent, cdpUrl)));
      expect(responses.map((r) => r.status)).toEqual(Array(MAX_PIPES).fill(101));
      const clients = responses.map((r) => {
        r.webSocket!.accept();
        return new CdpClient(r.webSocket!);
      });
      const stats = browserStandIn.stats.get(agent.name)!;
      expect(stats.acquired).toBe(1);
      expect(stats.connected).toBe(MAX_PIPES);
      const open = (await status(agent)).browser as CdpStatus;
      expect(open).toMatchObject({ sessionsOpened: 1, session: { connections: MAX_PIPES } });
      // Every pipe works, on the one session.
      for (const client of clients) expect(String((await client.send('Browser.getVersion')).product)).toMatch(/Chrome/);

      // One more while they are open: refused, and nothing is acquired or joined for it.
      const over = await connectFromContainer(agent, cdpUrl);
      expect(over.status).toBe(429);
      expect(await over.text()).toContain(`at most ${MAX_PIPES}`);
      expect(stats.acquired).toBe(1);
      expect(stats.connected).toBe(MAX_PIPES);
      // A pipe closed frees its place.
      clients.pop()!.close();
      await vi.waitFor(async () => expect(((await status(agent)).browser as CdpStatus).session?.connections).toBe(MAX_PIPES - 1));
      const again = await connectFromContainer(agent, cdpUrl);
      expect(again.status).toBe(101);
      again.webSocket!.accept();
      clients.push(new CdpClient(again.webSocket!));

      // An hour of use by all of them is one browser-hour; at sleep every pipe and the session end.
      testClock.offsetMs += 3_600_000;
      expect((await agent.stub.lifecycleCommand('sleep')).ok).toBe(true);
      for (const client of clients) expect((await client.closed).code).toBe(1001);
      const asleep = (await settled(agent, 'sleeping')).browser as CdpStatus;
      expect(asleep).toMatchObject({ session: null, sessionsOpened: 1 });
      expect(asleep.hoursThisMonth).toBeGreaterThanOrEqual(1);
      expect(asleep.hoursThisMonth).toBeLessThan(1.01);
      await vi.waitFor(() => expect(stats.closed).toEqual([open.session!.id]));
      await vi.waitFor(async () => expect(await targetsIn(open.session!.id)).toEqual([]));
    });

    it('should close the browser session when the assistant hibernates', async () => {
      const agent = browserAgent();
      const cdpUrl = await wake(agent);
      const client = await cdpFromContainer(agent, cdpUrl);
      await client.send('Browser.getVersion');
      const sessionId = ((await status(agent)).browser as CdpStatus).session!.id;
      expect((await agent.stub.lifecycleCommand('hibernate', { reason: 'test' })).ok).toBe(true);
      await client.closed;
      const hibernated = await settled(agent, 'hibernated');
      expect(hibernated.browser).toMatchObject({ session: null });
      await vi.waitFor(() => expect(browserStandIn.stats.get(agent.name)!.closed).toEqual([sessionId]));
    });

    it("should refuse a connection without this boot's secret, or without an upgrade, and open no session for it", async () => {
      const agent = browserAgent();
      const cdpUrl = await wake(agent);
      const wrong = cdpUrl.replace(/[0-9a-f]{64}$/, '0'.repeat(64));
      expect((await connectFromContainer(agent, wrong)).status).toBe(401);
      expect((await connectFromContainer(agent, cdpUrl.replace(/\/[0-9a-f]{64}$/, '/'))).status).toBe(401);
      const plain = await (exports as unknown as { ContainerProxy: (o: { props: Record<string, unknown> }) => Fetcher })
        .ContainerProxy({ props: { containerId: agent.id.toString(), className: 'TestAgent' } })
        .fetch(cdpUrl.replace(/^ws:/, 'http:'));
      expect(plain.status).toBe(426);
      expect(browserStandIn.stats.get(agent.name)!.acquired).toBe(0);
    });

    it("should refuse the passthrough's path from outside the container, through the Worker", async () => {
      const agent = browserAgent();
      const cdpUrl = await wake(agent);
      const secret = cdpUrl.split('/').at(-1)!;
      const response = await (exports as unknown as { default: Fetcher }).default.fetch(`https://poc.example.com/__ondemand-cdp/${secret}`, {
        headers: { Upgrade: 'websocket' },
      });
      expect(response.status).toBe(403);
      expect(browserStandIn.stats.get(agent.name)!.acquired).toBe(0);
    });
  },
);

/** A browser provider the test answers by hand: every acquisition waits until the test settles it. */
class ManualSessions implements BrowserSessions {
  readonly acquiring: Array<{ resolve: (id: string) => void; reject: (error: Error) => void }> = [];
  readonly closed: string[] = [];
  /** The far ends of every connection handed out, by session. */
  readonly peers = new Map<string, WebSocket[]>();
  /** Sessions the provider no longer knows (a connection to one fails). */
  readonly gone = new Set<string>();

  acquire(): Promise<string> {
    return new Promise((resolve, reject) => this.acquiring.push({ resolve, reject }));
  }

  async connect(sessionId: string): Promise<WebSocket | null> {
    if (this.gone.has(sessionId) || this.closed.includes(sessionId)) return null;
    const pair = new WebSocketPair();
    pair[0].accept();
    pair[1].accept();
    this.peers.set(sessionId, [...(this.peers.get(sessionId) ?? []), pair[1]]);
    return pair[0];
  }

  async close(sessionId: string): Promise<void> {
    this.closed.push(sessionId);
  }
}

describe('CdpPassthrough (workerd, a provider answered by hand)', () => {
  const HOUR_MS = 3_600_000;
  function passthrough() {
    const sessions = new ManualSessions();
    const clock = { now: Date.UTC(2026, 10, 10, 12) };
    const cdp = new CdpPassthrough({ sessions, now: () => clock.now, log: () => {}, onChange: () => {} });
    const connect = (secret: string) => cdp.accept(new Request(`https://agent.internal${CDP_PATH_PREFIX}${secret}`, { headers: { upgrade: 'websocket' } }));
    return { sessions, clock, cdp, connect };
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

  it('should acquire once for connections that arrive together, and close a session that arrives after the boot ended', async () => {
    const { sessions, clock, cdp, connect } = passthrough();
    const { secret } = await cdp.newBootSecret();
    const pending = [connect(secret), connect(secret), connect(secret)];
    await vi.waitFor(() => expect(sessions.acquiring).toHaveLength(1));
    await settle();
    expect(sessions.acquiring).toHaveLength(1);

    // The assistant sleeps while the provider is still starting the browser; the browser arrives an hour later.
    await cdp.close('the assistant is sleeping');
    clock.now += HOUR_MS;
    sessions.acquiring[0]!.resolve('late-session');
    expect((await Promise.all(pending)).map((r) => r.status)).toEqual([409, 409, 409]);
    await vi.waitFor(() => expect(sessions.closed).toEqual(['late-session']));
    expect(sessions.peers.size).toBe(0);
    expect(cdp.toJSON()).toMatchObject({ sessionId: null, sessions: 1 });
    // Recorded and metered from its request to its close.
    expect(cdp.meterReport(24).monthHours).toBeCloseTo(1, 3);
  });

  it("should give a new boot its own session when the last boot's acquisition is still under way", async () => {
    const { sessions, cdp, connect } = passthrough();
    const first = await cdp.newBootSecret();
    const stale = connect(first.secret);
    await vi.waitFor(() => expect(sessions.acquiring).toHaveLength(1));
    await cdp.close('the assistant is sleeping');
    const next = await cdp.newBootSecret();
    const fresh = connect(next.secret);
    await settle();
    expect(sessions.acquiring).toHaveLength(1);
    sessions.acquiring[0]!.resolve('old-boot');
    await vi.waitFor(() => expect(sessions.acquiring).toHaveLength(2));
    sessions.acquiring[1]!.resolve('new-boot');
    expect((await stale).status).toBe(409);
    expect((await fresh).status).toBe(101);
    expect(sessions.closed).toEqual(['old-boot']);
    expect(cdp.toJSON()).toMatchObject({ sessionId: 'new-boot', sessions: 2 });
  });

  it('should close a session that is gone before replacing it, and meter both', async () => {
    const { sessions, clock, cdp, connect } = passthrough();
    const { secret } = await cdp.newBootSecret();
    const first = connect(secret);
    await vi.waitFor(() => expect(sessions.acquiring).toHaveLength(1));
    sessions.acquiring[0]!.resolve('first');
    expect((await first).status).toBe(101);
    clock.now += HOUR_MS;
    sessions.gone.add('first');
    const second = connect(secret);
    await vi.waitFor(() => expect(sessions.acquiring).toHaveLength(2));
    expect(sessions.closed).toEqual(['first']);
    sessions.acquiring[1]!.resolve('second');
    expect((await second).status).toBe(101);
    clock.now += HOUR_MS;
    await cdp.close('the assistant is sleeping');
    expect(sessions.closed).toEqual(['first', 'second']);
    expect(cdp.meterReport(24).monthHours).toBeCloseTo(2, 3);
    expect(cdp.toJSON()).toMatchObject({ sessionId: null, sessions: 2 });
  });
});
