/** container/configure-openclaw.mjs run for real: first run, restored config, bad config. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumMissing } from '../support/control-ui.ts';
import { freePort, ROOT, until } from '../../scripts/lib/local-stack.ts';

const dirs: string[] = [];
function stateDir() {
  const dir = mkdtempSync(join(tmpdir(), 'configure-'));
  dirs.push(dir);
  return dir;
}
function configure(dir: string, env: Record<string, string>) {
  return spawnSync(process.execPath, [join(ROOT, 'container', 'configure-openclaw.mjs')], {
    env: { PATH: process.env.PATH ?? '', OPENCLAW_STATE_DIR: dir, ...env },
    encoding: 'utf8',
  });
}
const read = (dir: string) => JSON.parse(readFileSync(join(dir, 'openclaw.json'), 'utf8'));
const compat = { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_MODEL: 'mock-model', GATEWAY_PORT: '18789' };

describe('configure-openclaw.mjs', () => {
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("should set up OpenClaw's Telegram channel in webhook mode for a connected bot, by reference, and take it away with the bot (an owner's own left alone)", () => {
    const dir = stateDir();
    const telegram = {
      TELEGRAM_BOT_TOKEN: '7000000001:ondemand-placeholder-telegram-bot-token',
      TELEGRAM_LISTENER_SECRET: 'derived-listener-secret-0123',
      TELEGRAM_ALLOWED_USER_IDS: '4242,4343',
      TELEGRAM_WEBHOOK_URL: 'https://poc.example.com/_ondemand/inbox/telegram',
      TELEGRAM_LISTENER_PORT: '18790',
      GATEWAY_BIND: 'lan',
    };
    expect(configure(dir, { ...compat, ...telegram }).status).toBe(0);
    expect(read(dir).channels.telegram).toEqual({
      enabled: true,
      botToken: '${TELEGRAM_BOT_TOKEN}',
      webhookSecret: '${TELEGRAM_LISTENER_SECRET}',
      webhookPath: '/telegram-webhook',
      webhookHost: '0.0.0.0',
      webhookPort: 18790,
      webhookUrl: 'https://poc.example.com/_ondemand/inbox/telegram',
      dmPolicy: 'allowlist',
      allowFrom: ['4242', '4343'],
    });
    // Neither the placeholder nor the listener's secret is written: both are references the gateway resolves.
    expect(readFileSync(join(dir, 'openclaw.json'), 'utf8')).not.toContain('derived-listener-secret-0123');
    // No sender allowed: direct messages off (an allowlist with nobody fails OpenClaw's validation).
    expect(configure(dir, { ...compat, ...telegram, TELEGRAM_ALLOWED_USER_IDS: '' }).status).toBe(0);
    expect(read(dir).channels.telegram).toMatchObject({ dmPolicy: 'disabled' });
    expect(read(dir).channels.telegram.allowFrom).toBeUndefined();
    // The bot disconnected: the channel this script set up goes.
    expect(configure(dir, compat).status).toBe(0);
    expect(read(dir).channels?.telegram).toBeUndefined();
    // One the owner set up by hand (its own token and polling) stays.
    const mine = { enabled: true, botToken: '123:owner-own', dmPolicy: 'pairing' };
    writeFileSync(join(dir, 'openclaw.json'), JSON.stringify({ ...read(dir), channels: { telegram: mine } }));
    expect(configure(dir, compat).status).toBe(0);
    expect(read(dir).channels.telegram).toEqual(mine);
  });

  it("should set up OpenClaw's Discord channel (sending only) and the agent hook for a connected bot, with the plugin's install record, and take them away with the bot", () => {
    const dir = stateDir();
    // A plugin installed beside openclaw, as npm lays it out (node_modules/@openclaw/discord).
    const plugin = join(stateDir(), 'node_modules', '@openclaw', 'discord');
    mkdirSync(plugin, { recursive: true });
    writeFileSync(join(plugin, 'package.json'), JSON.stringify({ name: '@openclaw/discord', version: '2026.9.6' }));
    const discord = {
      DISCORD_BOT_TOKEN: 'ondemand-placeholder-discord-bot-token',
      DISCORD_HOOK_TOKEN: 'derived-hook-token-4d2c',
      DISCORD_ALLOWED_USER_IDS: '2200000000000000002',
      OPENCLAW_DISCORD_PLUGIN: plugin,
    };
    expect(configure(dir, { ...compat, ...discord }).status).toBe(0);
    const config = read(dir);
    expect(config.channels.discord).toEqual({
      enabled: true,
      token: '${DISCORD_BOT_TOKEN}',
      intents: { messageContent: false },
      dmPolicy: 'allowlist',
      allowFrom: ['2200000000000000002'],
    });
    expect(config.hooks).toEqual({
      enabled: true,
      token: '${DISCORD_HOOK_TOKEN}',
      path: '/hooks',
      allowRequestSessionKey: true,
      allowedSessionKeyPrefixes: ['hook:'],
    });
    // An official npm install record (what OpenClaw trusts), pointing at the installed package; its peer link to openclaw made.
    expect(config.plugins.installs.discord).toMatchObject({
      source: 'npm',
      spec: '@openclaw/discord@2026.9.6',
      installPath: plugin,
      resolvedName: '@openclaw/discord',
    });
    expect(readlinkSync(join(plugin, 'node_modules', 'openclaw'))).toBe('../../../openclaw');
    expect(readFileSync(join(dir, 'openclaw.json'), 'utf8')).not.toContain('derived-hook-token-4d2c');
    // Once OpenClaw imported the record into its own store, the retired key goes (OpenClaw's CLI refuses a config with it).
    mkdirSync(join(dir, 'state'));
    const db = new DatabaseSync(join(dir, 'state', 'openclaw.sqlite'));
    db.exec('CREATE TABLE config_machine_state (state_key TEXT PRIMARY KEY, value_json TEXT)');
    db.prepare('INSERT INTO config_machine_state VALUES (?, ?)').run(
      'plugins.installedIndex',
      JSON.stringify({ index: { installRecords: { discord: { source: 'npm', spec: '@openclaw/discord@2026.9.6', installPath: plugin } } } }),
    );
    db.close();
    const again = configure(dir, { ...compat, ...discord });
    expect(again.status, again.stderr).toBe(0);
    expect(read(dir).plugins.installs).toBeUndefined();
    expect(read(dir).channels.discord).toMatchObject({ enabled: true });
    // No plugin where it should be: a clear failure, nothing half-configured.
    const missing = configure(stateDir(), { ...compat, ...discord, OPENCLAW_DISCORD_PLUGIN: join(plugin, 'nope') });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('@openclaw/discord) is not installed');
    // The bot disconnected: the channel and the hooks this script set up go.
    expect(configure(dir, compat).status).toBe(0);
    expect(read(dir).channels?.discord).toBeUndefined();
    expect(read(dir).hooks).toBeUndefined();
  });

  it('should write first-run defaults and the managed settings when no config exists', () => {
    const dir = stateDir();
    const r = configure(dir, { ...compat, OPENCLAW_GATEWAY_TOKEN: 'secret-value-1' });
    expect(r.status).toBe(0);
    const config = read(dir);
    expect(config.update.checkOnStart).toBe(false);
    expect(config.models.catalogRefresh.enabled).toBe(false);
    expect(config.agents.defaults.heartbeat.every).toBe('0m');
    expect(config.agents.defaults.model.primary).toBe('compat/mock-model');
    expect(config.gateway).toMatchObject({
      mode: 'local',
      port: 18789,
      bind: 'loopback',
      auth: { mode: 'trusted-proxy', password: '${OPENCLAW_GATEWAY_PASSWORD}' },
    });
    expect(readFileSync(join(dir, 'openclaw.json'), 'utf8')).not.toContain('secret-value-1');
  });

  it("should write this boot's CDP URL, the proxy-header name and the gateway token only as ${VAR} references", () => {
    const dir = stateDir();
    const secret = `${'c0ffee'.repeat(10)}beef`;
    const header = 'x-ondemand-5e9a7c31d2b84f06';
    const r = configure(dir, {
      ...compat,
      OPENCLAW_GATEWAY_TOKEN: 'gateway-token-9d2f',
      BROWSER_CDP_URL: `ws://browser.ondemand.internal/devtools/browser/${secret}`,
      GATEWAY_PROXY_HEADER: header,
    });
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(join(dir, 'openclaw.json'), 'utf8');
    for (const value of [secret, header, 'gateway-token-9d2f']) expect(text).not.toContain(value);
    const config = read(dir);
    expect(config.browser.profiles['browser-rendering'].cdpUrl).toBe('${BROWSER_CDP_URL}');
    expect(config.gateway.auth.trustedProxy.requiredHeaders).toEqual(['x-openclaw-proxy', '${GATEWAY_PROXY_HEADER}']);
    // The host is no secret: the browser tool's SSRF allowlist names it.
    expect(config.browser.ssrfPolicy.allowedHostnames).toEqual(['browser.ondemand.internal']);
    expect(r.stdout).not.toContain(secret);
    expect(r.stdout).not.toContain(header);
  });

  it('should keep what the owner changed in a restored config and re-apply only managed settings', () => {
    const dir = stateDir();
    expect(configure(dir, compat).status).toBe(0);
    const owned = read(dir);
    owned.agents.defaults.heartbeat.every = '30m';
    owned.update.checkOnStart = true;
    owned.agents.defaults.model.primary = 'compat/mock-model';
    owned.tools = { profile: 'coding' };
    owned.gateway.port = 1;
    writeFileSync(join(dir, 'openclaw.json'), JSON.stringify(owned));
    expect(configure(dir, { ...compat, GATEWAY_PORT: '20000' }).status).toBe(0);
    const next = read(dir);
    expect(next.agents.defaults.heartbeat.every).toBe('30m');
    expect(next.update.checkOnStart).toBe(true);
    expect(next.tools).toEqual({ profile: 'coding' });
    expect(next.gateway.port).toBe(20000);
  });

  it("should give the agent Browser Rendering, the machine's Chromium, or no browser, and say which in browser.json", () => {
    const dir = stateDir();
    const statusDir = stateDir();
    const run = (env: Record<string, string>) => {
      const r = configure(dir, { ...compat, BOOT_STATUS_FILE: join(statusDir, 'status.json'), ...env });
      expect(r.status, r.stderr).toBe(0);
      return { config: read(dir), said: JSON.parse(readFileSync(join(statusDir, 'browser.json'), 'utf8')) as { mode: string; detail: string } };
    };
    configure(dir, compat);
    const owner = read(dir);
    owner.browser = { ...owner.browser, profiles: { mine: { cdpUrl: 'http://127.0.0.1:9222' } }, color: '#123456' };
    writeFileSync(join(dir, 'openclaw.json'), JSON.stringify(owner));

    const cdp = 'ws://browser.ondemand.internal/__ondemand-cdp/boot-secret-1';
    const rendering = run({ BROWSER_CDP_URL: cdp, BROWSER_ALLOWED_HOSTNAMES: 'intranet.example, 10.0.0.7' });
    expect(rendering.said.mode).toBe('browser-rendering');
    expect(rendering.config.browser).toMatchObject({
      enabled: true,
      defaultProfile: 'browser-rendering',
      profiles: { 'browser-rendering': { cdpUrl: '${BROWSER_CDP_URL}' }, mine: { cdpUrl: 'http://127.0.0.1:9222' } },
      color: '#123456',
    });
    expect(rendering.config.browser.ssrfPolicy.allowedHostnames).toEqual(['intranet.example', '10.0.0.7', 'browser.ondemand.internal']);

    // The next boot runs where there is a local Chromium: the rendering profile goes, the owner's stays.
    const local = run({ BROWSER_EXECUTABLE: process.execPath });
    expect(local.said).toEqual({ mode: 'local-chromium', detail: `${process.execPath}, headless, launched by the gateway` });
    expect(local.config.browser).toMatchObject({
      enabled: true,
      executablePath: process.execPath,
      headless: true,
      profiles: { mine: { cdpUrl: 'http://127.0.0.1:9222' } },
    });
    expect(local.config.browser.profiles['browser-rendering']).toBeUndefined();
    expect(local.config.browser.defaultProfile).toBeUndefined();

    const missing = run({ BROWSER_EXECUTABLE: '/nonexistent/chromium' });
    expect(missing.said.mode).toBe('missing');
    expect(missing.said.detail).toContain('/nonexistent/chromium is not there');
    expect(missing.config.browser.enabled).toBe(false);

    const off = run({});
    expect(off.said.mode).toBe('off');
    expect(off.config.browser.enabled).toBe(false);
    expect(off.config.browser.color).toBe('#123456');
  });

  it('should change nothing on a second run with the same environment', () => {
    const dir = stateDir();
    configure(dir, compat);
    const first = readFileSync(join(dir, 'openclaw.json'), 'utf8');
    const r = configure(dir, compat);
    expect(r.stdout).toContain('unchanged');
    expect(readFileSync(join(dir, 'openclaw.json'), 'utf8')).toBe(first);
  });

  it('should switch the model when its provider lost its key, and follow OPENCLAW_MODEL', () => {
    const dir = stateDir();
    configure(dir, { ANTHROPIC_API_KEY: 'k' });
    expect(read(dir).agents.defaults.model.primary).toBe('anthropic/claude-opus-5');
    configure(dir, compat);
    expect(read(dir).agents.defaults.model.primary).toBe('compat/mock-model');
    configure(dir, { ...compat, OPENCLAW_MODEL: 'compat/other' });
    expect(read(dir).agents.defaults.model.primary).toBe('compat/other');
  });

  it('should choose the ChatGPT/Codex subscription with no key: openai/* on the embedded runtime over SSE, the Codex plugin off', () => {
    const dir = stateDir();
    const r = configure(dir, {});
    expect(r.status, r.stderr).toBe(0);
    const config = read(dir);
    expect(config.agents.defaults.model.primary).toBe('openai/gpt-6-astra');
    expect(config.agents.defaults.models['openai/*'].agentRuntime).toEqual({ id: 'openclaw' });
    expect(config.agents.defaults.models['openai/gpt-6-astra']).toMatchObject({ agentRuntime: { id: 'openclaw' }, params: { transport: 'sse' } });
    expect(config.plugins.entries.codex).toEqual({ enabled: false });
    // The owner's own settings of that model stay; the runtime pin is re-applied.
    config.agents.defaults.models['openai/gpt-6-astra'] = { params: { temperature: 0.2, transport: 'websocket' }, agentRuntime: { id: 'codex' } };
    writeFileSync(join(dir, 'openclaw.json'), JSON.stringify(config));
    expect(configure(dir, {}).status).toBe(0);
    expect(read(dir).agents.defaults.models['openai/gpt-6-astra']).toEqual({
      params: { temperature: 0.2, transport: 'sse' },
      agentRuntime: { id: 'openclaw' },
    });
    // The owner's sessions are the gateway's administrators (Connect provider in the Control UI needs it).
    expect(configure(dir, { GATEWAY_ADMINS: 'owner,me@example.com' }).status).toBe(0);
    expect(read(dir).gateway.auth.identityScopes).toEqual({ owner: ['operator.admin'], 'me@example.com': ['operator.admin'] });
    expect(configure(dir, {}).status).toBe(0);
    expect(read(dir).gateway.auth.identityScopes).toBeUndefined();
    // A key later: its model.
    expect(configure(dir, { ANTHROPIC_API_KEY: 'k', OPENCLAW_MODEL: 'anthropic/claude-opus-5' }).status).toBe(0);
    expect(read(dir).agents.defaults.model.primary).toBe('anthropic/claude-opus-5');
    // Off openai/*, no openai/* entry: a models map naming it makes OpenClaw try OpenAI for its own side tasks.
    expect(read(dir).agents.defaults.models['openai/*']).toBeUndefined();
    expect(configure(dir, compat).status).toBe(0);
    expect(read(dir).agents.defaults.models['openai/*']).toBeUndefined();
  });

  it('should leave a config that does not parse untouched and fail with config_unreadable', () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'openclaw.json'), '{ "gateway": ');
    const r = configure(dir, compat);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stderr.trim()).code).toBe('config_unreadable');
    expect(readFileSync(join(dir, 'openclaw.json'), 'utf8')).toBe('{ "gateway": ');
  });
});

describe('container/start.sh with the real configure step', () => {
  it('should fail fast with config_unreadable, not retryable, before starting the gateway', () => {
    const dir = stateDir();
    const statusFile = join(dir, 'status.json');
    mkdirSync(join(dir, '.openclaw'), { recursive: true });
    writeFileSync(join(dir, '.openclaw', 'openclaw.json'), '{ "gateway": ');
    const r = spawnSync('sh', [join(ROOT, 'container', 'start.sh')], {
      env: { PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, BOOT_STATUS_FILE: statusFile, OPENCLAW_HOME: dir },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    const status = JSON.parse(readFileSync(statusFile, 'utf8'));
    expect(status).toMatchObject({ phase: 'failed', error: { code: 'config_unreadable' }, retryable: false });
    expect(status.error.message).toContain('left untouched');
    expect(r.stdout).not.toContain('phase=starting-gateway');
  });
});

describe('the real gateway with the references the configure step writes', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** Files under `dir` whose bytes hold any of `values`. */
  function holding(dir: string, values: string[]): string[] {
    return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .filter((file) => {
        const bytes = readFileSync(file);
        return values.some((v) => bytes.includes(v));
      });
  }

  it('should resolve ${GATEWAY_PROXY_HEADER} in the trusted-proxy check and ${BROWSER_CDP_URL} in the browser profile, while no file of the home holds either', async (context) => {
    const missing = chromiumMissing();
    if (missing) return context.skip(missing);
    // A browser standing in for the Browser Rendering passthrough: its DevTools URL carries an id, as the passthrough's carries the boot's secret.
    const profile = stateDir();
    const chromium = spawn(
      '/usr/bin/chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--remote-debugging-address=127.0.0.1',
        '--remote-debugging-port=0',
        `--user-data-dir=${profile}`,
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    children.push(chromium);
    let seen = '';
    chromium.stderr!.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    const cdpUrl = await until(async () => /DevTools listening on (ws:\/\/\S+)/.exec(seen)?.[1], 30_000, "Chromium's DevTools URL");
    const cdpSecret = cdpUrl.split('/').at(-1)!;

    const home = stateDir();
    const port = await freePort();
    const header = 'x-ondemand-3b7d1f09a2c64e85';
    const env = {
      PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
      HOME: home,
      OPENCLAW_HOME: home,
      BOOT_STATUS_FILE: join(home, 'boot', 'status.json'),
      ...compat,
      GATEWAY_PORT: String(port),
      OPENCLAW_GATEWAY_TOKEN: 'gateway-token-real-7c21',
      GATEWAY_PROXY_HEADER: header,
      BROWSER_CDP_URL: cdpUrl,
    };
    const gateway = spawn('sh', [join(ROOT, 'container', 'start.sh')], { env, stdio: 'ignore', detached: true });
    children.push(gateway);
    const base = `http://127.0.0.1:${port}`;
    await until(async () => ((await fetch(`${base}/readyz`).catch(() => null))?.status === 200 ? true : undefined), 90_000, 'the gateway ready', 250);

    // The header the local Worker sends is the one the gateway requires: the reference resolved.
    const proxied = {
      'x-openclaw-user': 'owner',
      'x-openclaw-proxy': 'openclaw-ondemand',
      'x-forwarded-for': '192.0.2.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'poc.example.com',
    };
    const without = await fetch(`${base}/v1/models`, { headers: proxied });
    expect(without.status).toBe(401);
    await without.body?.cancel();
    const withHeader = await fetch(`${base}/v1/models`, { headers: { ...proxied, [header]: '1' } });
    expect(withHeader.status).toBe(200);
    await withHeader.body?.cancel();

    // An owner's config write through the gateway keeps the references.
    const rpc = async (method: string, params: unknown) =>
      (
        await fetch(`${base}/api/v1/admin/rpc`, {
          method: 'POST',
          headers: { ...proxied, [header]: '1', 'content-type': 'application/json' },
          body: JSON.stringify({ method, params }),
        })
      ).json() as Promise<{ ok: boolean; payload: { hash: string } }>;
    const { payload } = await rpc('config.get', {});
    expect((await rpc('config.patch', { raw: JSON.stringify({ agents: { defaults: { heartbeat: { every: '45m' } } } }), baseHash: payload.hash })).ok).toBe(
      true,
    );
    await until(async () => (readFileSync(join(home, '.openclaw', 'openclaw.json'), 'utf8').includes('45m') ? true : undefined), 10_000, 'the patch written');

    // The agent's browser is the one at the resolved URL.
    const status = spawnSync('openclaw', ['browser', '--json', 'status'], {
      env: { ...env, OPENCLAW_GATEWAY_TOKEN: '', OPENCLAW_GATEWAY_PASSWORD: env.OPENCLAW_GATEWAY_TOKEN },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ profile: 'browser-rendering', cdpReady: true, cdpUrl });

    expect(holding(home, [cdpSecret, header, env.OPENCLAW_GATEWAY_TOKEN])).toEqual([]);
  });
});
