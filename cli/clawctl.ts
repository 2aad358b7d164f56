/**
 * clawctl: the operator's command line for openclaw-ondemand.
 *
 *   clawctl wake | sleep | status | hibernate [--reason R] | resume [--override]
 *           backup | cost | logs | eval [--runs N] [--cycles N] [--out DIR]
 *           doctor [--terraform FILE] | login [codex] [--cancel] | inbox
 *
 * Target: --url, else CLAWCTL_URL, else `url` in ./.clawctl.json or
 * ~/.config/clawctl.json, else the local mode (http://127.0.0.1:8787).
 * Credentials (deployed targets, an Access service token) go only to the URL
 * they were configured for: CF_ACCESS_CLIENT_ID / CF_ACCESS_CLIENT_SECRET to
 * --url, CLAWCTL_URL or ~/.config/clawctl.json's url — never to a url that a
 * ./.clawctl.json in the working directory names; a config file's
 * `clientId` / `clientSecret` only to that file's own `url`. They are never
 * sent over plain http:// except to loopback.
 * Exit codes: 0 ok, 1 failed, 2 hibernated, 3 unreachable, 4 not authorized, 5 usage.
 */
import { errorMessage } from '../src/errors.ts';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTAINER_CONTRACT_VERSION } from '../src/contract/boot-status.ts';
import { formatFindings, runDoctor, type DoctorInputs, type RemoteDoctor } from './doctor.ts';
import type { AgentStatus } from '../src/agent/agent-status.ts';
import type { ModelSignIn } from '../src/agent/model-sign-in.ts';
import { ApiClient, CliError, EXIT, waitForStatus } from './api-client.ts';
import { loadTarget } from './target.ts';
import { runEvaluation, toMarkdown } from './evaluation.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url).href));

const USAGE = `usage: clawctl <command> [options]
  wake                 wake the assistant and wait until it is ready (boot phases shown)
  sleep                back up and stop the container now
  status               state, since, phase, sleepAt, last backup, cost
  inbox                the chat inbox: messages waiting, delivered, dead letters, refused senders
  hibernate [--reason R]  back up, stop, and refuse wakes until resumed
  resume [--override]  leave hibernation (--override while the budget is still exceeded)
  backup               back the running state up now
  cost                 month to date, projection, thresholds, decisions
  logs                 recent lifecycle transitions and backups
  eval [--runs N] [--cycles N] [--out DIR]   the plan's evaluation table (Markdown + JSON)
  doctor [--terraform FILE]   pre-flight of a deployment: config against Terraform's outputs, secrets,
                       the R2 token's scope (CLOUDFLARE_API_TOKEN / CLOUDFLARE_ACCOUNT_ID), the image's
                       versions and the proxy source address the gateway sees (GET /api/doctor)
  login [codex] [--cancel]   sign the assistant in to your ChatGPT/Codex subscription: wakes it, starts
                       OpenClaw's device-code sign-in, prints the page and the code to enter there, waits
                       until the sign-in is stored (and backed up); --cancel ends one under way
options: --url URL (or CLAWCTL_URL), --json (machine-readable output), --timeout SECONDS`;

interface Args {
  command: string | undefined;
  flags: Record<string, string | boolean>;
}

function parseArgs(argv: string[]): Args {
  const flags: Record<string, string | boolean> = {};
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      const booleans = new Set(['json', 'override', 'help', 'cancel']);
      if (inline !== undefined) flags[name] = inline;
      else if (booleans.has(name)) flags[name] = true;
      else {
        const value = argv[i + 1];
        if (value === undefined || value.startsWith('--')) throw new CliError(`--${name} needs a value\n${USAGE}`, EXIT.usage);
        flags[name] = value;
        i += 1;
      }
    } else if (!command) command = a;
    else if (command === 'login' && flags._1 === undefined) flags._1 = a;
    else throw new CliError(`unexpected argument "${a}"\n${USAGE}`, EXIT.usage);
  }
  return { command, flags };
}

