/**
 * The cost guard's configuration (thresholds, steps, usage source), parsed
 * once from the environment; every option is in the README with its default.
 */
import type { Env } from '../env.ts';
import { AppError } from '../errors.ts';
import { oncePerEnv, setting } from '../settings.ts';
import type { BudgetSettings } from './budget-policy.ts';
import type { ModelLines } from './model-meter.ts';
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
  /** The model budget lines (model spend metered at egress); null lines are off. */
  modelLines: ModelLines;
}

/** Parsed once per env object (see oncePerEnv). */
export const parseCostConfig = oncePerEnv((env: Partial<Env>): CostConfig => {
  const budget: BudgetSettings = {
    softUsd: setting(env, 'BUDGET_SOFT_USD'),
    hardUsd: setting(env, 'BUDGET_HARD_USD'),
    stepUsd: setting(env, 'BUDGET_STEP_USD'),
    stepMs: setting(env, 'SLEEP_AFTER_STEP'),
    floorMs: setting(env, 'SLEEP_AFTER_FLOOR'),
  };
  if (budget.hardUsd < budget.softUsd) throw new AppError('not_configured', 'BUDGET_HARD_USD must not be below BUDGET_SOFT_USD');
  if (budget.stepUsd <= 0) throw new AppError('not_configured', 'BUDGET_STEP_USD must be above 0');
  const recentMs = setting(env, 'BURN_WINDOW');
  const webhook = env.NOTIFY_WEBHOOK_URL?.trim() || null;
  if (webhook && !/^https?:\/\//.test(webhook)) throw new AppError('not_configured', 'NOTIFY_WEBHOOK_URL must be an http(s) URL');
  const modelLines: ModelLines = {
    softUsd: setting(env, 'MODEL_BUDGET_SOFT_USD'),
    hardUsd: setting(env, 'MODEL_BUDGET_HARD_USD'),
    slowDelayMs: setting(env, 'MODEL_SLOW_DELAY'),
  };
  if (modelLines.softUsd !== null && modelLines.hardUsd !== null && modelLines.hardUsd < modelLines.softUsd)
    throw new AppError('not_configured', 'MODEL_BUDGET_HARD_USD must not be below MODEL_BUDGET_SOFT_USD');
  return {
    modelLines,
    budget,
    pricing: parsePricing(setting(env, 'PRICING_OVERRIDE')),
    recentHours: recentMs / 3_600_000,
    graphqlUrl: setting(env, 'ANALYTICS_GRAPHQL_URL'),
    accountId: setting(env, 'CF_ACCOUNT_ID') || null,
    apiToken: env.CF_API_TOKEN?.trim() || null,
    notifyWebhookUrl: webhook,
  };
});
