/**
 * Where usage comes from: the Cloudflare GraphQL Analytics API
 * (`containersUsageAdaptiveGroups`, the dataset behind the dashboard's usage
 * estimates), or, without a token or when the API fails, the Agents' own
 * self-meter. The report always says which, and why.
 */
import { errorMessage } from '../errors.ts';
import { CodedError } from '../contract/error-codes.ts';
import { addUsage, NO_USAGE, type ContainerUsage } from './pricing.ts';

export interface UsageReport {
  source: 'graphql' | 'self-meter';
  /** Why the self-meter was used (null when GraphQL answered). */
  fallbackReason: string | null;
  monthToDate: ContainerUsage;
  recent: ContainerUsage;
  recentHours: number;
}

export const USAGE_QUERY = `query OpenClawOnDemandUsage($accountTag: string!, $monthStart: Time!, $recentStart: Time!, $end: Time!) {
  viewer {
    accounts(filter: { accountTag: $accountTag }) {
      month: containersUsageAdaptiveGroups(limit: 10000, filter: { datetime_geq: $monthStart, datetime_lt: $end }) {
        sum { cpuTimeSec allocatedMemory allocatedDisk txBytes }
      }
      recent: containersUsageAdaptiveGroups(limit: 10000, filter: { datetime_geq: $recentStart, datetime_lt: $end }) {
        sum { cpuTimeSec allocatedMemory allocatedDisk txBytes }
      }
    }
  }
}`;

interface Sum {
  cpuTimeSec?: number;
  allocatedMemory?: number;
  allocatedDisk?: number;
  txBytes?: number;
}

/** Byte-seconds and bytes as the API reports them, in billing units. */
export function usageFromGroups(groups: Array<{ sum?: Sum }> | undefined): ContainerUsage {
  let usage = NO_USAGE;
  for (const g of groups ?? []) {
    const s = g.sum ?? {};
    usage = addUsage(usage, {
      vcpuSeconds: Number(s.cpuTimeSec ?? 0),
      memoryGibSeconds: Number(s.allocatedMemory ?? 0) / 2 ** 30,
      diskGbSeconds: Number(s.allocatedDisk ?? 0) / 1e9,
      egressGb: Number(s.txBytes ?? 0) / 1e9,
    });
  }
  return usage;
}

/** The GraphQL Analytics API could not say (unreachable, refused, an answer without the account): the guard falls back to its own meter. */
export class UsageApiError extends CodedError<'usage_api_unavailable'> {
  constructor(message: string) {
    super('usage_api_unavailable', message, 'UsageApiError');
  }
}

/** Month-to-date and recent usage from GraphQL. @throws UsageApiError with the reason. */
export async function fetchGraphqlUsage(options: {
  url: string;
  token: string;
  accountId: string;
  nowMs: number;
  recentHours: number;
  fetcher?: (input: string, init: RequestInit) => Promise<Response>;
}): Promise<{ monthToDate: ContainerUsage; recent: ContainerUsage }> {
  const now = new Date(options.nowMs);
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const recentStart = new Date(Math.max(monthStart.getTime(), options.nowMs - options.recentHours * 3_600_000));
  const fetcher = options.fetcher ?? ((input, init) => fetch(input, init));
  let response: Response;
  try {
    response = await fetcher(options.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        query: USAGE_QUERY,
        variables: { accountTag: options.accountId, monthStart: monthStart.toISOString(), recentStart: recentStart.toISOString(), end: now.toISOString() },
      }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new UsageApiError(`GraphQL API unreachable: ${errorMessage(error)}`);
  }
  if (!response.ok) throw new UsageApiError(`GraphQL API answered HTTP ${response.status}`);
  let body: {
    data?: { viewer?: { accounts?: Array<{ month?: Array<{ sum?: Sum }>; recent?: Array<{ sum?: Sum }> }> } };
    errors?: Array<{ message?: string }> | null;
  };
  try {
    body = await response.json();
  } catch {
    throw new UsageApiError('GraphQL API answered something that is not JSON');
  }
  if (body.errors?.length)
    throw new UsageApiError(
      `GraphQL errors: ${body.errors
        .map((e) => e.message ?? '?')
        .join('; ')
        .slice(0, 300)}`,
    );
  const account = body.data?.viewer?.accounts?.[0];
  if (!account) throw new UsageApiError("GraphQL API returned no account (check CF_ACCOUNT_ID and the token's Account Analytics read permission)");
  return { monthToDate: usageFromGroups(account.month), recent: usageFromGroups(account.recent) };
}