function describe(s: AgentStatus): string {
  const lines = [
    `${s.agent}: ${s.state}${s.phase ? ` (${s.phase})` : ''} since ${s.since}`,
    s.lastTransition ? `  last: ${s.lastTransition.from} → ${s.lastTransition.to}: ${s.lastTransition.reason}` : null,
    s.lastError ? `  error: ${s.lastError.code}: ${s.lastError.message}` : null,
    s.model
      ? `  model: ${s.model.detail}${s.model.lastCredentialBackup ? ` (credentials last backed up ${s.model.lastCredentialBackup.at}: ${s.model.lastCredentialBackup.result})` : ''}`
      : null,
    s.hibernation ? `  hibernated by ${s.hibernation.by}: ${s.hibernation.reason}` : null,
    s.sleepAt ? `  sleeps at ${s.sleepAt} (sleepAfter ${Math.round(s.sleepAfterMs / 1000)} s)` : `  sleepAfter ${Math.round(s.sleepAfterMs / 1000)} s`,
    s.work ? `  sleep waits for running work: ${s.work.blockers.map((b) => b.message).join('; ')} (since ${s.work.since})` : null,
    s.schedule.next
      ? `  next scheduled wake: ${s.schedule.next.wakeAt} for "${s.schedule.next.jobName}" (due ${s.schedule.next.runAt})${s.schedule.thinnedToEveryMs ? `, thinned to every ${Math.round(s.schedule.thinnedToEveryMs / 3_600_000)} h` : ''}`
      : null,
    s.schedule.awaiting ? `  up for scheduled job "${s.schedule.awaiting.jobName}" (due ${s.schedule.awaiting.runAt})` : null,
    s.schedule.lastRun ? `  last scheduled run: "${s.schedule.lastRun.jobName}" ${s.schedule.lastRun.status} at ${s.schedule.lastRun.at}` : null,
    s.backups.lastBackup ? `  last backup: ${s.backups.lastBackup.result} ${s.backups.lastBackup.at}` : '  last backup: none',
    `  running this month: ${(s.meter.totalSeconds / 3600).toFixed(2)} h on ${s.meter.instanceType}`,
    s.cost.last ? `  cost: $${s.cost.last.monthToDateUsd.toFixed(2)} so far, projected $${s.cost.last.projectedUsd.toFixed(2)} (${s.cost.last.source})` : null,
    s.inbox ? `  inbox: ${inboxSummary(s.inbox)}` : null,
    s.discordRelay ? `  ${relaySummary(s.discordRelay)}` : null,
  ];
  return lines.filter(Boolean).join('\n');
}

/** The chat inbox in one line: what waits, what went, what was given up on. */
function inboxSummary(i: NonNullable<AgentStatus['inbox']>): string {
  return [
    `${i.pending} waiting${i.oldestPendingAt ? ` (oldest ${i.oldestPendingAt}, next try ${i.nextTryAt})` : ''}`,
    `${i.delivered} delivered${i.lastDelivery ? ` (last ${i.lastDelivery.at})` : ''}`,
    `${i.wakes} wakes from messages`,
    i.deadLetters.length ? `${i.deadLetters.length} dead letters` : null,
    i.refused ? `${i.refused} refused${i.lastRefused ? ` (last: ${i.lastRefused.sender}, ${i.lastRefused.reason})` : ''}` : null,
  ]
    .filter(Boolean)
    .join(', ');
}

/** The Discord relay in one line: whether it holds the bot's session, what it took, why it stopped. */
function relaySummary(r: NonNullable<AgentStatus['discordRelay']>): string {
  if (r.failure) return `discord relay: stopped: ${r.failure}`;
  if (!r.holding) return 'discord relay: not holding the session yet (it starts at the next request or cron run)';
  return `discord relay: ${r.phase} since ${r.since}, ${r.received} messages received${r.lastMessageAt ? ` (last ${r.lastMessageAt})` : ''}`;
}

/** `clawctl inbox`: the inbox whole: the summary, the Discord relay, then each dead letter. */
function describeInbox(s: AgentStatus): string {
  if (!s.inbox) {
    return 'no chat channel is connected (set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET, or DISCORD_BOT_TOKEN; see the README, Telegram and Discord while it sleeps)';
  }
  return [
    `inbox: ${inboxSummary(s.inbox)}`,
    ...(s.discordRelay ? [relaySummary(s.discordRelay)] : []),
    ...s.inbox.deadLetters.map(
      (d) => `  dead letter ${d.id} from ${d.channel}:${d.sender} after ${d.attempts} tries at ${d.deadAt}: ${d.lastError ?? 'no answer'}`,
    ),
  ].join('\n');
}

