/**
 * The scheduled controller: reads the month's usage (GraphQL Analytics, or
 * the self-meter when there is no token or the API fails), projects the
 * month, decides with the budget policy and sends the decision to every
 * Agent, which applies it through its machine. It only sends events; the
 * machines decide. Threshold crossings are posted to NOTIFY_WEBHOOK_URL.
 */
import { parseConfig } from '../config.ts';
import type { Env } from '../env.ts';
import type { BudgetEvaluation } from './budget-keeper.ts';
import { decideBudget } from './budget-policy.ts';
import { parseCostConfig } from './cost-config.ts';
import { addUsage, browserCost, NO_USAGE, r2MonthCost, relayBill, relayCost, subtractUsage, usageFromSeconds, type Pricing } from './pricing.ts';
import { endOfMonthMs, projectMonth, startOfMonthMs } from './projection.ts';
import { fetchGraphqlUsage, UsageApiError, type UsageReport } from './usage-source.ts';
import { postWebhook, type Fetcher } from '../notify/webhook.ts';
import type { AgentUsageReport } from '../contract/agent-rpc.ts';
import { errorMessage } from '../errors.ts';
import { boundLog } from '../log.ts';
import { RELAY_NAME } from '../inbox/discord-relay.ts';
import { monthOf } from '../inbox/relay-meter.ts';
import type { RelayNamespace } from '../inbox/discord-frames.ts';

const log = boundLog({});

export interface CostGuardRun {
  evaluation: BudgetEvaluation;
  agents: Array<{ agent: string; changed: boolean; previousLevel: string | null; state: string }>;
  notified: boolean;
}

/** The agents this Worker serves (one per deployment). */
export function agentNames(env: Env): string[] {
  return [parseConfig(env).agentName];
}

function stubFor(env: Env, name: string) {
  return env.AGENT.get(env.AGENT.idFromName(name));
}

/**
 * Each Agent's own figures (self-meter, browser-hours, scheduled wakes); an
 * Agent that is not configured has none. An Agent whose full report fails
 * (e.g. it ran out of CPU) is asked again for its own meter alone, so one
 * Agent never fails the run; what happened is said in `warnings`.
 */
async function agentReports(env: Env, hours: number): Promise<{ reports: AgentUsageReport[]; warnings: string[] }> {
  const warnings: string[] = [];
  const reports = await Promise.all(
    agentNames(env).map(async (name): Promise<AgentUsageReport | null> => {
      const stub = stubFor(env, name);
      try {
        const report = await stub.usageReport(hours);
        if (report?.schedule.saturated) warnings.push(`${name}: its schedule is too large to work out; the rest of the month counts as running`);
        return report;
      } catch (error) {
        warnings.push(`${name}: usage report failed (${errorMessage(error)}); priced from its self-meter without scheduled wakes`);
        return stub.usageReport(hours, false).catch((again: unknown) => {
          warnings.push(`${name}: its self-meter could not be read either (${errorMessage(again)})`);
          return null;
        });
      }
    }),
  );
  return { reports: reports.filter((r): r is AgentUsageReport => r !== null), warnings };
}

async function readUsage(env: Env, nowMs: number, fetcher: Fetcher | undefined, reports: AgentUsageReport[]): Promise<UsageReport> {
  const cost = parseCostConfig(env);
  let fallbackReason = 'no CF_API_TOKEN / CF_ACCOUNT_ID configured';
  if (cost.apiToken && cost.accountId) {
    try {
      const usage = await fetchGraphqlUsage({
        url: cost.graphqlUrl,
        token: cost.apiToken,
        accountId: cost.accountId,
        nowMs,
        recentHours: cost.recentHours,
        ...(fetcher ? { fetcher } : {}),
      });
      return { source: 'graphql', fallbackReason: null, ...usage, recentHours: cost.recentHours };
    } catch (error) {
      fallbackReason = error instanceof UsageApiError ? error.message : `GraphQL usage failed: ${String(error)}`;
    }
  }
  let monthToDate = NO_USAGE;
  let recent = NO_USAGE;
  for (const { meter } of reports) {
    monthToDate = addUsage(monthToDate, usageFromSeconds(meter.month, cost.pricing));
    recent = addUsage(recent, usageFromSeconds(meter.recent, cost.pricing));
  }
  return { source: 'self-meter', fallbackReason, monthToDate, recent, recentHours: cost.recentHours };
}

