/**
 * `clawctl eval`: the plan's evaluation, measured against a target, as the
 * plan's table (aspect, measure, pass line, measured, verdict), in Markdown
 * and JSON.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentStatus } from '../src/agent/agent-status.ts';
import { monthCost, usageFromSeconds } from '../src/cost/pricing.ts';
import { checkTerraform, SCHEMA_PATH, type ProviderSchema } from './terraform-check.ts';
import { type ApiClient, waitForStatus } from './api-client.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url).href));

export interface EvalOptions {
  runs: number;
  cycles: number;
  log: (line: string) => void;
}

export interface EvalRow {
  aspect: string;
  measure: string;
  passLine: string;
  measured: string;
  pass: boolean | null;
  detail?: unknown;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};
const settled = (state: string) => (s: AgentStatus) => s.state === state && s.stopping === null;

async function toSleep(client: ApiClient): Promise<void> {
  const s = await client.status();
  if (s.state === 'sleeping' || s.state === 'stopped') return;
  await client.api('POST', '/api/sleep', { reason: 'clawctl eval' });
  await waitForStatus(client, (x) => settled('sleeping')(x) || settled('stopped')(x), 300_000);
}

/** Wakes and measures wake → ready from the recorded transition (not from polling). */
async function coldStart(client: ApiClient): Promise<number> {
  const t0 = Date.now();
  await client.api('POST', '/api/wake', { reason: 'clawctl eval: cold start' });
  const ready = await waitForStatus(client, settled('ready'), 300_000);
  return (Date.parse(ready.lastTransition?.at ?? new Date().toISOString()) - t0) / 1000;
}

