/**
 * The cost guard's configuration (thresholds, steps, usage source), parsed
 * once from the environment; every option is in the README with its default.
 */
import { parseDuration } from '../config.ts';
import type { Env } from '../env.ts';
import { AppError } from '../errors.ts';
import type { BudgetSettings } from './budget-policy.ts';
import { parsePricing, type Pricing } from './pricing.ts';

export interface CostConfig {
  budget: BudgetSettings;
  pricing: Pricing;
  /** Hours of recent usage the burn rate is taken from. Default 24. */
  recentHours: number;
  graphqlUrl: string;
  accountId: string | null;
  apiToken: string | null;
  notifyWebhookUrl: string | null;
}

function money(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new AppError('not_configured', `${name}="${value}" must be an amount in US dollars`);
  return n;
}

export function parseCostConfig(env: Partial<Env>): CostConfig {
  const budget: BudgetSettings = {
    softUsd: money('BUDGET_SOFT_USD', env.BUDGET_SOFT_USD, 15),
    hardUsd: money('BUDGET_HARD_USD', env.BUDGET_HARD_USD, 20),
    stepUsd: money('BUDGET_STEP_USD', env.BUDGET_STEP_USD, 1),
    stepMs: parseDuration('SLEEP_AFTER_STEP', env.SLEEP_AFTER_STEP, 5 * 60_000, 1_000),
    floorMs: parseDuration('SLEEP_AFTER_FLOOR', env.SLEEP_AFTER_FLOOR, 5 * 60_000, 2_000),
  };
  if (budget.hardUsd < budget.softUsd) throw new AppError('not_configured', 'BUDGET_HARD_USD must not be below BUDGET_SOFT_USD');
  if (budget.stepUsd <= 0) throw new AppError('not_configured', 'BUDGET_STEP_USD must be above 0');
  const recentMs = parseDuration('BURN_WINDOW', env.BURN_WINDOW, 24 * 3_600_000, 3_600_000, 31 * 86_400_000);
  const webhook = env.NOTIFY_WEBHOOK_URL?.trim() || null;
  if (webhook && !/^https?:\/\//.test(webhook)) throw new AppError('not_configured', 'NOTIFY_WEBHOOK_URL must be an http(s) URL');
  return {
    budget,
    pricing: parsePricing(env.PRICING_OVERRIDE),
    recentHours: recentMs / 3_600_000,
    graphqlUrl: env.ANALYTICS_GRAPHQL_URL?.trim() || 'https://api.cloudflare.com/client/v4/graphql',
    accountId: env.CF_ACCOUNT_ID?.trim() || null,
    apiToken: env.CF_API_TOKEN?.trim() || null,
    notifyWebhookUrl: webhook,
  };
}
