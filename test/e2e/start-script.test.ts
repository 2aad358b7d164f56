/** The container start script, run for real: phases, failures, the gateway it execs. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONTAINER_CONTRACT_VERSION, parseBootStatus } from '../../src/contract/boot-status.ts';
import { BOOT_ERROR_CODES } from '../../src/contract/error-codes.ts';
import { ROOT } from '../../scripts/lib/local-stack.ts';

const dirs: string[] = [];
function run(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'start-script-'));
  dirs.push(dir);
  const statusFile = join(dir, 'boot', 'status.json');
  const result = spawnSync('sh', [join(ROOT, 'container', 'start.sh')], {
    env: { PATH: '/usr/bin:/bin', BOOT_STATUS_FILE: statusFile, OPENCLAW_STATE_DIR: join(dir, 'state'), ...env },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { ...result, status: parseBootStatus(readFileSync(statusFile, 'utf8')), raw: readFileSync(statusFile, 'utf8') };
}

describe('container/start.sh', () => {
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('should write only the failure codes of the contract (src/contract/error-codes.ts), and the contract should name no code the scripts never write', () => {
    const script = readFileSync(join(ROOT, 'container', 'start.sh'), 'utf8');
    const configure = readFileSync(join(ROOT, 'container', 'configure-openclaw.mjs'), 'utf8');
    const written = new Set([
      ...[...script.matchAll(/^[^#\n]*\bfail (?:"\$\{code:-)?([a-z_]+)/gm)].map((m) => m[1]),
      ...[...configure.matchAll(/fail\((?:[^,]*\? )?'([a-z_]+)'|code: '([a-z_]+)'/g)].map((m) => m[1] ?? m[2]),
    ]);
    expect([...written].sort()).toEqual([...BOOT_ERROR_CODES].sort());
  });

  it('should report a failure with its code and message, and exit non-zero', () => {
    const r = run({ BOOT_FAIL_AT: 'configuring' });
    expect(r.status).toEqual({
      phase: 'failed',
      at: expect.any(String),
      contract: CONTAINER_CONTRACT_VERSION,
      error: { code: 'injected_failure', message: 'failure injected at phase configuring' },
      retryable: false,
    });
    expect(r.stdout).toContain('[boot] phase=restoring');
    expect(r.stdout).not.toContain('phase=starting-gateway');
  });

  it('should fail visibly when the openclaw CLI is missing', () => {
    const r = run({});
    expect(r.status.phase).toBe('failed');
    expect(r.status.error?.code).toBe('openclaw_missing');
    expect(r.stderr).toContain('openclaw_missing');
  });

  it('should exec the gateway command after writing starting-gateway', () => {
    const r = run({ GATEWAY_COMMAND: `sh -c 'echo "gateway pid $$ port $GATEWAY_PORT"'`, GATEWAY_PORT: '4321' });
    expect(r.status.phase).toBe('starting-gateway');
    expect(r.stdout).toContain('port 4321');
  });

  it('should write valid JSON for a message with quotes and backslashes', () => {
    const r = run({ OPENCLAW_STATE_DIR: '/proc/no"such\\dir' });
    expect(() => JSON.parse(r.raw)).not.toThrow();
    expect(r.status.error).toEqual({ code: 'state_dir_unwritable', message: 'cannot create /proc/no"such\\dir' });
  });
});
