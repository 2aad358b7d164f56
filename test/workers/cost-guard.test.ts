/**
 * The cron's cost guard in workerd against a local stand-in of the GraphQL
 * Analytics API (realistic answers, errors, empty results, a 500): it reads
 * usage, projects, decides, and the Agents end in the right state.
 */
import { exports, env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { runCostGuard } from '../../src/cost/cost-guard.ts';
import type { Env } from '../../src/env.ts';
import { fakeContainer, resetFakeContainers } from '../support/fake-container.ts';
import { testClock } from './test-worker.ts';
import { SETTLED } from './settled.ts';

const NOW = Date.UTC(2026, 10, 10, 12, 0, 0); // 10 Nov: a third of the month gone
let counter = 0;

function setup(scenario: string | null, extra: Partial<Env> = {}) {
  const agent = `cost-${Date.now()}-${counter++}`;
  const base = inject('analyticsUrl');
  const testEnv: Env = {
    ...(env as unknown as Env),
    AGENT_NAME: agent,
    ...(scenario
      ? { CF_API_TOKEN: 'test-analytics-token', CF_ACCOUNT_ID: 'account-123', ANALYTICS_GRAPHQL_URL: `${base}/graphql/${scenario}` }
      : { CF_API_TOKEN: '', CF_ACCOUNT_ID: '' }),
    ...extra,
  };
  const stub = env.AGENT.get(env.AGENT.idFromName(agent));
  return { agent, stub, testEnv };
}

async function status(stub: ReturnType<typeof setup>['stub']): Promise<AgentStatus> {
  return ((await stub.lifecycleStatus()) as { ok: true; status: AgentStatus }).status;
}

describe('runCostGuard (workerd, local GraphQL stand-in)', () => {
  beforeEach(() => {
    testClock.offsetMs = 0;
  });
  afterEach(() => resetFakeContainers());

  it('should hibernate a running agent, with its backup done, when the projection passes the hard line', async () => {
    const { agent, stub, testEnv } = setup('full');
    await stub.lifecycleCommand('wake');
    await vi.waitFor(async () => expect((await status(stub)).state).toBe('ready'), SETTLED);
    fakeContainer(agent).disk['work.txt'] = 'saved before hibernation';

    const run = await runCostGuard(testEnv, NOW);
    expect(run.evaluation.source).toBe('graphql');
    expect(run.evaluation.projectedUsd).toBeGreaterThan(30);
    expect(run.evaluation.projectedUsd).toBeLessThan(40);
    expect(run.evaluation.decision).toMatchObject({ level: 'hard', hibernate: true });
    expect(run.agents).toEqual([{ agent, changed: true, previousLevel: null, state: 'hibernated' }]);

    const s = await status(stub);
    expect(s.state).toBe('hibernated');
    expect(s.hibernation).toMatchObject({ by: 'budget' });
    expect(s.backups.lastBackup).toMatchObject({ result: 'ok', files: 1 });
    expect(s.backups.lastBackup?.reason).toContain('before hibernation');
    expect(fakeContainer(agent).running).toBe(false);

    const refused = await stub.lifecycleCommand('wake');
    expect(refused).toMatchObject({ ok: false, error: { code: 'hibernated' } });
    expect((refused as unknown as { error: { message: string } }).error.message).toMatch(/budget: projected \$\d+\.\d\d > hard limit \$20\.00/);

    const noOverride = await stub.lifecycleCommand('resume');
    expect(noOverride).toMatchObject({ ok: false, error: { code: 'budget_exceeded' } });
    const resumed = await stub.lifecycleCommand('resume', { override: true });
    expect(resumed).toMatchObject({ ok: true, status: { state: 'sleeping' } });
  });

  it('should project the scheduled wakes still to come from the jobs, and count none while hibernated', async () => {
    const { agent, stub, testEnv } = setup(null);
    await stub.lifecycleCommand('wake');
    await vi.waitFor(async () => expect((await status(stub)).state).toBe('ready'), SETTLED);
    const now = Date.now();
    fakeContainer(agent).cronJobs = [
      {
        id: 'every-10',
        name: 'every ten minutes',
        enabled: true,
        schedule: { kind: 'every', everyMs: 600_000 },
        state: { nextRunAtMs: now + 600_000 },
        nextRunAtMs: now + 600_000,
      },
    ];
    await stub.lifecycleCommand('sleep');
    await vi.waitFor(async () => expect((await status(stub)).state).toBe('sleeping'), SETTLED);
    const withJobs = await runCostGuard(testEnv, now);
    const hoursLeft = (Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth() + 1, 1) - now) / 3_600_000;
    expect(withJobs.evaluation.scheduledWakes).toBeGreaterThan(Math.floor(hoursLeft * 6) - 2);
    expect(withJobs.evaluation.scheduledWakes).toBeLessThanOrEqual(Math.ceil(hoursLeft * 6) + 1);
    expect(withJobs.evaluation.scheduledUsd).toBeGreaterThan(0);
    expect(withJobs.evaluation.projectedUsd).toBeGreaterThanOrEqual(withJobs.evaluation.monthToDateUsd + withJobs.evaluation.scheduledUsd - 0.01);
    await stub.lifecycleCommand('hibernate', { reason: 'test', by: 'operator' });
    const hibernated = await runCostGuard(testEnv, now);
    expect(hibernated.evaluation.scheduledWakes).toBe(0);
    expect(hibernated.evaluation.scheduledUsd).toBe(0);
  });

  it("should price the backups kept in R2 and the month's R2 operations into the projection", async () => {
    const { agent, stub, testEnv } = setup(null);
    await stub.lifecycleCommand('wake');
    await vi.waitFor(async () => expect((await status(stub)).state).toBe('ready'), SETTLED);
    fakeContainer(agent).disk['big.bin'] = 'x'.repeat(200_000);
    expect(await stub.lifecycleBackup('test')).toMatchObject({ ok: true, backup: { result: 'ok' } });
    const free = await runCostGuard(testEnv, Date.now());
    expect(free.evaluation.backupBytes).toBeGreaterThan(200_000);
    expect(free.evaluation.r2Usd).toBe(0); // within R2's included amounts
    // Without included amounts and at a steep rate, the same backups and operations show in the month's figures.
    const pricing = JSON.stringify({
      r2: { includedStorageGbMonth: 0, includedClassA: 0, includedClassB: 0, storageGbMonthUsd: 10_000, classAMillionUsd: 1_000_000 },
    });
    const priced = await runCostGuard({ ...testEnv, PRICING_OVERRIDE: pricing }, Date.now());
    expect(priced.evaluation.r2Usd).toBeGreaterThan(1);
    expect(priced.evaluation.projectedUsd - free.evaluation.projectedUsd).toBeCloseTo(priced.evaluation.r2Usd ?? 0, 1);
    await stub.lifecycleCommand('stop');
  });

  it('should price the Discord relay from its own meter so far, and as held for the rest of the month', async () => {
    const { testEnv } = setup(null);
    // No included amounts, and a GB-second at $1: the relay's figures show in dollars.
    const pricing = JSON.stringify({ durableObjects: { includedGbSeconds: 0, includedRequests: 0, gbSecondMillionUsd: 1_000_000 } });
    const now = Date.now();
    const without = await runCostGuard({ ...testEnv, PRICING_OVERRIDE: pricing, DISCORD_BOT_TOKEN: '' }, now);
    expect(without.evaluation.discordRelay).toBeUndefined();
    const withBot = await runCostGuard({ ...testEnv, PRICING_OVERRIDE: pricing, DISCORD_BOT_TOKEN: 'bot-token-for-the-meter' }, now);
    const relay = withBot.evaluation.discordRelay;
    const month = new Date(now);
    const secondsLeft = (Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1) - now) / 1000;
    const secondsGone = (now - Date.UTC(month.getUTCFullYear(), month.getUTCMonth(), 1)) / 1000;
    // Projected: at least the rest of the month held, at 0.125 GB.
    expect(relay?.gbSeconds).toBeGreaterThanOrEqual(Math.floor(secondsLeft * 0.125));
    expect(withBot.evaluation.projectedUsd - without.evaluation.projectedUsd).toBeCloseTo(relay?.usd ?? 0, 0);
    // So far: what the relay metered (it held the session for seconds in these tests at most), not the month's part gone.
    const metered = await env.DISCORD_RELAY!.get(env.DISCORD_RELAY!.idFromName('relay')).usage();
    expect(metered.heldSeconds).toBeLessThan(secondsGone);
    expect(withBot.evaluation.monthToDateUsd - without.evaluation.monthToDateUsd).toBeLessThanOrEqual(metered.heldSeconds * 0.125 + 1);
  });

  it('should change nothing more when the cron runs twice', async () => {
    const { stub, testEnv } = setup('full');
    const first = await runCostGuard(testEnv, NOW);
    const second = await runCostGuard(testEnv, NOW + 60_000);
    expect(first.agents[0]?.changed).toBe(true);
    expect(second.agents[0]?.changed).toBe(false);
    const s = await status(stub);
    expect(s.state).toBe('hibernated');
    expect(s.cost.decisions).toHaveLength(1);
    expect(s.history.filter((h) => h.to === 'hibernated')).toHaveLength(1);
  });

  it('should shorten sleepAfter over the soft line and give it back when the projection falls', async () => {
    const { stub, testEnv } = setup('half');
    const soft = await runCostGuard(testEnv, NOW);
    expect(soft.evaluation.projectedUsd).toBeGreaterThan(15);
    expect(soft.evaluation.projectedUsd).toBeLessThan(20);
    expect(soft.evaluation.decision.level).toBe('soft');
    const shortened = await status(stub);
    expect(shortened.state).toBe('stopped');
    expect(shortened.sleepAfterMs).toBeLessThan(600_000);
    expect(shortened.sleepAfterMs).toBe(soft.evaluation.decision.sleepAfterMs);
    expect(shortened.sleepAfterMs).toBeGreaterThanOrEqual(Math.min(300_000, 600_000));

    const low = await runCostGuard({ ...testEnv, ANALYTICS_GRAPHQL_URL: `${inject('analyticsUrl')}/graphql/low` }, NOW);
    expect(low.evaluation.decision.level).toBe('ok');
    expect((await status(stub)).sleepAfterMs).toBe(600_000);
    expect((await status(stub)).cost.decisions.map((d) => d.level)).toEqual(['soft', 'ok']);
  });

  it.each([
    ['errors', 'GraphQL errors: does not have access'],
    ['500', 'HTTP 500'],
    ['noaccount', 'no account'],
  ])('should fall back to the self-meter and say why when the API answers %s', async (scenario, reason) => {
    const { stub, testEnv } = setup(scenario);
    const run = await runCostGuard(testEnv, NOW);
    expect(run.evaluation.source).toBe('self-meter');
    expect(run.evaluation.fallbackReason).toContain(reason);
    expect(run.evaluation.decision.level).toBe('ok');
    expect((await status(stub)).cost.last).toMatchObject({ source: 'self-meter' });
  });

  it('should use the self-meter without a token, and price what the agent really ran', async () => {
    const { stub, testEnv } = setup(null);
    await stub.lifecycleCommand('wake');
    await vi.waitFor(async () => expect((await status(stub)).state).toBe('ready'), SETTLED);
    testClock.offsetMs = 3 * 3_600_000; // three hours of running, metered by the DO
    const run = await runCostGuard(testEnv, Date.now() + testClock.offsetMs);
    expect(run.evaluation.source).toBe('self-meter');
    expect(run.evaluation.fallbackReason).toContain('no CF_API_TOKEN');
    expect(run.evaluation.monthToDateUsd).toBeGreaterThanOrEqual(5);
    expect(run.evaluation.burnUsdPerHour).toBeGreaterThan(0);
    await stub.lifecycleCommand('stop');
  });

  it('should read an account without container usage as zero usage (the plan fee only)', async () => {
    const { testEnv } = setup('empty');
    const run = await runCostGuard(testEnv, NOW);
    expect(run.evaluation).toMatchObject({ source: 'graphql', monthToDateUsd: 5, projectedUsd: 5 });
  });

  it('should post one notification to the webhook when a threshold is crossed', async () => {
    const hook = `${inject('analyticsUrl')}/webhook`;
    const before = ((await (await fetch(hook)).json()) as unknown[]).length;
    const { testEnv } = setup('full', { NOTIFY_WEBHOOK_URL: hook });
    expect((await runCostGuard(testEnv, NOW)).notified).toBe(true);
    expect((await runCostGuard(testEnv, NOW)).notified).toBe(false);
    const posts = (await (await fetch(hook)).json()) as Array<{ level: string }>;
    expect(posts.length - before).toBe(1);
    expect(posts.at(-1)).toMatchObject({ event: 'openclaw-ondemand:budget', level: 'hard' });
  });

  it("should show the month's figure computed on request, marked as not a cron decision, before any cron run", async () => {
    const r = await (exports as unknown as { default: Fetcher }).default.fetch('https://poc.example.com/api/cost', {
      headers: { 'cf-connecting-ip': '127.0.0.1' },
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as {
      current: { projectedUsd: number; monthToDateUsd: number; source: string; cronDecision: boolean; decision: { level: string } };
    };
    expect(body.current.cronDecision).toBe(false);
    expect(body.current.source).toBe('self-meter');
    expect(body.current.projectedUsd).toBeGreaterThanOrEqual(5); // the Workers Paid plan at least
    expect(body.current.decision.level).toMatch(/^(ok|soft|hard)$/);
  });

  it('should answer GET /api/cost with the last evaluation and the thresholds', async () => {
    const { testEnv } = setup('low', { AGENT_NAME: 'default' });
    await runCostGuard(testEnv, NOW);
    const r = await (exports as unknown as { default: Fetcher }).default.fetch('https://poc.example.com/api/cost', {
      headers: { 'cf-connecting-ip': '127.0.0.1' },
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { last: { source: string; decision: { level: string } }; thresholds: { softUsd: number; hardUsd: number } };
    expect(body.last).toMatchObject({ source: 'graphql', decision: { level: 'ok' } });
    expect(body.thresholds).toMatchObject({ softUsd: 15, hardUsd: 20 });
  });
  it('should add the model calls the Worker metered at egress to the month so far and, at the recent rate, to the projection', async () => {
    const { stub, testEnv } = setup(null);
    const before = (await runCostGuard(testEnv, Date.now())).evaluation;
    expect(before.modelSoFarUsd).toBe(0);
    const usage = { model: 'gpt-5.4', inputTokens: 1_000_000, outputTokens: 100_000, cachedTokens: 0, cacheWriteTokens: 0 };
    await stub.recordModelCall({ provider: 'openai', usage, usd: 4, priced: true, status: 200, truncated: false });
    const after = (await runCostGuard(testEnv, Date.now())).evaluation;
    expect(after.modelSoFarUsd).toBe(4);
    expect(after.modelCalls).toBe(1);
    expect(after.monthToDateUsd - before.monthToDateUsd).toBeCloseTo(4, 1);
    // $4 in the last 24 h, carried over the hours left in the month.
    expect(after.modelUsd).toBeCloseTo(4 + (4 / 24) * after.hoursLeft, 0);
    expect(after.projectedUsd - before.projectedUsd).toBeCloseTo(after.modelUsd!, 0);
    const summary = (await stub.costSummary()) as { ok: true; cost: { model: { calls: number; usd: number; byModel: Record<string, unknown> } } };
    expect(summary.cost.model).toMatchObject({ calls: 1, usd: 4, byModel: { 'gpt-5.4': { calls: 1, inputTokens: 1_000_000 } } });
  });
});
