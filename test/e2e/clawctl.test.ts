/** clawctl against the local mode (the README's run command), and its error paths. */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clawctl, type ClawctlRun as Run } from '../support/clawctl-run.ts';
import { freePort, ROOT, startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.ts';

describe('clawctl against the local mode', () => {
  let stack: LocalStack;
  const url = () => ['--url', stack.url];
  beforeAll(async () => {
    stack = await startLocalStack({ LOCAL_GATEWAY: 'echo', ECHO_BOOT_DELAY_MS: '1500', SLEEP_AFTER: '10m' });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('should wake from sleeping to ready, showing the boot phases, and exit 0', async () => {
    const r = await clawctl(['wake', ...url()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ready after \d+\.\d s on standard-2/);
    // Where the boot's time went, phase by phase.
    expect(r.stdout).toMatch(/\n {2}boot: launching \d+\.\d s, restoring \d+\.\d s, starting \d+\.\d s, configuring \d+\.\d s, starting-gateway \d+\.\d s/);
    expect(r.stderr).toContain('booting: starting-gateway');
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/ready$/);
  });

  it('should print the status, in words and as JSON', async () => {
    const text = await clawctl(['status', ...url()]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^default: ready since /);
    const json = await clawctl(['status', '--json', ...url()]);
    expect(JSON.parse(json.stdout)).toMatchObject({ state: 'ready', agent: 'default' });
  });

  it('should back up and sleep', async () => {
    const backup = await clawctl(['backup', ...url()]);
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/^backup (ok|unchanged)/);
    const sleep = await clawctl(['sleep', ...url()]);
    expect(sleep.code).toBe(0);
    expect(sleep.stdout).toContain('sleeping');
  });

  it('should hibernate, refuse a wake with the reason and exit 2, then resume', async () => {
    const h = await clawctl(['hibernate', '--reason', 'holiday', ...url()]);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('hibernated: holiday');
    const refused = await clawctl(['wake', ...url()]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^clawctl: POST \/api\/wake: hibernated: .*holiday/);
    const resumed = await clawctl(['resume', ...url()]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('resumed: sleeping');
  });

  it('should list lifecycle events and the cost summary', async () => {
    const logs = await clawctl(['logs', ...url()]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('sleeping → hibernated: holiday');
    expect(logs.stdout).toMatch(/backup (ok|unchanged)/);
    const cost = await clawctl(['cost', ...url()]);
    expect(cost.code).toBe(0);
    expect(cost.stdout).toContain('soft $15, hard $20');
    // A figure from the first minute, before any cron run: computed on request, and said so.
    expect(cost.stdout).toMatch(/month to date \$\d+\.\d\d, projected \$\d+\.\d\d/);
    expect(cost.stdout).toContain('computed now (no cron run yet)');
    // The local mode's model calls do not pass the Worker yet: none metered, no model lines set.
    expect(cost.stdout).toMatch(/^models \d{4}-\d\d: \$0\.00, 0 calls, 0 tokens in, 0 out \(model lines: soft none, hard none: ok\)$/m);
  });

  it('should run as the README shows it, `npx clawctl`, from the checkout', async () => {
    // npx runs the package's bin through a symlink in its own cache; a fresh npm cache, as on a new machine.
    const cache = mkdtempSync(join(tmpdir(), 'npx-cache-'));
    try {
      const r = await new Promise<Run>((resolve) => {
        const child = spawn('npx', ['--yes', 'clawctl', 'status', '--json'], {
          cwd: ROOT,
          env: { ...process.env, OPENCLAW_ONDEMAND_SKIP_INSTALL: '1', CLAWCTL_URL: stack.url, npm_config_cache: cache, npm_config_update_notifier: 'false' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('exit', (code) => resolve({ code, stdout, stderr }));
      });
      expect(r.stderr).not.toContain('cannot open');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ agent: 'default' });
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('clawctl error paths', () => {
  let server: Server;
  let deniedUrl = '';
  beforeAll(async () => {
    // Answers like the Worker behind Access with a wrong service token.
    server = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'unauthorized', message: 'the Access token is bad signature' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const address = server.address();
    deniedUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('should say in one line that the target is down, exit 3', async () => {
    const r = await clawctl(['status', '--url', `http://127.0.0.1:${await freePort()}`]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^clawctl: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });

  it('should say in one line that the token is wrong, exit 4', async () => {
    const r = await clawctl(['wake', '--url', deniedUrl], { CF_ACCESS_CLIENT_ID: 'id.access', CF_ACCESS_CLIENT_SECRET: 'wrong' });
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('not authorized');
    expect(r.stderr).toContain('bad signature');
  });

  it('should refuse bad usage with the usage text, exit 5', async () => {
    const r = await clawctl(['frobnicate']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('clawctl eval', () => {
  let stack: LocalStack;
  let out: string;
  beforeAll(async () => {
    stack = await startLocalStack({ LOCAL_GATEWAY: 'openclaw', SLEEP_AFTER: '5s', QUIET_AFTER: '2s', HEALTH_INTERVAL: '2s' });
    out = mkdtempSync(join(tmpdir(), 'eval-'));
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it("should run the plan's evaluation against the real OpenClaw and write the table as Markdown and JSON, twice over the same assistant", async () => {
    // Two cold starts and cycles, then one more of each over the same assistant: what the second round proves is that
    // it reads its own marker back, which one run shows.
    for (const [round, runs] of [
      [1, 2],
      [2, 1],
    ] as const) {
      const dir = join(out, `round-${round}`);
      const r = await clawctl(['eval', '--runs', String(runs), '--cycles', String(runs), '--out', dir, '--url', stack.url], {}, 900_000);
      const report = JSON.parse(readFileSync(join(dir, 'evaluation.json'), 'utf8')) as {
        rows: Array<{ aspect: string; pass: boolean | null; measured: string; detail?: unknown }>;
      };
      const byAspect = Object.fromEntries(report.rows.map((row) => [row.aspect, row]));
      expect(Object.keys(byAspect)).toEqual(['start time', 'stability', 'effort', 'monthly cost', 'persistence', 'isolation']);
      const startTime = byAspect['start time']!.detail as {
        seconds: number[];
        instanceType: string;
        runtime: string;
        lastBoot: { parts: Array<{ phase: string }> };
      };
      const starts = startTime.seconds;
      expect(starts).toHaveLength(runs);
      // It says what it measured on: the instance type the target meters (the local env's INSTANCE_TYPE) and the runtime.
      expect(startTime).toMatchObject({ instanceType: 'standard-2', runtime: 'local' });
      expect(startTime.lastBoot.parts.map((p) => p.phase)).toEqual(['launching', 'restoring', 'starting', 'configuring', 'starting-gateway']);
      // Consistent with `npm run bench` (OpenClaw wake → ready ~9 s on this kind of machine): seconds, not minutes.
      for (const s of starts) expect(s).toBeGreaterThan(1);
      for (const s of starts) expect(s).toBeLessThan(120);
      expect(byAspect.stability!.measured, JSON.stringify(byAspect.stability!.detail)).toBe(`${runs} of ${runs}`);
      // A second evaluation of the same assistant reads its own marker back, not the first one's conversation.
      expect(byAspect.persistence!.pass, `round ${round}: ${byAspect.persistence!.measured}`).toBe(true);
      expect(byAspect.isolation!.pass).toBe(true);
      expect(byAspect['monthly cost']!.pass).toBe(true);
      expect(
        report.rows.every((row) => row.pass !== false),
        `round ${round}`,
      ).toBe(true);
      expect(readFileSync(join(dir, 'evaluation.md'), 'utf8')).toContain('| start time | cold start until usable (standard-2, local) | ≤ 2 min |');
      expect(r.code).toBe(0);
    }
  }, 1_500_000);
});
