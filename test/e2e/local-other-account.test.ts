/**
 * The local mode against another Unix account on the same machine (a shared
 * CI runner, a lab machine): the stack `npm start` runs, probed by a second
 * account through setpriv (test/support/other-account.ts; CI runs as root).
 * That account gets neither the assistant (the Worker's port, wrangler's own
 * ports, an inspector, the storage explorer) nor its files — unless the owner
 * gives it the one-time login link or the run's token. The owner's own
 * processes still get in without a credential; with LOCAL_AUTH=token they
 * need it too, and clawctl finds it itself.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningPorts, localHostToken, post, readAccess, startLocalStack, until, type LocalStack } from '../../scripts/lib/local-stack.ts';
import { clawctl } from '../support/clawctl-run.ts';
import { otherAccount, type OtherAccount } from '../support/other-account.ts';
import { settledIn, waitForStatus } from '../support/stack-client.ts';

interface Fetched {
  status?: number;
  headers?: Record<string, string>;
  setCookie?: string[];
  body?: string;
  error?: string;
}

/** Every path under `dir`, directories first (symbolic links left out). */
function tree(dir: string): Array<{ path: string; dir: boolean; mode: number }> {
  const out: Array<{ path: string; dir: boolean; mode: number }> = [];
  const walk = (path: string) => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    out.push({ path, dir: st.isDirectory(), mode: st.mode & 0o777 });
    if (st.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(dir);
  return out;
}

const account = otherAccount();
const skipReason = typeof account === 'string' ? account : null;
if (skipReason) console.warn(`\n*** SKIPPED: the local mode against another Unix account: ${skipReason} ***\n`);

describe.skipIf(skipReason !== null)('the local mode against another Unix account', () => {
  const other = account as OtherAccount;
  let stack: LocalStack;
  let parent: string;
  let stateDir: string;
  beforeAll(async () => {
    // The state directory sits where others may enter (like `.local` in a checkout), and an older
    // run left it, and a file in it, open to them.
    parent = mkdtempSync(join(tmpdir(), 'openclaw-ondemand-accounts-'));
    chmodSync(parent, 0o755);
    stateDir = join(parent, 'state');
    mkdirSync(join(stateDir, 'leftover'), { recursive: true });
    chmodSync(stateDir, 0o755);
    chmodSync(join(stateDir, 'leftover'), 0o755);
    writeFileSync(join(stateDir, 'leftover', 'session.json'), '{"from":"an older run"}');
    chmodSync(join(stateDir, 'leftover', 'session.json'), 0o644);
    stack = await startLocalStack({ LOCAL_GATEWAY: 'echo', HEALTH_INTERVAL: '1s' }, 120_000, { stateDir });
    // A home on disk, a backup in the emulated R2 and a restore from it: wake, sleep, wake.
    expect((await post(`${stack.url}/api/wake`)).status).toBe(202);
    await waitForStatus(stack.url, settledIn('ready'), 'ready');
    expect((await post(`${stack.url}/api/sleep`)).status).toBeLessThan(300);
    await waitForStatus(stack.url, settledIn('sleeping'), 'sleeping');
    expect((await post(`${stack.url}/api/wake`)).status).toBe(202);
    await waitForStatus(stack.url, settledIn('ready'), 'ready again');
  }, 240_000);
  afterAll(async () => {
    await stack?.stop();
    if (parent) rmSync(parent, { recursive: true, force: true });
  });

  it("should refuse another account at the Worker's port, and let the owner's own processes in without a credential", async () => {
    // The owner: plain requests, as the README's curl lines and every test do.
    expect((await fetch(`${stack.url}/api/status`)).status).toBe(200);

    const [status, sleep, page, ws] = (await other.probe([
      { op: 'fetch', url: `${stack.url}/api/status` },
      { op: 'fetch', url: `${stack.url}/api/sleep`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
      { op: 'fetch', url: `${stack.url}/`, headers: { accept: 'text/html' } },
      { op: 'websocket', url: `${stack.url.replace('http', 'ws')}/ws-path` },
    ])) as [Fetched, Fetched, Fetched, { opened: boolean }];
    expect(status.status).toBe(401);
    expect(status.body).not.toContain('"state"');
    expect(sleep.status).toBe(401);
    expect(page.status).toBe(401);
    expect(page.body).toContain('login link');
    expect(ws.opened).toBe(false);
    // The other account's sleep did nothing.
    expect(((await (await fetch(`${stack.url}/api/status`)).json()) as { state: string }).state).toBe('ready');
  });

  it('should give another account no inspector, no storage explorer and no Worker on any port the stack listens on', async () => {
    const ports = listeningPorts(stack);
    expect(ports.map((p) => p.port)).toContain(Number(new URL(stack.url).port));
    const token = localHostToken(stack);
    const probes = [
      { op: 'inspector', ports: ports.map((p) => p.port), expression: "String(globalThis.process?.env?.LOCAL_HOST_TOKEN ?? 'no env')" },
      ...ports.flatMap(({ port }) => [
        { op: 'fetch', url: `http://127.0.0.1:${port}/api/status`, headers: { host: new URL(stack.url).host } },
        { op: 'fetch', url: `http://127.0.0.1:${port}/cdn-cgi/local/explorer/api/r2/buckets` },
        { op: 'fetch', url: `http://127.0.0.1:${port}/cdn-cgi/local/explorer/api/r2/buckets/openclaw-ondemand-local-backups/objects` },
      ]),
    ];
    const [inspectors, ...answers] = await other.probe(probes);
    expect(inspectors, `inspectors another account can use: ${JSON.stringify(inspectors)}`).toEqual([]);
    expect(JSON.stringify(inspectors)).not.toContain(token);
    answers.forEach((answer, i) => {
      const { status, body } = answer as Fetched;
      const what = `${(probes[i + 1] as { url: string }).url} → ${status} ${body?.slice(0, 120)}`;
      // (The stand-in gateway echoes anything; a Worker status or an explorer answer is what must not come.)
      if (status === 200) expect(body, what).not.toMatch(/"state":|"success":\s*true/);
      expect(body ?? '', what).not.toContain(token);
    });
    // workerd runs without an inspector and without the dev registry's debug port (which reaches every entrypoint).
    for (const { command } of ports) expect(command).not.toMatch(/--inspector-addr|--debug-port/);
  });

  it("should keep the state directory the owner's alone: directories 0700, files 0600, an older run's leftovers included", async () => {
    const entries = tree(stateDir);
    expect(entries.some((e) => e.path.includes(join('wrangler', 'v3', 'r2')) && !e.dir)).toBe(true); // a backup blob
    expect(entries.some((e) => e.path.includes(join('agents', 'default', 'home')))).toBe(true); // the home
    const open = entries.filter((e) => (e.mode & 0o077) !== 0).map((e) => `${e.path} ${e.mode.toString(8)}`);
    expect(open).toEqual([]);
    const [read] = (await other.probe([{ op: 'read', paths: [parent, ...entries.map((e) => e.path)] }])) as [{ readable: string[]; listable: string[] }];
    expect(read.listable).toEqual([parent]);
    expect(read.readable).toEqual([]);
  });

  it("should let another account in with the one-time login link or the run's token, and neither reaches the gateway", async () => {
    const access = readAccess(stateDir)!;
    expect(access.url).toBe(stack.url);
    await until(async () => stack.output().includes(access.loginUrl) || undefined, 15_000, 'npm start printing the login link');
    const port = new URL(stack.url).port;

    const [login, reuse, forged, wrongToken] = (await other.probe([
      { op: 'fetch', url: access.loginUrl },
      { op: 'fetch', url: access.loginUrl },
      { op: 'fetch', url: `${stack.url}/_ondemand/login?token=${'0'.repeat(64)}` },
      { op: 'fetch', url: `${stack.url}/api/status`, headers: { authorization: `Bearer ${'f'.repeat(64)}` } },
    ])) as Fetched[];
    expect(login!.status).toBe(303);
    expect(login!.headers?.location).toBe('/');
    const cookie = login!.setCookie?.[0] ?? '';
    expect(cookie).toMatch(new RegExp(`^ondemand_local_${port}=[0-9a-f]{64}; `));
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(reuse!.status).toBe(401); // the link is spent
    expect(forged!.status).toBe(401);
    expect(wrongToken!.status).toBe(401);
    // The next link, printed and written for the owner.
    const next = readAccess(stateDir)!;
    expect(next.loginUrl).not.toBe(access.loginUrl);
    await until(async () => stack.output().includes(next.loginUrl) || undefined, 15_000, 'npm start printing the next login link');

    const session = cookie.split(';')[0]!;
    const ownerSecret = /^LOCAL_OWNER_TOKEN=(.+)$/m.exec(readFileSync(join(stateDir, 'worker.env'), 'utf8'))![1]!;
    const [withCookie, withToken, echoCookie, echoToken, badCookie] = (await other.probe([
      { op: 'fetch', url: `${stack.url}/api/status`, headers: { cookie: `theme=dark; ${session}` } },
      { op: 'fetch', url: `${stack.url}/api/status`, headers: { authorization: `Bearer ${access.token}` } },
      { op: 'fetch', url: `${stack.url}/echo-path`, headers: { cookie: `theme=dark; ${session}`, 'x-ondemand-local-owner': 'forged' } },
      { op: 'fetch', url: `${stack.url}/echo-path`, headers: { authorization: `Bearer ${access.token}` } },
      { op: 'fetch', url: `${stack.url}/api/status`, headers: { cookie: `ondemand_local_${port}=${'0'.repeat(64)}` } },
    ])) as Fetched[];
    expect(withCookie!.status).toBe(200);
    expect(JSON.parse(withCookie!.body!).state).toBe('ready');
    expect(withToken!.status).toBe(200);
    expect(badCookie!.status).toBe(401);
    for (const echo of [echoCookie!, echoToken!]) {
      expect(echo.status).toBe(200);
      const seen = JSON.parse(echo.body!) as { gateway: string; headers: Record<string, string> };
      expect(seen.gateway).toBe('echo');
      expect(JSON.stringify(seen.headers)).not.toContain(session.split('=')[1]!);
      expect(JSON.stringify(seen.headers)).not.toContain(access.token);
      expect(seen.headers['x-ondemand-local-owner']).toBeUndefined();
      expect(JSON.stringify(seen.headers)).not.toContain(ownerSecret);
      expect(JSON.stringify(seen.headers)).not.toContain('forged');
    }
    expect((JSON.parse(echoCookie!.body!) as { headers: Record<string, string> }).headers.cookie).toBe('theme=dark');
  });
});

describe('the local mode with LOCAL_AUTH=token (every client needs the credential)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ LOCAL_GATEWAY: 'echo', LOCAL_AUTH: 'token' });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("should refuse the owner's own plain requests, take the token, and clawctl should find it itself", async () => {
    expect((await fetch(`${stack.url}/api/status`)).status).toBe(401);
    const access = readAccess(stack.stateDir)!;
    expect(lstatSync(join(stack.stateDir, 'access.json')).mode & 0o777).toBe(0o600);
    expect((await fetch(`${stack.url}/api/status`, { headers: { authorization: `Bearer ${access.token}` } })).status).toBe(200);
    await until(async () => stack.output().includes(access.loginUrl) || undefined, 15_000, 'npm start printing the login link');

    const found = await clawctl(['status', '--json', '--url', stack.url], { LOCAL_STATE_DIR: stack.stateDir });
    expect(found.stderr).toBe('');
    expect(found.code).toBe(0);
    expect((JSON.parse(found.stdout) as { state: string }).state).toBe('stopped');
    // Another run's state directory (or none): no token, not authorized.
    const elsewhere = await clawctl(['status', '--url', stack.url], { LOCAL_STATE_DIR: mkdtempSync(join(tmpdir(), 'openclaw-no-access-')) });
    expect(elsewhere.code).toBe(4);
    expect(elsewhere.stderr).toContain('LOCAL_STATE_DIR');
  });
});