/** What `clawctl doctor` checks against: this checkout's wrangler.jsonc and pins, Terraform's outputs, the API token the deploy uses, the target. */
async function doctorInputs(flags: Record<string, string | boolean>, client: ApiClient): Promise<DoctorInputs> {
  const { unstable_readConfig } = await import('wrangler');
  const config = unstable_readConfig({ config: join(ROOT, 'wrangler.jsonc') });
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  let terraform: DoctorInputs['terraform'] = null;
  if (typeof flags.terraform === 'string') {
    try {
      terraform = JSON.parse(readFileSync(resolve(flags.terraform), 'utf8')) as DoctorInputs['terraform'];
    } catch (error) {
      throw new CliError(
        `--terraform ${flags.terraform}: ${errorMessage(error)} (write it with: terraform -chdir=terraform output -json > tf.json)`,
        EXIT.usage,
      );
    }
  }
  const token = process.env.CLOUDFLARE_API_TOKEN;
  const accountId = process.env.CLOUDFLARE_ACCOUNT_ID;
  return {
    config: {
      scriptName: config.name ?? '',
      vars: Object.fromEntries(Object.entries(config.vars ?? {}).map(([k, v]) => [k, String(v)])),
      bucketName: config.r2_buckets?.[0]?.bucket_name ?? null,
    },
    terraform,
    api: token && accountId ? { url: process.env.CLOUDFLARE_API_BASE_URL ?? 'https://api.cloudflare.com/client/v4', token, accountId } : null,
    remote: () => client.api<RemoteDoctor>('GET', '/api/doctor'),
    expected: { openclaw: pkg.dependencies.openclaw ?? '', contract: CONTAINER_CONTRACT_VERSION },
  };
}

/** How long `clawctl login` waits for the operator to enter the code (OpenAI's code lives 15 minutes). */
const LOGIN_WAIT_MS = 16 * 60_000;

