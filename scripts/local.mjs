// `npm start`: the whole local stack with one command. The local dev host
// (runs the container start script on this machine) plus `wrangler dev
// --env local` (the Worker, the LocalAgent Durable Object, R2 emulation),
// both on 127.0.0.1. Ctrl-C (or SIGTERM) first puts a running assistant to
// sleep — its state backed up, as at any sleep — then stops everything; a
// second Ctrl-C exits at once.
//
// Environment: PORT (default 8787), LOCAL_HOST_PORT (default PORT+1),
// LOCAL_STATE_DIR (default .local), LOCAL_GATEWAY (openclaw|echo, default openclaw),
// LOCAL_MOCK_LLM (on|off, default on: the bundled mock model unless keys in
// .dev.vars choose a real provider), LOCAL_BROWSER (a Chromium for the agent's
// browser tool: default /usr/bin/chromium when it exists; `off`: none), and
// any Worker var (SLEEP_AFTER, ...); LOCAL_AUTH (account|token, default account:
// see below); LOCAL_SECRETS_FILE (the Worker's secrets, default .dev.vars.local
// or .dev.vars).
//
// Another account on this machine gets nothing (README: the local mode's
// credential): npm start listens on PORT itself (container/host/owner-gate.ts)
// and lets through the owner's own processes (the kernel says whose each
// connection is; LOCAL_AUTH=token turns that off), a browser that opened the
// one-time login link it prints, or a client with the run's access token
// (<state dir>/access.json, which clawctl reads). The Worker (wrangler, on a
// private port, without inspector, dev registry or local explorer:
// scripts/local-wrangler.mjs) answers only what the gate vouches for. Every
// file of the run is the owner's alone (umask 077; the state directory and
// what it holds already are made 0700/0600 at start).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LOCAL_SHELL_SETTINGS } from '../src/settings.ts';
import { ECHO_GATEWAY_COMMAND, startLocalHost } from '../container/host/local-host.ts';
import { freePort } from '../container/host/agent-supervisor.ts';
import { restrictToOwner, startOwnerGate } from '../container/host/owner-gate.ts';
import { MOCK_MODEL_ID, startMockLlm } from '../container/mock-llm/server.mjs';
import { ROOT } from './lib/root.mjs';

// Everything this run and its children write (the Worker's storage and R2 blobs, the assistant's home,
// logs) is readable by this account only.
process.umask(0o077);

// The Worker's settings an operator may set from the shell (src/settings.ts says which the local mode fixes itself).
const WORKER_VARS = LOCAL_SHELL_SETTINGS;
// Passed to the runtime as defaults (secrets in .dev.vars, sent by the Worker, win).
// The proxy and CA settings of the operator's shell reach the gateway too (a proxy in front of the internet, a
// company CA): the model, the sign-in and its refreshes go out through them.
const RUNTIME_PASSTHROUGH = [
  'ECHO_BOOT_DELAY_MS',
  'BOOT_FAIL_AT',
  'OPENCLAW_GATEWAY_TOKEN',
  'HTTPS_PROXY',
  'https_proxy',
  'NO_PROXY',
  'no_proxy',
  'NODE_EXTRA_CA_CERTS',
];

function fail(message) {
  console.error(`openclaw-ondemand: ${message}`);
  process.exit(1);
}

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`PORT="${process.env.PORT}" is not a port number`);
const hostPort = Number(process.env.LOCAL_HOST_PORT ?? port + 1);
if (!Number.isInteger(hostPort) || hostPort < 0 || hostPort > 65535) fail(`LOCAL_HOST_PORT="${process.env.LOCAL_HOST_PORT}" is not a port number`);
const stateDir = resolve(ROOT, process.env.LOCAL_STATE_DIR ?? '.local');
const gatewayKind = process.env.LOCAL_GATEWAY ?? 'openclaw';
if (!['echo', 'openclaw'].includes(gatewayKind)) fail(`LOCAL_GATEWAY="${gatewayKind}" must be echo or openclaw`);
const authMode = process.env.LOCAL_AUTH ?? 'account';
if (!['account', 'token'].includes(authMode)) fail(`LOCAL_AUTH="${authMode}" must be account or token`);
mkdirSync(stateDir, { recursive: true, mode: 0o700 });
// A state directory from an older run (or made by hand) may be open to others: close it.
try {
  restrictToOwner(stateDir);
} catch (error) {
  fail(`cannot make ${stateDir} readable by this account only: ${error.message}`);
}

const extraEnv = {};
for (const name of RUNTIME_PASSTHROUGH) if (process.env[name]) extraEnv[name] = process.env[name];

