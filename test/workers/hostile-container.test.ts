/**
 * What a leaked low-privilege token and an untrusted container (a
 * prompt-injected agent that answers on the gateway's port) can try, in
 * workerd: paths the gateway reads as the Worker's own (its admin RPC among
 * them) never reach it, and the cost guard's hard line holds on the money
 * spent whatever the container answers.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { runCostGuard } from '../../src/cost/cost-guard.ts';
import type { Env } from '../../src/env.ts';
import { fakeContainer, resetFakeContainers } from '../support/fake-container.ts';
import { accessEnv, fetchAs, loadTeam, token, fetchLocal } from './access-team.ts';
import { SETTLED } from './settled.ts';

const BASE = 'https://poc.example.com';
/** The local mode: loopback clients are the owner. */
const asOwner = fetchLocal;
const ownerStatus = async () => (await (await asOwner('/api/status')).json()) as AgentStatus;

/** Paths that the gateway reads as /api/…, /_ondemand/… or the browser passthrough (its canonical forms). */
const DISGUISED = [
  '/API/v1/admin/rpc',
  '/Api/V1/Admin/Rpc',
  '/x/..%2Fapi/v1/admin/rpc',
  '/_ondemand/..%2Fapi/v1/admin/rpc',
  '/%2Fapi/v1/admin/rpc',
  '//api//v1//admin//rpc',
  '/%61pi/v1/admin/rpc',
  '/x/%252e%252e/api/v1/admin/rpc',
  '/api%2Fv1%2Fadmin%2Frpc',
  '/_ondemand/x',
  '/_ONDEMAND/',
  '/__ondemand-cdp',
  '/%5F_ondemand-cdp/secret',
];