/** Reads the usage, projects the month and decides, without telling anyone (what the cron applies, what GET /api/cost shows). */
export async function evaluateBudget(env: Env, nowMs: number, fetcher?: Fetcher): Promise<BudgetEvaluation> {
  const config = parseConfig(env);
  const cost = parseCostConfig(env);
  const { reports, warnings } = await agentReports(env, cost.recentHours);
  const usage = await readUsage(env, nowMs, fetcher, reports);
  // Scheduled wakes are projected from the jobs' schedules, not extrapolated from the recent rate.
  let upcoming = NO_USAGE;
  let ranRecently = NO_USAGE;
  let scheduledWakes = 0;
  for (const { schedule: report } of reports) {
    upcoming = addUsage(upcoming, usageFromSeconds({ [report.instanceType]: report.upcomingSeconds }, cost.pricing));
    ranRecently = addUsage(ranRecently, usageFromSeconds({ [report.instanceType]: report.recentSeconds }, cost.pricing));
    scheduledWakes += report.upcomingWakes;
  }
  const projection = projectMonth(usage.monthToDate, subtractUsage(usage.recent, ranRecently), usage.recentHours, nowMs, cost.pricing, upcoming);
  // Browser Rendering (the agent's browser): its hours so far plus the recent rate for the rest of the month, priced beyond the included hours.
  let browserMonth = 0;
  let browserRecent = 0;
  for (const { browser } of reports) {
    browserMonth += browser.monthHours;
    browserRecent += browser.recentHours;
  }
  const browserProjectedHours = browserMonth + (usage.recentHours > 0 ? (browserRecent / usage.recentHours) * projection.hoursLeft : 0);
  const browserUsd = Math.round(browserCost(browserProjectedHours, cost.pricing) * 100) / 100;
  const browserSoFarUsd = Math.round(browserCost(browserMonth, cost.pricing) * 100) / 100;
  const r2 = backupStorageCost(reports, nowMs, cost.pricing);
  // Model calls (metered by the Worker at egress): spent so far, plus the recent rate for the rest of the month.
  let modelSoFar = 0;
  let modelRecent = 0;
  let modelCalls = 0;
  for (const { model } of reports) {
    modelSoFar += model?.monthUsd ?? 0;
    modelRecent += model?.recentUsd ?? 0;
    modelCalls += model?.calls ?? 0;
  }
  const modelUsd = round2(modelSoFar + (usage.recentHours > 0 ? (modelRecent / usage.recentHours) * projection.hoursLeft : 0));
  // The Discord relay while a bot is connected: so far, as it metered itself; projected, held for the rest of the month.
  const relay = env.DISCORD_RELAY && discordConnected(env) ? await relayMonth(env.DISCORD_RELAY, nowMs, cost.pricing, warnings) : null;
  projection.monthToDateUsd = round2(projection.monthToDateUsd + browserSoFarUsd + r2.soFarUsd + modelSoFar + (relay?.soFarUsd ?? 0));
  projection.projectedUsd = round2(projection.projectedUsd + browserUsd + r2.projectedUsd + modelUsd + (relay?.projectedUsd ?? 0));
  return {
    ...projection,
    scheduledWakes,
    browserHours: Math.round(browserMonth * 1000) / 1000,
    browserUsd,
    r2Usd: r2.projectedUsd,
    modelSoFarUsd: round2(modelSoFar),
    modelUsd,
    modelCalls,
    ...(relay ? { discordRelay: { gbSeconds: relay.gbSeconds, requests: relay.requests, usd: relay.projectedUsd } } : {}),
    backupBytes: r2.storedBytes,
    at: new Date(nowMs).toISOString(),
    source: usage.source,
    fallbackReason: usage.fallbackReason,
    warnings,
    softUsd: cost.budget.softUsd,
    hardUsd: cost.budget.hardUsd,
    decision: decideBudget(projection, config.lifecycle.sleepAfterMs, cost.budget),
  };
}

/** Whether the Worker holds a Discord bot's session (the relay is bound and the bot's token set). */
function discordConnected(env: Env): boolean {
  return Boolean(env.DISCORD_RELAY) && (env.DISCORD_BOT_TOKEN ?? '') !== '';
}

/**
 * The relay's month: so far, its own meter (held time and requests); the
 * rest of the month, held all the time (a connected bot is held at every
 * cron). A relay that does not answer is counted as held since the month began.
 */