export async function runEvaluation(client: ApiClient, options: EvalOptions): Promise<EvalRow[]> {
  const { log } = options;
  const rows: EvalRow[] = [];
  // Every turn of this run is its own: sessions, commands and files named after the run, so a
  // second evaluation of the same assistant asks afresh instead of continuing the first one's talk.
  const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

  // Start time: N cold starts from sleeping.
  const starts: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    await toSleep(client);
    const seconds = await coldStart(client);
    starts.push(seconds);
    log(`cold start ${i + 1}/${options.runs}: ${seconds.toFixed(1)} s`);
  }
  const p50 = percentile(starts, 50);
  const p95 = percentile(starts, 95);
  // The instance type the target runs on (its self-meter's), so the figure says what it was measured on.
  const measuredOn = await client.status();
  const instanceType = measuredOn.meter.instanceType;
  const parts = measuredOn.lastBoot?.parts.map((p) => `${p.phase} ${((p.ms ?? 0) / 1000).toFixed(1)} s`).join(', ');
  rows.push({
    aspect: 'start time',
    measure: `cold start until usable (${instanceType}, ${measuredOn.runtime})`,
    passLine: '≤ 2 min',
    measured: `p50 ${p50.toFixed(1)} s, p95 ${p95.toFixed(1)} s (${starts.length} runs on ${instanceType}${parts ? `; last: ${parts}` : ''})`,
    pass: p95 <= 120,
    detail: { seconds: starts, instanceType, runtime: measuredOn.runtime, lastBoot: measuredOn.lastBoot },
  });

  // Stability: start → use (a chat turn) → auto-sleep.
  const before = await client.status();
  const autoSleep = before.sleepAfterMs <= 5 * 60_000;
  let good = 0;
  const failures: string[] = [];
  for (let i = 0; i < options.cycles; i++) {
    try {
      await toSleep(client);
      await client.api('POST', '/api/wake', { reason: 'clawctl eval: stability' });
      await waitForStatus(client, settled('ready'), 300_000);
      const answer = await client.chat(`clawctl eval ${run} cycle ${i + 1}`, `clawctl-eval-${run}-cycle-${i + 1}`);
      if (!answer) throw new Error('empty chat answer');
      if (autoSleep) await waitForStatus(client, settled('sleeping'), before.sleepAfterMs + 120_000);
      else await toSleep(client);
      good += 1;
      log(`cycle ${i + 1}/${options.cycles}: ok`);
    } catch (error) {
      failures.push(`cycle ${i + 1}: ${(error as Error).message}`);
      log(`cycle ${i + 1}/${options.cycles}: FAILED ${(error as Error).message}`);
    }
  }
  rows.push({
    aspect: 'stability',
    measure: `start → use → ${autoSleep ? 'auto-stop' : 'stop (sleepAfter too long to wait for)'} cycles without error`,
    passLine: '≥ 8 of 10',
    measured: `${good} of ${options.cycles}`,
    pass: good / Math.max(1, options.cycles) >= 0.8,
    detail: failures,
  });

  rows.push({
    aspect: 'effort',
    measure: 'steps to start/stop',
    passLine: 'one browser visit or one CLI command',
    measured: 'start: 1 (`clawctl wake` or open the URL); stop: 0 (sleeps by itself) or 1 (`clawctl sleep`)',
    pass: true,
  });

  // Monthly cost: the low-use profile priced by the cost module, and the target's own projection.
  const lowUse = monthCost(usageFromSeconds({ [before.meter.instanceType]: 3 * (730 / 168) * (3600 + before.sleepAfterMs / 1000) } as Record<string, number>));
  const cost = await client.api<{ last: { projectedUsd: number; source: string } | null }>('GET', '/api/cost').catch(() => ({ last: null }));
  const measuredCost =
    `low-use profile (3×/week, 1 h + sleepAfter tail, ${before.meter.instanceType}): $${lowUse.totalUsd.toFixed(2)}/month` +
    (cost.last ? `; this target's projection: $${cost.last.projectedUsd.toFixed(2)} (${cost.last.source})` : '; no cost-guard run on this target yet');
  rows.push({ aspect: 'monthly cost', measure: 'at low use (2–3×/week)', passLine: '≤ $10', measured: measuredCost, pass: lowUse.totalUsd <= 10 });

  // Persistence: a marker written before sleep is there after wake (through the agent's own shell tool).
  const marker = `clawctl-marker-${run}`;
  const markerFile = `"$OPENCLAW_STATE_DIR/workspace/clawctl-marker-${run}.txt"`;
  const session = `clawctl-eval-${run}-persistence`;
  let persisted = false;
  let persistenceDetail = '';
  try {
    await client.api('POST', '/api/wake', { reason: 'clawctl eval: persistence' });
    await waitForStatus(client, settled('ready'), 300_000);
    await client.chat(`Run exactly this shell command and reply with its output: [[exec: echo ${marker} > ${markerFile} && echo written]]`, session);
    await toSleep(client);
    await client.api('POST', '/api/wake', { reason: 'clawctl eval: persistence check' });
    await waitForStatus(client, settled('ready'), 300_000);
    const read = await client.chat(`Run exactly this shell command and reply with its output: [[exec: cat ${markerFile}]]`, session);
    persisted = read.includes(marker);
    persistenceDetail = read.slice(0, 200);
  } catch (error) {
    persistenceDetail = (error as Error).message;
  }
  rows.push({
    aspect: 'persistence',
    measure: 'settings and files survive stop/restart',
    passLine: 'nothing lost',
    measured: persisted ? 'marker written before sleep read back after wake' : `marker not found (${persistenceDetail})`,
    pass: persisted,
  });

  // Isolation: the Terraform isolation check.
  let isolationPass = false;
  let isolationMeasured = '';
  try {
    const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as ProviderSchema;
    const findings = await checkTerraform(join(ROOT, 'terraform'), schema);
    isolationPass = findings.isolation.length === 0 && findings.errors.length === 0;
    isolationMeasured = `${findings.resources.length} Terraform resources: ${findings.isolation.length} isolation findings, ${findings.errors.length} schema errors`;
  } catch (error) {
    isolationMeasured = `check could not run: ${(error as Error).message}`;
  }
  rows.push({
    aspect: 'isolation',
    measure: 'the existing environment is unchanged',
    passLine: 'zero impact',
    measured: isolationMeasured,
    pass: isolationPass,
  });
  return rows;
}

export function toMarkdown(rows: EvalRow[], target: string, at: string): string {
  const verdict = (p: boolean | null) => (p === null ? '—' : p ? 'pass' : 'FAIL');
  return [
    `# OpenClaw on Cloudflare: evaluation`,
    '',
    `Target: ${target} · ${at}`,
    '',
    '| aspect | measure | pass line | measured | verdict |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.aspect} | ${r.measure} | ${r.passLine} | ${r.measured.replace(/\|/g, '\\|')} | ${verdict(r.pass)} |`),
    '',
  ].join('\n');
}