// The agent's browser: the machine's Chromium, launched by the gateway itself (headless).
const browserSetting = process.env.LOCAL_BROWSER ?? '/usr/bin/chromium';
if (browserSetting !== 'off') extraEnv.BROWSER_EXECUTABLE = browserSetting; // the configure step says "missing" when it is not there
if (browserSetting !== 'off' && existsSync(browserSetting)) {
  console.log(`openclaw-ondemand: the agent's browser is ${browserSetting} (LOCAL_BROWSER=off turns it off)`);
} else {
  console.log(
    browserSetting === 'off'
      ? 'openclaw-ondemand: the agent has no browser (LOCAL_BROWSER=off)'
      : `openclaw-ondemand: the agent has no browser: ${browserSetting} is not there (apt-get install chromium, or LOCAL_BROWSER=<path>)`,
  );
}

// The bundled mock model: the default provider, overridden by real keys in .dev.vars.
let mock = null;
const mockSetting = process.env.LOCAL_MOCK_LLM ?? 'on';
if (!['on', 'off'].includes(mockSetting)) fail(`LOCAL_MOCK_LLM="${mockSetting}" must be on or off`);
if (gatewayKind === 'openclaw' && mockSetting === 'on') {
  mock = await startMockLlm({ log: join(stateDir, 'mock-llm.jsonl') });
  Object.assign(extraEnv, { OPENAI_BASE_URL: mock.url, OPENAI_MODEL: MOCK_MODEL_ID });
  console.log(`openclaw-ondemand: mock model on ${mock.url} (real keys in .dev.vars take precedence)`);
}

// A secret for this run, known only to the Worker and the local host: the local
// host answers nobody else, and the local gateway trusts only the Worker's requests.
const token = randomBytes(32).toString('hex');
// Another, known only to the owner gate and the Worker: the Worker answers only what the gate vouches for.
const ownerSecret = randomBytes(32).toString('hex');

// The public port: the owner gate, in front of wrangler's private one.
let gate;
const wranglerPort = await freePort();
try {
  gate = await startOwnerGate({
    port,
    upstreamPort: wranglerPort,
    ownerSecret,
    mode: authMode,
    accessFile: join(stateDir, 'access.json'),
    onLogin: (next) => console.log(`openclaw-ondemand: a login link was used; the next one: ${next}`),
  });
} catch (error) {
  fail(`cannot listen on 127.0.0.1:${port}: ${error.message} (set PORT)`);
}

let host;
try {
  host = await startLocalHost({
    token,
    port: hostPort,
    stateRoot: stateDir,
    gatewayCommand: gatewayKind === 'echo' ? ECHO_GATEWAY_COMMAND : '',
    extraEnv,
  });
} catch (error) {
  fail(`cannot start the local host on 127.0.0.1:${hostPort}: ${error.message} (set LOCAL_HOST_PORT)`);
}

const vars = [`LOCAL_HOST_URL:${host.url}`, `PUBLIC_ORIGINS:http://127.0.0.1:${port},http://localhost:${port}`];
// The Worker's secrets for this run: the operator's .dev.vars (model keys) plus the run's token, in a
// file only this user can read (an --env-file replaces .dev.vars, and --var would show in `ps`).
// LOCAL_SECRETS_FILE names another file of them (the same `NAME=value` lines), e.g. a test's.
const devVars = process.env.LOCAL_SECRETS_FILE || ['.dev.vars.local', '.dev.vars'].map((f) => join(ROOT, f)).find((f) => existsSync(f));
if (process.env.LOCAL_SECRETS_FILE && !existsSync(process.env.LOCAL_SECRETS_FILE)) fail(`LOCAL_SECRETS_FILE=${process.env.LOCAL_SECRETS_FILE} does not exist`);
const envFile = join(stateDir, 'worker.env');
rmSync(envFile, { force: true });
writeFileSync(envFile, `${devVars ? `${readFileSync(devVars, 'utf8').trimEnd()}\n` : ''}LOCAL_HOST_TOKEN=${token}\nLOCAL_OWNER_TOKEN=${ownerSecret}\n`, {
  mode: 0o600,
});
for (const name of WORKER_VARS) if (process.env[name]) vars.push(`${name}:${process.env[name]}`);
const wranglerOptions = {
  port: wranglerPort,
  persist: join(stateDir, 'wrangler'),
  envFile,
  vars: Object.fromEntries(vars.map((v) => [v.slice(0, v.indexOf(':')), v.slice(v.indexOf(':') + 1)])),
};
const wrangler = spawn(process.execPath, [join(ROOT, 'scripts', 'local-wrangler.mjs')], {
  cwd: ROOT,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_LOG_PATH: join(stateDir, 'wrangler-logs'),
    OPENCLAW_LOCAL_WRANGLER: JSON.stringify(wranglerOptions),
  },
  detached: true,
});

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  try {
    process.kill(-wrangler.pid, 'SIGTERM');
  } catch {}
  await gate.close().catch(() => {});
  rmSync(join(stateDir, 'access.json'), { force: true });
  await host.close().catch(() => {});
  await mock?.close().catch(() => {});
  process.exit(code);
}
const api = (path, init = {}) =>
  fetch(`${gate.url}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${gate.token}`, ...init.headers },
    signal: AbortSignal.timeout(10_000),
  });