async function relayMonth(
  relays: RelayNamespace,
  nowMs: number,
  pricing: Pricing,
  warnings: string[],
): Promise<{ gbSeconds: number; requests: number; soFarUsd: number; projectedUsd: number }> {
  const start = startOfMonthMs(nowMs);
  let soFar = relayCost((nowMs - start) / 1000, pricing);
  try {
    const metered = await relays.get(relays.idFromName(RELAY_NAME)).usage();
    if (metered.month === monthOf(nowMs)) soFar = relayBill(metered.heldSeconds * pricing.durableObjects.billedGb, metered.requests, pricing);
  } catch (error) {
    warnings.push(`the Discord relay did not report its usage (${errorMessage(error)}): counted as held since the month began`);
  }
  const rest = relayCost((endOfMonthMs(nowMs) - nowMs) / 1000, pricing);
  const month = relayBill(soFar.gbSeconds + rest.gbSeconds, soFar.requests + rest.requests, pricing);
  return { gbSeconds: month.gbSeconds, requests: month.requests, soFarUsd: round2(soFar.usd), projectedUsd: round2(month.usd) };
}

/**
 * The backups' R2 bill: storage at today's level (so far: for the part of
 * the month gone; projected: the whole month), operations so far and
 * extrapolated over the month, priced beyond R2's included amounts.
 */
function backupStorageCost(reports: AgentUsageReport[], nowMs: number, pricing: Pricing): { storedBytes: number; soFarUsd: number; projectedUsd: number } {
  const storedBytes = reports.reduce((sum, r) => sum + r.r2.storedBytes, 0);
  const classA = reports.reduce((sum, r) => sum + r.r2.classA, 0);
  const classB = reports.reduce((sum, r) => sum + r.r2.classB, 0);
  const start = startOfMonthMs(nowMs);
  const gone = Math.min(1, Math.max(1e-6, (nowMs - start) / (endOfMonthMs(nowMs) - start)));
  const gb = storedBytes / 1e9;
  const round = (usd: number) => Math.round(usd * 100) / 100;
  return {
    storedBytes,
    soFarUsd: round(r2MonthCost({ classA, classB, storageGbMonth: gb * gone }, pricing).totalUsd),
    projectedUsd: round(r2MonthCost({ classA: classA / gone, classB: classB / gone, storageGbMonth: gb }, pricing).totalUsd),
  };
}

/** How long an on-request evaluation is reused (the status page asks every 2 s; GraphQL need not). */
export const CURRENT_COST_TTL_MS = 60_000;
let current: { atMs: number; evaluation: Promise<BudgetEvaluation> } | null = null;

/**
 * The month's figure now, for GET /api/cost: the same usage source and
 * projection as the cron, computed on request and reused for
 * CURRENT_COST_TTL_MS. Nothing is decided or applied: only the cron does that.
 */
export function currentEvaluation(env: Env, nowMs: number, fetcher?: Fetcher): Promise<BudgetEvaluation> {
  if (!current || nowMs - current.atMs > CURRENT_COST_TTL_MS) {
    const evaluation = evaluateBudget(env, nowMs, fetcher);
    current = { atMs: nowMs, evaluation };
    evaluation.catch(() => {
      if (current?.evaluation === evaluation) current = null;
    });
  }
  return current.evaluation;
}

export async function runCostGuard(env: Env, nowMs: number, fetcher?: Fetcher): Promise<CostGuardRun> {
  const cost = parseCostConfig(env);
  const evaluation = await evaluateBudget(env, nowMs, fetcher);
  const { decision } = evaluation;
  const agents: CostGuardRun['agents'] = [];
  for (const name of agentNames(env)) {
    const result = await stubFor(env, name).applyBudget(evaluation);
    if (result.ok) agents.push({ agent: name, changed: result.changed, previousLevel: result.previousLevel, state: result.state });
  }
  log('cost:evaluated', {
    source: evaluation.source,
    fallbackReason: evaluation.fallbackReason,
    monthToDateUsd: evaluation.monthToDateUsd,
    projectedUsd: evaluation.projectedUsd,
    level: decision.level,
  });
  let notified = false;
  const crossed = agents.some((a) => a.changed && a.previousLevel !== decision.level && (decision.level !== 'ok' || a.previousLevel !== null));
  if (cost.notifyWebhookUrl && crossed) {
    const body = {
      event: 'openclaw-ondemand:budget',
      level: decision.level,
      reason: decision.reason,
      monthToDateUsd: evaluation.monthToDateUsd,
      projectedUsd: evaluation.projectedUsd,
      agents,
    };
    notified = await postWebhook(cost.notifyWebhookUrl, body, ...(fetcher ? [fetcher] : []));
  }
  return { evaluation, agents, notified };
}

const round2 = (usd: number) => Math.round(usd * 100) / 100;
