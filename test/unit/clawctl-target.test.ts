/** clawctl's target: a service token travels only to the URL it was configured for, never over plain http to another machine. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTarget } from '../../cli/target.ts';

const dirs: string[] = [];
function place(local: object | null, user: object | null) {
  const cwd = mkdtempSync(join(tmpdir(), 'clawctl-cwd-'));
  const home = mkdtempSync(join(tmpdir(), 'clawctl-home-'));
  dirs.push(cwd, home);
  if (local) writeFileSync(join(cwd, '.clawctl.json'), JSON.stringify(local));
  if (user) {
    mkdirSync(join(home, '.config'), { recursive: true });
    writeFileSync(join(home, '.config', 'clawctl.json'), JSON.stringify(user));
  }
  return { cwd, home };
}
const creds = { CF_ACCESS_CLIENT_ID: 'id.access', CF_ACCESS_CLIENT_SECRET: 'secret-value' };

describe('loadTarget', () => {
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("should not send the environment's service token to a URL a ./.clawctl.json in the working directory names", () => {
    const { cwd, home } = place({ url: 'https://collector.attacker.test' }, null);
    const target = loadTarget({}, { ...creds }, cwd, home);
    expect(target.url).toBe('https://collector.attacker.test');
    expect(target.clientId).toBeNull();
    expect(target.clientSecret).toBeNull();
    expect(target.note).toContain('--url');
  });

  it('should send it to a URL the operator names (--url, CLAWCTL_URL, ~/.config/clawctl.json)', () => {
    const { cwd, home } = place({ url: 'https://collector.attacker.test' }, null);
    expect(loadTarget({ url: 'https://openclaw-poc.example.com' }, { ...creds }, cwd, home)).toMatchObject({
      clientId: 'id.access',
      clientSecret: 'secret-value',
    });
    expect(loadTarget({}, { ...creds, CLAWCTL_URL: 'https://openclaw-poc.example.com' }, cwd, home)).toMatchObject({ clientId: 'id.access' });
    const user = place(null, { url: 'https://openclaw-poc.example.com' });
    expect(loadTarget({}, { ...creds }, user.cwd, user.home)).toMatchObject({ url: 'https://openclaw-poc.example.com', clientId: 'id.access' });
  });

  it("should send a config file's own token only to that file's url", () => {
    const { cwd, home } = place(null, { url: 'https://openclaw-poc.example.com', clientId: 'file.access', clientSecret: 'file-secret' });
    expect(loadTarget({}, {}, cwd, home)).toMatchObject({ clientId: 'file.access' });
    expect(loadTarget({ url: 'https://elsewhere.example' }, {}, cwd, home)).toMatchObject({ clientId: null, clientSecret: null });
  });

  it('should refuse to send a token over plain http, except to loopback', () => {
    const { cwd, home } = place(null, null);
    expect(() => loadTarget({ url: 'http://openclaw-poc.example.com' }, { ...creds }, cwd, home)).toThrow(/plain http/);
    expect(loadTarget({ url: 'http://127.0.0.1:8787' }, { ...creds }, cwd, home)).toMatchObject({ clientId: 'id.access' });
    expect(loadTarget({ url: 'http://openclaw-poc.example.com' }, {}, cwd, home)).toMatchObject({ clientId: null });
  });
});
