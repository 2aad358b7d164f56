import { describe, expect, it } from 'vitest';
import { logLine, redact } from '../../src/log.ts';
import { containerEnv, gatewayAdmins } from '../../src/runtime/container-env.ts';

describe('redact', () => {
  it('should remove secret-looking query values and known secrets from log lines', () => {
    const line = logLine('worker:error', { url: '/?token=abc123secret&x=1&api_key=k-999&Signature=zz', note: 'gateway token gw-secret-value-1 leaked' }, [
      'gw-secret-value-1',
    ]);
    expect(line).not.toContain('abc123secret');
    expect(line).not.toContain('k-999');
    expect(line).not.toContain('zz&');
    expect(line).not.toContain('gw-secret-value-1');
    expect(line).toContain('x=1');
    expect(redact('plain text')).toBe('plain text');
  });
});

describe('containerEnv', () => {
  it('should hand the container model keys, the gateway token and the GitHub token only, never Cloudflare or storage credentials', () => {
    const env = containerEnv(
      {
        ANTHROPIC_API_KEY: 'sk-ant',
        OPENCLAW_GATEWAY_TOKEN: 'gw',
        GITHUB_TOKEN: 'gh',
        CF_API_TOKEN: 'cf-secret',
        CF_ACCOUNT_ID: 'acc',
        ACCESS_AUD: 'aud',
        BACKUP_BUCKET: {} as R2Bucket,
        ...({ R2_ACCESS_KEY_ID: 'r2', R2_SECRET_ACCESS_KEY: 'r2s', CLOUDFLARE_API_TOKEN: 'cft' } as object),
      },
      18789,
    );
    expect(Object.keys(env).sort()).toEqual(['ANTHROPIC_API_KEY', 'GATEWAY_PORT', 'GITHUB_TOKEN', 'OPENCLAW_GATEWAY_TOKEN']);
  });

  it("should name the owner as the gateway's administrators: Access's allowed people, or the local mode's user; never a service token", () => {
    expect(gatewayAdmins({ ACCESS_ALLOWED_EMAILS: 'Me@Example.com, you@example.com' })).toEqual(['me@example.com', 'you@example.com']);
    expect(gatewayAdmins({})).toEqual([]);
    expect(gatewayAdmins({ AUTH_MODE: 'local' })).toEqual(['owner']);
    expect(gatewayAdmins({ AUTH_MODE: 'local', GATEWAY_USER: 'service-token:abc' })).toEqual([]);
    expect(containerEnv({ AUTH_MODE: 'local', GATEWAY_USER: 'ada' }, 18789).GATEWAY_ADMINS).toBe('ada');
    expect(containerEnv({ ACCESS_ALLOWED_EMAILS: 'a@example.com,b@example.com' }, 18789).GATEWAY_ADMINS).toBe('a@example.com,b@example.com');
  });
});
