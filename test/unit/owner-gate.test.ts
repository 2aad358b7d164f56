/**
 * The local mode's owner gate (container/host/owner-gate.ts) in front of a
 * stand-in for wrangler: whose a connection is (from the kernel's socket
 * table), the login link, the token, what it forwards and what it removes;
 * the state directory's modes; and which URL clawctl sends the token to.
 * The same against the real stack and a second Unix account:
 * test/e2e/local-other-account.test.ts.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { localAccessToken, loadTarget } from '../../cli/target.ts';
import { peerUid, readAccessFile, restrictToOwner, startOwnerGate, type OwnerGate } from '../../container/host/owner-gate.ts';
import { LOCAL_OWNER_HEADER } from '../../src/contract/local-host.ts';

const SECRET = 'a'.repeat(64);

describe('peerUid: the account that owns the client end of a loopback connection', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'proc-net-'));
    const head = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
    writeFileSync(
      join(dir, 'tcp'),
      head +
        [
          '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 100 1 0 100 0 0 10 0',
          // the client end (uid 1001) and our end (uid 0) of 127.0.0.1:50000 → 127.0.0.1:8080
          '   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 101 1 0 20 4 30 10 -1',
          '   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 102 1 0 20 4 30 10 -1',
        ].join('\n'),
    );
    writeFileSync(
      join(dir, 'tcp6'),
      head +
        [
          // ::1 port 50001 → ::1 port 8080 (uid 1002); ::ffff:127.0.0.1 port 50002 → ::ffff:127.0.0.1 port 8080 (uid 1003)
          '   0: 00000000000000000000000001000000:C351 00000000000000000000000001000000:1F90 01 00000000:00000000 00:00000000 00000000  1002        0 103 1 0 20 4 30 10 -1',
          '   1: 0000000000000000FFFF00000100007F:C352 0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 00:00000000 00000000  1003        0 104 1 0 20 4 30 10 -1',
        ].join('\n'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('should read the uid of the socket whose local address is the peer and whose remote address is us', () => {
    expect(peerUid({ address: '127.0.0.1', port: 50000 }, { address: '127.0.0.1', port: 8080 }, dir)).toBe(1001);
    expect(peerUid({ address: '::1', port: 50001 }, { address: '::1', port: 8080 }, dir)).toBe(1002);
    expect(peerUid({ address: '::ffff:127.0.0.1', port: 50002 }, { address: '::ffff:127.0.0.1', port: 8080 }, dir)).toBe(1003);
  });

  it('should not take our own end, another port, or a missing table for the peer', () => {
    expect(peerUid({ address: '127.0.0.1', port: 8080 }, { address: '127.0.0.1', port: 50000 }, dir)).toBe(0); // our end, as the reverse pair
    expect(peerUid({ address: '127.0.0.1', port: 50000 }, { address: '127.0.0.1', port: 8081 }, dir)).toBeNull();
    expect(peerUid({ address: '127.0.0.2', port: 50000 }, { address: '127.0.0.1', port: 8080 }, dir)).toBeNull();
    expect(peerUid({ address: '127.0.0.1', port: 50000 }, { address: '127.0.0.1', port: 8080 }, join(dir, 'none'))).toBeNull();
  });
});

describe('the owner gate in front of a stand-in Worker', () => {
  let upstream: Server;
  let upstreamPort: number;
  let seen: IncomingMessage[] = [];
  let gates: OwnerGate[] = [];
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'owner-gate-'));
    upstream = createServer((req, res) => {
      seen.push(req);
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' });
      res.end(JSON.stringify({ path: req.url, headers: req.headers }));
    });
    const wss = new WebSocketServer({ server: upstream });
    wss.on('connection', (socket, req) => {
      socket.send(`hello ${req.headers[LOCAL_OWNER_HEADER] === SECRET ? 'owner' : 'stranger'}`);
      socket.on('message', (data) => socket.send(`echo:${data}`));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    upstreamPort = (upstream.address() as { port: number }).port;
  });
  afterEach(async () => {
    await Promise.all(gates.map((g) => g.close()));
    gates = [];
    seen = [];
  });
  afterAll(async () => {
    await new Promise<void>((r) => upstream.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });
  const gate = async (mode: 'account' | 'token', procNet?: string) => {
    const g = await startOwnerGate({
      port: 0,
      upstreamPort,
      ownerSecret: SECRET,
      mode,
      accessFile: join(dir, `access-${gates.length}.json`),
      ...(procNet ? { procNet } : {}),
    });
    gates.push(g);
    return g;
  };

  it("should forward this account's own connections with the owner secret, and write the access file 0600", async () => {
    const g = await gate('account');
    expect(g.byAccount).toBe(true);
    const r = await fetch(`${g.url}/api/status?x=1`, { headers: { [LOCAL_OWNER_HEADER]: 'forged', cookie: 'theme=dark' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-upstream')).toBe('yes');
    const body = (await r.json()) as { path: string; headers: Record<string, string> };
    expect(body.path).toBe('/api/status?x=1');
    expect(body.headers[LOCAL_OWNER_HEADER]).toBe(SECRET);
    expect(body.headers.cookie).toBe('theme=dark');
    expect(body.headers.host).toBe(new URL(g.url).host);
    const file = join(dir, 'access-0.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readAccessFile(file)).toEqual({ url: g.url, token: g.token, loginUrl: g.loginUrl() });
  });

  it('should refuse a client the kernel does not vouch for, unless it has the token or a session from a login link', async () => {
    const g = await gate('account', join(dir, 'no-proc')); // a system without /proc/net/tcp
    expect(g.byAccount).toBe(false);
    const plain = await fetch(`${g.url}/api/status`);
    expect(plain.status).toBe(401);
    expect(((await plain.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const page = await fetch(`${g.url}/`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(401);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(await page.text()).toContain('login link');
    expect(seen).toHaveLength(0);

    const bearer = await fetch(`${g.url}/x`, { headers: { authorization: `Bearer ${g.token}` } });
    expect(bearer.status).toBe(200);
    const forwarded = (await bearer.json()) as { headers: Record<string, string> };
    expect(forwarded.headers.authorization).toBeUndefined(); // the gate's token stays at the gate
    expect(forwarded.headers[LOCAL_OWNER_HEADER]).toBe(SECRET);
    // Another bearer (an OpenAI client's key) is the client's, passed on; it does not let it in.
    expect((await fetch(`${g.url}/x`, { headers: { authorization: 'Bearer sk-other' } })).status).toBe(401);

    const link = g.loginUrl();
    const login = await fetch(link, { redirect: 'manual' });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/');
    const cookie = login.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(new RegExp(`^ondemand_local_${new URL(g.url).port}=[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict$`));
    expect(g.loginUrl()).not.toBe(link);
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(401); // spent
    const session = cookie.split(';')[0]!;
    const withCookie = await fetch(`${g.url}/y`, { headers: { cookie: `a=1; ${session}; b=2` } });
    expect(withCookie.status).toBe(200);
    expect(((await withCookie.json()) as { headers: Record<string, string> }).headers.cookie).toBe('a=1; b=2');
    expect((await fetch(`${g.url}/y`, { headers: { cookie: `${session.split('=')[0]}=${'0'.repeat(64)}` } })).status).toBe(401);
    // A login link under another Host (a rebound name) does nothing.
    const fresh = new URL(g.loginUrl());
    expect(await statusWithHost(fresh, `evil.example:${fresh.port}`)).toBe(401);
    expect(await statusWithHost(fresh, fresh.host)).toBe(303); // the same link under its own name works
  });

  it('should take every client as a stranger with LOCAL_AUTH=token, this account included', async () => {
    const g = await gate('token');
    expect(g.byAccount).toBe(false);
    expect((await fetch(`${g.url}/api/status`)).status).toBe(401);
    expect((await fetch(`${g.url}/api/status`, { headers: { authorization: `Bearer ${g.token}` } })).status).toBe(200);
  });

  it('should pass WebSockets of the owner through, and refuse the others before they reach the Worker', async () => {
    const owner = await gate('account');
    const opened = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`${owner.url.replace('http', 'ws')}/socket`);
      ws.addEventListener('message', (e) => {
        if (String(e.data).startsWith('hello')) ws.send('ping');
        else {
          ws.close();
          resolve(String(e.data));
        }
      });
      ws.addEventListener('error', () => reject(new Error('websocket error')));
    });
    expect(opened).toBe('echo:ping');
    const stranger = await gate('account', join(dir, 'no-proc'));
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${stranger.url.replace('http', 'ws')}/socket`);
      ws.addEventListener('open', () => resolve('opened'));
      ws.addEventListener('error', () => resolve('refused'));
    });
    expect(refused).toBe('refused');
  });

  it('should answer 503 + Retry-After while the Worker is not up yet, and give a browser a page that tries again', async () => {
    const g = await startOwnerGate({ port: 0, upstreamPort: 1, ownerSecret: SECRET, mode: 'account', accessFile: join(dir, 'down.json') });
    gates.push(g);
    const r = await fetch(`${g.url}/api/status`);
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('2');
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('starting');
    const page = await fetch(`${g.url}/`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('<meta http-equiv="refresh" content="2">');
  });
});

/** The status of a GET with a Host header of our choice (fetch cannot set one). */
function statusWithHost(url: URL, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpRequest(url.href, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

describe('restrictToOwner: the state directory as an older run left it', () => {
  it('should make the directory 0700, take group and other bits off everything below, and leave symbolic links alone', () => {
    const root = mkdtempSync(join(tmpdir(), 'restrict-'));
    try {
      const state = join(root, 'state');
      mkdirSync(join(state, 'a', 'b'), { recursive: true });
      chmodSync(state, 0o755);
      chmodSync(join(state, 'a'), 0o775);
      writeFileSync(join(state, 'a', 'b', 'secret.json'), '{}');
      chmodSync(join(state, 'a', 'b', 'secret.json'), 0o664);
      mkdirSync(join(state, 'readonly'));
      chmodSync(join(state, 'readonly'), 0o555);
      writeFileSync(join(state, 'run.sh'), '#!/bin/sh\n');
      chmodSync(join(state, 'run.sh'), 0o755);
      const outside = join(root, 'outside.txt');
      writeFileSync(outside, 'x');
      chmodSync(outside, 0o644);
      symlinkSync(outside, join(state, 'link'));
      restrictToOwner(state);
      expect(statSync(state).mode & 0o777).toBe(0o700);
      expect(statSync(join(state, 'a')).mode & 0o777).toBe(0o700);
      expect(statSync(join(state, 'a', 'b')).mode & 0o777).toBe(0o700);
      expect(statSync(join(state, 'a', 'b', 'secret.json')).mode & 0o777).toBe(0o600);
      expect(statSync(join(state, 'run.sh')).mode & 0o777).toBe(0o700);
      expect(statSync(join(state, 'readonly')).mode & 0o777).toBe(0o500); // the owner's own bits as they were
      expect(statSync(outside).mode & 0o777).toBe(0o644);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("clawctl and the local mode's access token", () => {
  let checkout: string;
  beforeAll(() => {
    checkout = mkdtempSync(join(tmpdir(), 'checkout-'));
    mkdirSync(join(checkout, '.local'));
    writeFileSync(join(checkout, '.local', 'access.json'), JSON.stringify({ url: 'http://127.0.0.1:8787', token: 'c'.repeat(64), loginUrl: 'x' }));
    mkdirSync(join(checkout, 'other'));
    writeFileSync(join(checkout, 'other', 'access.json'), JSON.stringify({ url: 'http://127.0.0.1:9999', token: 'd'.repeat(64), loginUrl: 'x' }));
  });
  afterAll(() => rmSync(checkout, { recursive: true, force: true }));

  it('should send the token only to the loopback URL its file names', () => {
    expect(localAccessToken('http://127.0.0.1:8787', {}, checkout)).toBe('c'.repeat(64));
    expect(localAccessToken('http://localhost:8787', {}, checkout)).toBe('c'.repeat(64));
    expect(localAccessToken('http://127.0.0.1:8788', {}, checkout)).toBeNull();
    expect(localAccessToken('https://openclaw-poc.example.com', {}, checkout)).toBeNull();
    expect(localAccessToken('http://127.0.0.1:9999', { LOCAL_STATE_DIR: 'other' }, checkout)).toBe('d'.repeat(64));
    expect(localAccessToken('http://127.0.0.1:9999', { LOCAL_STATE_DIR: join(checkout, 'other') }, checkout)).toBe('d'.repeat(64));
    expect(localAccessToken('http://127.0.0.1:8787', { LOCAL_STATE_DIR: 'missing' }, checkout)).toBeNull();
  });

  it('should be part of the default target', () => {
    const home = mkdtempSync(join(tmpdir(), 'home-'));
    try {
      expect(loadTarget({}, {}, home, home, checkout)).toMatchObject({ url: 'http://127.0.0.1:8787', localToken: 'c'.repeat(64), clientId: null });
      expect(loadTarget({ url: 'https://openclaw-poc.example.com' }, {}, home, home, checkout).localToken).toBeNull();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('should ignore a file whose token does not look like one', () => {
    writeFileSync(join(checkout, 'other', 'access.json'), JSON.stringify({ url: 'http://127.0.0.1:9999', token: 'not a token\r\nx-injected: 1' }));
    expect(localAccessToken('http://127.0.0.1:9999', { LOCAL_STATE_DIR: 'other' }, checkout)).toBeNull();
    expect(readFileSync(join(checkout, 'other', 'access.json'), 'utf8')).toContain('not a token');
  });
});
