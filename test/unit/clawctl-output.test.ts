/**
 * clawctl against a server that answers hostile text (what a container can
 * put in a job name, a reason or an error): every command prints it without
 * a control character, so nothing the server says can move the cursor,
 * rewrite a line above or write the terminal's clipboard; the only line
 * breaks are the CLI's own.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerText, stripControls } from '../../cli/api-client.ts';
import { ROOT } from '../../scripts/lib/root.mjs';

/** An OSC 52 clipboard write, cursor moves and line erasure (7-bit and C1 forms), a bell, a carriage return, a line break. */
const HOSTILE = 'job\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u0007\u001b[2A\u001b[2K\u009b1A\rcost: $0.00\nnext line\u0000\u007f';
const PLAIN = 'job cost: $0.00 next line';
/** Any control character but a line feed. */
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

function status(text: string, state = 'sleeping') {
  const at = '2026-11-10T12:00:00.000Z';
  return {
    agent: `default ${text}`,
    runtime: 'local',
    state,
    since: at,
    phase: state === 'booting' ? `configuring ${text}` : null,
    stopping: null,
    bootAttempt: 1,
    maxBootAttempts: 3,
    lastTransition: { from: 'idle', to: state, event: 'lifecycle.sleep', reason: `idle ${text}`, at },
    lastError: { code: `boot_failed ${text}`, message: `gateway said ${text}` },
    hibernation: { by: `cron ${text}`, reason: `budget ${text}`, at },
    lastStop: null,
    lastBoot: { startedAt: at, totalMs: 1000, parts: [{ phase: `restoring ${text}`, ms: 1000 }] },
    browser: { mode: 'off', detail: text },
    work: { blockers: [{ kind: 'run', message: `agent turn ${text}` }], since: at, retryAfterMs: 10_000 },
    schedule: {
      mode: 'all',
      next: { jobId: 'j1', jobName: `nightly ${text}`, runAt: at, wakeAt: at },
      awaiting: { jobId: 'j1', jobName: `nightly ${text}`, runAt: at },
      lastRun: { jobId: 'j1', jobName: `nightly ${text}`, at, status: `ok ${text}`, durationMs: 1000 },
      jobs: 1,
      wakingJobs: 1,
      thinnedToEveryMs: null,
    },
    sleepAfterMs: 600_000,
    sleepAt: at,
    lastActivityAt: at,
    meter: { totalSeconds: 3600, instanceType: `standard-2 ${text}` },
    backups: {
      enabled: true,
      lastBackup: { result: `ok ${text}`, at },
      history: [{ kind: 'backup', result: 'ok', reason: `changed ${text}`, error: `disk ${text}`, at }],
    },
    cost: { last: { monthToDateUsd: 1.5, projectedUsd: 4.25, source: `self-meter ${text}` } },
    history: [{ from: 'idle', to: state, event: 'lifecycle.sleep', reason: `idle ${text}`, at }],
  };
}

function cost(text: string) {
  const evaluation = {
    at: '2026-11-10T12:00:00.000Z',
    monthToDateUsd: 1.5,
    projectedUsd: 4.25,
    source: `self-meter ${text}`,
    fallbackReason: `no token ${text}`,
    decision: { level: 'ok', reason: `under the line ${text}` },
  };
  return { last: evaluation, current: evaluation, thresholds: { softUsd: 15, hardUsd: 20 }, sleepAfterMs: 600_000 };
}

/** A stand-in for the Worker's API whose every string carries `text`. */
class HostileApi {
  text = HOSTILE;
  polls = 0;
  server: Server = createServer((req, res) => {
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const error = { error: { code: `refused ${this.text}`, message: `the gateway said ${this.text}` } };
    const route = `${req.method} ${req.url}`;
    if (route === 'GET /api/status') return send(200, status(this.text, this.polls++ === 0 ? 'booting' : 'ready'));
    if (route === 'GET /api/cost') return send(200, cost(this.text));
    if (route === 'POST /api/wake') return send(202, status(this.text, 'booting'));
    if (route === 'POST /api/sleep') return send(409, error);
    if (route === 'POST /api/backup') return send(403, error);
    return send(404, error);
  });
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

function clawctl(url: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', [join(ROOT, 'bin', 'clawctl'), ...args, '--url', url], {
      env: { ...process.env, OPENCLAW_ONDEMAND_SKIP_INSTALL: '1', CLAWCTL_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

describe('clawctl output', () => {
  const api = new HostileApi();
  beforeAll(() => new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve)));
  afterAll(() => new Promise<void>((resolve) => api.server.close(() => resolve())));

  describe('every command', () => {
    // `shown`: the server's text is printed as words (JSON output escapes it).
    const commands: Array<{ args: string[]; code: number; shown: boolean }> = [
      { args: ['status'], code: 0, shown: true },
      { args: ['status', '--json'], code: 0, shown: false },
      { args: ['logs'], code: 0, shown: true },
      { args: ['cost'], code: 0, shown: true },
      { args: ['wake', '--timeout', '10'], code: 0, shown: true },
      { args: ['sleep'], code: 1, shown: true },
      { args: ['backup'], code: 4, shown: true },
    ];
    for (const { args, code, shown } of commands) {
      it(`should print no control character the server sent, and only its own line breaks (clawctl ${args.join(' ')})`, async () => {
        api.text = PLAIN;
        api.polls = 0;
        const plain = await clawctl(api.url, args);
        api.text = HOSTILE;
        api.polls = 0;
        const hostile = await clawctl(api.url, args);
        expect(plain.code, plain.out).toBe(code);
        expect(hostile.code, hostile.out).toBe(code);
        expect(hostile.out).not.toMatch(CONTROL_BUT_NEWLINE);
        // The hostile text is shown, defanged: the escape sequences' printable rest, on the CLI's own lines.
        if (shown) expect(hostile.out).toContain('\ufffd]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\ufffd\ufffd[2A');
        expect(hostile.out.split('\n')).toHaveLength(plain.out.split('\n').length);
      });
    }
  });

  describe('parseServerText', () => {
    it('should strip control characters from every string and key at any depth, and from a body that is not JSON', () => {
      const parsed = parseServerText(JSON.stringify({ 'a\u001b[2Kb': [{ name: `x\u009by\u0007` }], n: 1, ok: true, none: null })) as Record<string, unknown>;
      expect(parsed).toEqual({ 'a\ufffd[2Kb': [{ name: 'x\ufffdy\ufffd' }], n: 1, ok: true, none: null });
      expect(parseServerText('<html>\u001b]52;c;eA==\u0007</html>')).toEqual({ raw: '<html>\ufffd]52;c;eA==\ufffd</html>' });
      expect(parseServerText('')).toBeNull();
      expect(stripControls('one\ttwo\r\nthree')).toBe('one two  three');
    });
  });
});