describe("paths the gateway would read as the Worker's own (workerd)", () => {
  beforeAll(async () => {
    await loadTeam();
    fakeContainer('default').bootProbes = 1;
    await asOwner('/api/wake', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await vi.waitFor(async () => expect((await ownerStatus()).state).toBe('ready'), SETTLED);
  });

  it.each(DISGUISED)('should never proxy %s, for the owner either, and refuse it', async (path) => {
    const gateway = fakeContainer('default');
    const before = { rpc: gateway.rpc.length, requests: gateway.requests.length };
    const call = JSON.stringify({ method: 'config.apply', params: { raw: '{}' } });
    const post = await asOwner(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: call });
    const socket = await asOwner(path, { headers: { upgrade: 'websocket' } });
    for (const r of [post, socket]) {
      // Not found; the browser passthrough's own path says it is the container's only.
      expect([403, 404]).toContain(r.status);
      expect(['not_found', 'forbidden']).toContain(((await r.json()) as { error: { code: string } }).error.code);
    }
    expect(gateway.rpc.length).toBe(before.rpc);
    expect(gateway.requests.length).toBe(before.requests);
  });

  it("should refuse a path percent-encoded past the gateway's decoding limit", async () => {
    let path = '/api/v1/admin/rpc';
    for (let i = 0; i < 34; i++) path = path.replace(/%/g, '%25').replace('/api', '/%61pi');
    const before = fakeContainer('default').requests.length;
    const r = await asOwner(`/x${path.replace('/api', '%2Fapi')}`);
    expect([400, 404]).toContain(r.status);
    expect(fakeContainer('default').requests.length).toBe(before);
  });

  it('should keep a service token without the gateway route out of the gateway, whatever the path looks like', async () => {
    const jwt = await token({ common_name: 'clawctl.access', email: undefined });
    const limited = accessEnv({ SERVICE_TOKEN_ROUTES: 'status' });
    const before = { rpc: fakeContainer('default').rpc.length, requests: fakeContainer('default').requests.length };
    const as = (path: string, init: RequestInit = {}) =>
      fetchAs(new Request(`${BASE}${path}`, { ...init, headers: { ...init.headers, 'cf-access-jwt-assertion': jwt } }), limited);
    expect(
      (await as('/_ondemand/..%2Fapi/v1/admin/rpc', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"method":"health"}' })).status,
    ).toBe(404);
    expect((await as('/_ondemand/x', { headers: { upgrade: 'websocket' } })).status).toBe(404);
    expect((await as('/v1/models')).status).toBe(403);
    expect((await as('/chat', { headers: { upgrade: 'websocket' } })).status).toBe(403);
    // Its own route still answers.
    expect((await as('/api/status')).status).toBe(200);
    expect(fakeContainer('default').rpc.length).toBe(before.rpc);
    expect(fakeContainer('default').requests.length).toBe(before.requests);
  });

  it("should still proxy the gateway's own paths, capitals and encoded characters included", async () => {
    for (const path of ['/assets/Index-B7xQ.js', '/v1/chat/completions', '/chat?session=a%2Fb', '/Control/%7Euser']) {
      const r = await asOwner(path);
      expect(r.status, path).toBe(200);
      expect(((await r.json()) as { gateway: string }).gateway).toBe('fake');
    }
  });
});

describe('the cost guard against an untrusted container (workerd)', () => {
  const NOW = Date.UTC(2026, 10, 10, 12, 0, 0);
  let counter = 0;
  afterEach(() => resetFakeContainers());

  /** An Agent that read a hostile schedule at its last sleep: jobs built to be expensive to expand, with megabytes of names. */
  async function hostileAgent(scenario: string) {
    const agent = `hostile-cost-${counter++}`;
    const testEnv: Env = {
      ...(env as unknown as Env),
      AGENT_NAME: agent,
      CF_API_TOKEN: 'test-analytics-token',
      CF_ACCOUNT_ID: 'account-123',
      ANALYTICS_GRAPHQL_URL: `${inject('analyticsUrl')}/graphql/${scenario}`,
    };
    const stub = env.AGENT.get(env.AGENT.idFromName(agent));
    await stub.lifecycleCommand('wake');
    await vi.waitFor(async () => expect(((await stub.lifecycleStatus()) as { status: AgentStatus }).status.state).toBe('ready'), SETTLED);
    const gateway = fakeContainer(agent);
    const soon = Date.now() + 60_000;
    gateway.cronJobs = [
      ...Array.from({ length: 150 }, (_, i) => ({
        id: `s${i}`,
        name: `${'S'.repeat(2_000)}${i}`,
        enabled: true,
        schedule: { kind: 'every', everyMs: 1_000 },
        nextRunAtMs: soon + i,
        state: { nextRunAtMs: soon + i },
      })),
      ...Array.from({ length: 150 }, (_, i) => ({
        id: `c${i}`,
        name: `${'C'.repeat(2_000)}${i}`,
        enabled: true,
        schedule: { kind: 'cron', expr: '* * * * * *' },
        nextRunAtMs: soon + i,
        state: { nextRunAtMs: soon + i },
      })),
    ];
    gateway.hostileRpc['cron.runs'] = () => ({ entries: [{ action: 'finished', status: 'ok', runAtMs: soon, durationMs: -1e15 }] });
    await stub.lifecycleCommand('sleep');
    await vi.waitFor(async () => expect(((await stub.lifecycleStatus()) as { status: AgentStatus }).status.state).toBe('sleeping'), SETTLED);
    return { agent, stub, testEnv };
  }

  it('should hibernate within one cron run when the month so far is over the hard line, whatever the schedule the container made', async () => {
    const { agent, stub, testEnv } = await hostileAgent('spent');
    const run = await runCostGuard(testEnv, NOW);
    expect(run.evaluation.monthToDateUsd).toBeGreaterThan(20);
    expect(run.evaluation.decision).toMatchObject({ level: 'hard', hibernate: true });
    expect(run.evaluation.warnings?.join(' ')).toContain('too large to work out');
    expect(run.agents).toEqual([expect.objectContaining({ agent, state: 'hibernated' })]);
    const status = ((await stub.lifecycleStatus()) as { status: AgentStatus }).status;
    expect(status.state).toBe('hibernated');
    expect(status.schedule.jobs).toBeLessThanOrEqual(200);
  });

  it('should price an Agent whose full report fails from its own meter, without failing the run', async () => {
    const { testEnv } = await hostileAgent('low');
    // A stub whose full report fails (as a Durable Object over its CPU limit would), whose meter-only report answers.
    const failing = {
      idFromName: (name: string) => env.AGENT.idFromName(name),
      get: (id: DurableObjectId) => {
        const real = env.AGENT.get(id);
        return {
          usageReport: (hours: number, withSchedule = true) =>
            withSchedule ? Promise.reject(new Error('Durable Object exceeded its CPU time limit')) : real.usageReport(hours, false),
          applyBudget: (e: Parameters<typeof real.applyBudget>[0]) => real.applyBudget(e),
        };
      },
    };
    const run = await runCostGuard({ ...testEnv, CF_API_TOKEN: '', AGENT: failing as unknown as Env['AGENT'] }, NOW);
    expect(run.evaluation.source).toBe('self-meter');
    expect(run.evaluation.warnings?.join(' ')).toContain('usage report failed (Durable Object exceeded its CPU time limit); priced from its self-meter');
    expect(run.evaluation.monthToDateUsd).toBeGreaterThanOrEqual(5);
    expect(run.agents).toHaveLength(1);
  });
});
