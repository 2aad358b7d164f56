// `npm start`: the whole local stack with one command. The local dev host
// (runs the container start script on this machine) plus `wrangler dev
// --env local` (the Worker, the LocalAgent Durable Object, R2 emulation),
// both on 127.0.0.1. Ctrl-C stops everything, the runtime processes included.
//
// Environment: PORT (default 8787), LOCAL_HOST_PORT (default PORT+1),
// LOCAL_STATE_DIR (default .local), LOCAL_GATEWAY (openclaw|echo, default openclaw),
// LOCAL_MOCK_LLM (on|off, default on: the bundled mock model unless keys in
// .dev.vars choose a real provider), and any Worker var (SLEEP_AFTER, ...).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ECHO_GATEWAY_COMMAND, startLocalHost } from '../container/host/local-host.ts';
import { MOCK_MODEL_ID, startMockLlm } from '../container/mock-llm/server.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const WORKER_VARS = ['AGENT_NAME', 'SLEEP_AFTER', 'QUIET_AFTER', 'INSTANCE_TYPE', 'BOOT_TIMEOUT', 'BOOT_ATTEMPTS', 'BOOT_BACKOFF', 'BOOT_POLL_INTERVAL', 'HEALTH_INTERVAL', 'GATEWAY_USER', 'BACKUP_INTERVAL', 'BACKUP_KEEP', 'WAKE_LIMIT_PER_MINUTE'];
// Passed to the runtime as defaults (secrets in .dev.vars, sent by the Worker, win).
const RUNTIME_PASSTHROUGH = ['ECHO_BOOT_DELAY_MS', 'BOOT_FAIL_AT', 'OPENCLAW_GATEWAY_TOKEN'];

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
mkdirSync(stateDir, { recursive: true });

const extraEnv = {};
for (const name of RUNTIME_PASSTHROUGH) if (process.env[name]) extraEnv[name] = process.env[name];

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
const devVars = ['.dev.vars.local', '.dev.vars'].map((f) => join(ROOT, f)).find((f) => existsSync(f));
const envFile = join(stateDir, 'worker.env');
rmSync(envFile, { force: true });
writeFileSync(envFile, `${devVars ? `${readFileSync(devVars, 'utf8').trimEnd()}\n` : ''}LOCAL_HOST_TOKEN=${token}\n`, { mode: 0o600 });
for (const name of WORKER_VARS) if (process.env[name]) vars.push(`${name}:${process.env[name]}`);
const args = [
  join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'),
  'dev', '--env', 'local', '--ip', '127.0.0.1', '--port', String(port),
  '--inspector-port', String(process.env.INSPECTOR_PORT ?? 0),
  '--persist-to', join(stateDir, 'wrangler'),
  '--env-file', envFile,
  '--show-interactive-dev-session=false',
  ...vars.flatMap((v) => ['--var', v]),
];
const wrangler = spawn(process.execPath, args, {
  cwd: ROOT,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_LOG_PATH: join(stateDir, 'wrangler-logs') },
  detached: true,
});

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  try { process.kill(-wrangler.pid, 'SIGTERM'); } catch {}
  await host.close().catch(() => {});
  await mock?.close().catch(() => {});
  process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
wrangler.on('exit', (code) => {
  if (!stopping) console.error(`openclaw-ondemand: wrangler dev exited (${code})`);
  shutdown(code ?? 1);
});

// Tell the operator where to go once the Worker answers.
const deadline = Date.now() + 120_000;
while (!stopping && Date.now() < deadline) {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/api/status`, { signal: AbortSignal.timeout(2000) });
    if (r.status < 500 || r.status === 503) {
      const status = await r.json().catch(() => ({}));
      console.log(`\nopenclaw-ondemand (local mode) on http://127.0.0.1:${port}  state=${status.state ?? '?'}  gateway=${gatewayKind}`);
      console.log(`  open it in a browser to wake the assistant, or: curl -X POST http://127.0.0.1:${port}/api/wake\n`);
      break;
    }
  } catch {}
  await new Promise((r) => setTimeout(r, 500));
}
