/** container/configure-openclaw.mjs run for real: first run, restored config, bad config. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../support/node-local-stack.ts';

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

  it('should write first-run defaults and the managed settings when no config exists', () => {
    const dir = stateDir();
    const r = configure(dir, { ...compat, OPENCLAW_GATEWAY_TOKEN: 'secret-value-1' });
    expect(r.status).toBe(0);
    const config = read(dir);
    expect(config.update.checkOnStart).toBe(false);
    expect(config.models.catalogRefresh.enabled).toBe(false);
    expect(config.agents.defaults.heartbeat.every).toBe('0m');
    expect(config.agents.defaults.model.primary).toBe('compat/mock-model');
    expect(config.gateway).toMatchObject({ mode: 'local', port: 18789, bind: 'loopback', auth: { mode: 'trusted-proxy', password: '${OPENCLAW_GATEWAY_PASSWORD}' } });
    expect(readFileSync(join(dir, 'openclaw.json'), 'utf8')).not.toContain('secret-value-1');
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

  it('should give the agent Browser Rendering, the machine\'s Chromium, or no browser, and say which in browser.json', () => {
    const dir = stateDir();
    const statusDir = stateDir();
    const run = (env: Record<string, string>) => {
      const r = configure(dir, { ...compat, BOOT_STATUS_FILE: join(statusDir, 'status.json'), ...env });
      expect(r.status, r.stderr).toBe(0);
      return { config: read(dir), said: JSON.parse(readFileSync(join(statusDir, 'browser.json'), 'utf8')) as { mode: string; detail: string } };
    };
    const owner = read((configure(dir, compat), dir));
    owner.browser = { ...owner.browser, profiles: { mine: { cdpUrl: 'http://127.0.0.1:9222' } }, color: '#123456' };
    writeFileSync(join(dir, 'openclaw.json'), JSON.stringify(owner));

    const cdp = 'ws://browser.ondemand.internal/__ondemand-cdp/boot-secret-1';
    const rendering = run({ BROWSER_CDP_URL: cdp, BROWSER_ALLOWED_HOSTNAMES: 'intranet.example, 10.0.0.7' });
    expect(rendering.said.mode).toBe('browser-rendering');
    expect(rendering.config.browser).toMatchObject({ enabled: true, defaultProfile: 'browser-rendering', profiles: { 'browser-rendering': { cdpUrl: cdp }, mine: { cdpUrl: 'http://127.0.0.1:9222' } }, color: '#123456' });
    expect(rendering.config.browser.ssrfPolicy.allowedHostnames).toEqual(['intranet.example', '10.0.0.7', 'browser.ondemand.internal']);

    // The next boot runs where there is a local Chromium: the rendering profile goes, the owner's stays.
    const local = run({ BROWSER_EXECUTABLE: process.execPath });
    expect(local.said).toEqual({ mode: 'local-chromium', detail: `${process.execPath}, headless, launched by the gateway` });
    expect(local.config.browser).toMatchObject({ enabled: true, executablePath: process.execPath, headless: true, profiles: { mine: { cdpUrl: 'http://127.0.0.1:9222' } } });
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

  it('should fail with missing_model_key and write nothing when no provider is configured', () => {
    const dir = stateDir();
    const r = configure(dir, {});
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stderr.trim())).toMatchObject({ code: 'missing_model_key', retryable: false });
    expect(() => readFileSync(join(dir, 'openclaw.json'))).toThrow();
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
  it('should fail fast with missing_model_key, not retryable, before starting the gateway', () => {
    const dir = stateDir();
    const statusFile = join(dir, 'status.json');
    const r = spawnSync('sh', [join(ROOT, 'container', 'start.sh')], {
      env: { PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, BOOT_STATUS_FILE: statusFile, OPENCLAW_HOME: dir },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    const status = JSON.parse(readFileSync(statusFile, 'utf8'));
    expect(status).toMatchObject({ phase: 'failed', error: { code: 'missing_model_key' }, retryable: false });
    expect(status.error.message).toContain('ANTHROPIC_API_KEY');
    expect(r.stdout).not.toContain('phase=starting-gateway');
  });
});