/** How long Ctrl-C waits for the sleep (backup and stop) before exiting anyway. */
const SLEEP_ON_EXIT_MS = 180_000;
let sleepingForExit = false;

/**
 * First Ctrl-C / SIGTERM: a sleep of the running assistant (drain, backup,
 * stop), with its progress on the terminal, then the exit. Second: exit now.
 */
async function sleepThenExit(what) {
  if (sleepingForExit) {
    console.error(
      `\nopenclaw-ondemand: ${what} again: exiting now, without the final backup. What changed since the last backup may be lost — or recovered at the next start, while ${stateDir} still holds it.`,
    );
    return shutdown(130);
  }
  sleepingForExit = true;
  if (![...host.supervisors.values()].some((s) => s.running)) return shutdown(0);
  console.error(`\nopenclaw-ondemand: ${what}: putting the assistant to sleep first (backup, then stop); ${what} again exits at once`);
  const started = Date.now();
  try {
    const r = await api('/api/sleep', { method: 'POST', body: JSON.stringify({ reason: `the local mode is exiting (${what})` }) });
    await r.body?.cancel();
    let shown = '';
    while (Date.now() - started < SLEEP_ON_EXIT_MS) {
      const s = await (await api('/api/status')).json();
      const line = s.stopping ? `${s.phase ?? 'stopping'}…` : s.state;
      if (line !== shown) console.error(`openclaw-ondemand:   ${line}`);
      shown = line;
      if (!s.stopping && s.state !== 'ready' && s.state !== 'idle' && s.state !== 'booting') {
        const backup = s.backups?.lastBackup;
        console.error(
          `openclaw-ondemand: ${s.state} after ${((Date.now() - started) / 1000).toFixed(1)} s${backup ? ` — last backup ${backup.result} (${backup.reason})` : ''}`,
        );
        break;
      }
      if (s.lastError?.code === 'stop_failed')
        console.error(`openclaw-ondemand:   the backup keeps failing (${s.lastError.message}); Ctrl-C again to exit without it`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  } catch (error) {
    console.error(
      `openclaw-ondemand: could not put the assistant to sleep (${error.message}); its home stays in ${stateDir} and is recovered at the next start`,
    );
  }
  await shutdown(0);
}
process.on('SIGINT', () => void sleepThenExit('Ctrl-C'));
process.on('SIGTERM', () => void sleepThenExit('SIGTERM'));
wrangler.on('exit', (code) => {
  if (!stopping) console.error(`openclaw-ondemand: wrangler dev exited (${code})`);
  shutdown(code ?? 1);
});

// Tell the operator where to go once the Worker answers.
const deadline = Date.now() + 120_000;
while (!stopping && Date.now() < deadline) {
  try {
    const r = await fetch(`${gate.url}/api/status`, { headers: { authorization: `Bearer ${gate.token}` }, signal: AbortSignal.timeout(2000) });
    if (r.status < 500 || r.status === 503) {
      const status = await r.json().catch(() => ({}));
      console.log(`\nopenclaw-ondemand (local mode) on http://127.0.0.1:${port}  state=${status.state ?? '?'}  gateway=${gatewayKind}`);
      if (gate.byAccount) {
        console.log(`  open it in a browser to wake the assistant, or: curl -X POST http://127.0.0.1:${port}/api/wake`);
        console.log(`  it answers this account's processes only; a browser of another account signs in once with: ${gate.loginUrl()}\n`);
      } else {
        console.log(
          `  every client needs this run's credential${authMode === 'token' ? ' (LOCAL_AUTH=token)' : ' (this system does not say which account a connection comes from)'}: a browser signs in once with`,
        );
        console.log(`    ${gate.loginUrl()}`);
        console.log(`  clawctl finds the token itself; curl: -H "Authorization: Bearer $(node -p 'require("${join(stateDir, 'access.json')}").token')"\n`);
      }
      break;
    }
  } catch {}
  await new Promise((r) => setTimeout(r, 500));
}