/** Wakes the assistant and waits until it serves, showing the boot's phases on stderr. */
async function wakeAndWait(client: ApiClient, timeoutMs: number, quiet: boolean): Promise<AgentStatus> {
  const started = Date.now();
  await client.api('POST', '/api/wake', { reason: 'clawctl wake' });
  let last = '';
  return waitForStatus(
    client,
    (s) => (s.state === 'ready' || s.state === 'idle') && s.stopping === null,
    timeoutMs,
    (s) => {
      const line = s.state === 'booting' ? `booting: ${s.phase ?? 'launching'} (attempt ${s.bootAttempt}/${s.maxBootAttempts})` : s.state;
      if (line !== last && !quiet) process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${line}\n`);
      last = line;
    },
  );
}

/** `clawctl login codex`: wake, start the device-code sign-in, show the code once, wait for the outcome. */
async function loginCodex(client: ApiClient, timeoutMs: number, quiet: boolean): Promise<ModelSignIn> {
  const status = await client.status();
  if (status.state !== 'ready' && status.state !== 'idle') await wakeAndWait(client, Math.min(timeoutMs, 300_000), quiet);
  let signIn = await client.api<ModelSignIn>('POST', '/api/login', { provider: 'codex' });
  const deadline = Date.now() + timeoutMs;
  let shown: string | null = null;
  while (signIn.state === 'starting' || signIn.state === 'waiting') {
    if (signIn.userCode && signIn.userCode !== shown && !quiet) {
      process.stderr.write(
        `\nOpen ${signIn.verificationUrl} in your browser and enter the code:\n\n    ${signIn.userCode}\n\n(it expires in 15 minutes; waiting for the sign-in…)\n`,
      );
      shown = signIn.userCode;
    }
    if (Date.now() > deadline)
      throw new CliError(`the sign-in did not finish within ${Math.round(timeoutMs / 1000)} s (clawctl login codex --cancel ends it)`, EXIT.failed);
    await new Promise((r) => setTimeout(r, 1_000));
    signIn = await client.api<ModelSignIn>('GET', '/api/login');
  }
  return signIn;
}

/** The month's model calls as the Worker metered them at egress, and the model budget lines. */
function modelCostLine(
  m: { month: string; calls: number; inputTokens: number; outputTokens: number; usd: number; unpriced: string[]; refused: number },
  lines: { softUsd: number | null; hardUsd: number | null; level: string },
): string {
  const line = (usd: number | null) => (usd === null ? 'none' : `$${usd.toFixed(2)}`);
  return [
    `models ${m.month}: $${m.usd.toFixed(2)}, ${m.calls} calls, ${m.inputTokens} tokens in, ${m.outputTokens} out`,
    ` (model lines: soft ${line(lines.softUsd)}, hard ${line(lines.hardUsd)}: ${lines.level}`,
    m.refused ? `, ${m.refused} refused` : '',
    ')',
    m.unpriced.length ? `; priced at the fallback (set MODEL_PRICES): ${m.unpriced.join(', ')}` : '',
  ].join('');
}

async function main(argv: string[]): Promise<number> {
  const { command, flags } = parseArgs(argv);
  if (!command || flags.help) {
    console.log(USAGE);
    return command ? EXIT.ok : EXIT.usage;
  }
  const target = loadTarget(flags);
  if (target.note) console.error(`clawctl: ${target.note}`);
  const client = new ApiClient(target);
  const asJson = flags.json === true;
  const out = (value: unknown, text: string) => console.log(asJson ? JSON.stringify(value, null, 2) : text);
  const timeoutMs = Number(flags.timeout ?? 300) * 1000;

  switch (command) {
    case 'wake': {
      const started = Date.now();
      const ready = await wakeAndWait(client, timeoutMs, asJson);
      const parts = ready.lastBoot?.parts.map((p) => `${p.phase} ${((p.ms ?? 0) / 1000).toFixed(1)} s`).join(', ');
      out(
        ready,
        `ready after ${((Date.now() - started) / 1000).toFixed(1)} s on ${ready.meter.instanceType} — ${client.target.url}${parts ? `\n  boot: ${parts}` : ''}`,
      );
      return EXIT.ok;
    }
    case 'login': {
      const provider = String(flags._1 ?? 'codex');
      if (provider !== 'codex') throw new CliError(`unknown sign-in "${provider}": clawctl login codex`, EXIT.usage);
      if (flags.cancel) {
        const s = await client.api<ModelSignIn>('POST', '/api/login', { provider, cancel: true });
        out(s, s.message);
        return EXIT.ok;
      }
      const signIn = await loginCodex(client, flags.timeout ? timeoutMs : LOGIN_WAIT_MS, asJson);
      out(signIn, signIn.message);
      return signIn.state === 'signed-in' ? EXIT.ok : EXIT.failed;
    }
    case 'sleep': {
      await client.api('POST', '/api/sleep', { reason: 'clawctl sleep' });
      const s = await waitForStatus(client, (x) => x.stopping === null && ['sleeping', 'stopped', 'hibernated'].includes(x.state), timeoutMs);
      out(s, `${s.state} (backed up: ${s.backups.lastBackup?.result ?? 'no'})`);
      return EXIT.ok;
    }
    case 'status': {
      const s = await client.status();
      out(s, describe(s));
      return EXIT.ok;
    }
    case 'inbox': {
      const s = await client.status();
      out(s.inbox, describeInbox(s));
      return EXIT.ok;
    }
    case 'hibernate': {
      await client.api('POST', '/api/hibernate', { reason: String(flags.reason ?? 'clawctl hibernate') });
      const s = await waitForStatus(client, (x) => x.state === 'hibernated' && x.stopping === null, timeoutMs);
      out(s, `hibernated: ${s.hibernation?.reason}`);
      return EXIT.ok;
    }
    case 'resume': {
      const s = await client.api<AgentStatus>('POST', '/api/resume', { reason: 'clawctl resume', ...(flags.override ? { override: true } : {}) });
      out(s, `resumed: ${s.state} (the next request or \`clawctl wake\` starts it)`);
      return EXIT.ok;
    }
    case 'backup': {
      const b = await client.api<{ result: string; id?: string; size?: number; ms: number }>('POST', '/api/backup', { reason: 'clawctl backup' });
      out(b, `backup ${b.result}${b.id ? ` ${b.id}` : ''}${b.size ? ` (${(b.size / 1048576).toFixed(1)} MB)` : ''} in ${b.ms} ms`);
      return EXIT.ok;
    }
    case 'cost': {
      type Evaluation = {
        at: string;
        monthToDateUsd: number;
        projectedUsd: number;
        source: string;
        fallbackReason: string | null;
        decision: { level: string; reason: string };
      };
      const c = await client.api<{
        last: Evaluation | null;
        current: Evaluation | null;
        thresholds: { softUsd: number; hardUsd: number };
        sleepAfterMs: number;
        model?: { month: string; calls: number; inputTokens: number; outputTokens: number; usd: number; unpriced: string[]; refused: number };
        modelLines?: { softUsd: number | null; hardUsd: number | null; level: string };
      }>('GET', '/api/cost');
      const e = c.last ?? c.current;
      const origin = c.last ? `the cron's decision of ${c.last.at}` : 'computed now (no cron run yet)';
      const text = e
        ? `month to date $${e.monthToDateUsd.toFixed(2)}, projected $${e.projectedUsd.toFixed(2)} (soft $${c.thresholds.softUsd}, hard $${c.thresholds.hardUsd})\nsource: ${e.source}${e.fallbackReason ? ` (${e.fallbackReason})` : ''}\n${origin}: ${e.decision.level}: ${e.decision.reason}; sleepAfter ${Math.round(c.sleepAfterMs / 1000)} s`
        : `cost not available (soft $${c.thresholds.softUsd}, hard $${c.thresholds.hardUsd})`;
      out(c, [text, c.model && c.modelLines ? modelCostLine(c.model, c.modelLines) : null].filter(Boolean).join('\n'));
      return EXIT.ok;
    }
    case 'logs': {
      const s = await client.status();
      const events = [
        ...s.history.map((h) => ({ at: h.at, line: `${h.from} → ${h.to}: ${h.reason}` })),
        ...s.backups.history.map((b) => ({ at: b.at, line: `${b.kind} ${b.result}: ${b.reason}${b.error ? ` (${b.error})` : ''}` })),
      ].sort((a, b) => (a.at < b.at ? -1 : 1));
      out(events, events.map((e) => `${e.at}  ${e.line}`).join('\n') || 'no events yet');
      return EXIT.ok;
    }
    case 'eval': {
      const runs = Number(flags.runs ?? 10);
      const cycles = Number(flags.cycles ?? 10);
      if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(cycles) || cycles < 1)
        throw new CliError('--runs and --cycles must be whole numbers ≥ 1', EXIT.usage);
      const at = new Date().toISOString();
      const rows = await runEvaluation(client, { runs, cycles, log: (l) => process.stderr.write(`${l}\n`) });
      const markdown = toMarkdown(rows, client.target.url, at);
      const dir = resolve(String(flags.out ?? 'eval-report'));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'evaluation.md'), markdown);
      writeFileSync(join(dir, 'evaluation.json'), JSON.stringify({ target: client.target.url, at, rows }, null, 2));
      out({ rows, dir }, `${markdown}\nwritten to ${dir}/evaluation.md and evaluation.json`);
      return rows.every((r) => r.pass !== false) ? EXIT.ok : EXIT.failed;
    }
    case 'doctor': {
      const findings = await runDoctor(await doctorInputs(flags, client));
      out(findings, formatFindings(findings));
      return findings.some((f) => f.result === 'fail') ? EXIT.failed : EXIT.ok;
    }
    default:
      throw new CliError(`unknown command "${command}"\n${USAGE}`, EXIT.usage);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof CliError) {
      console.error(`clawctl: ${error.message}`);
      process.exit(error.exitCode);
    }
    console.error(`clawctl: ${errorMessage(error)}`);
    process.exit(EXIT.failed);
  },
);
