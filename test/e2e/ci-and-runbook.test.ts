/**
 * The workflows validate (action-validator), deploy in the right order, and
 * the runbook's commands name the secrets and vars the code really reads.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unstable_readConfig } from 'wrangler';
import { CONTAINER_ENV_NAMES } from '../../src/runtime/container-env.ts';
import { WORKER_SECRET_NAMES } from '../../src/env.ts';
import { ROOT } from '../../scripts/lib/local-stack.ts';

const workflows = join(ROOT, '.github', 'workflows');
const read = (name: string) => readFileSync(join(workflows, name), 'utf8');
const runbook = readFileSync(join(ROOT, 'docs', 'runbook.md'), 'utf8');
const envType = readFileSync(join(ROOT, 'src', 'env.ts'), 'utf8');

describe('.github/workflows', () => {
  it.each(readdirSync(workflows).filter((f) => f.endsWith('.yml')))('should validate %s against the workflow schema', (file) => {
    const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'action-validator'), [join(workflows, file)], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('should catch an invalid workflow (the validator is not a no-op)', () => {
    const bad = join(ROOT, 'test', 'fixtures', 'bad-workflow.yml');
    const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'action-validator'), [bad], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
  });

  it('should test, bundle and plan on pull requests, and deploy nothing from them', () => {
    const ci = read('ci.yml');
    expect(ci).toMatch(/on:\s*\n\s*pull_request:/);
    expect(ci).toContain('run: npm test');
    expect(ci).toContain('wrangler deploy --dry-run');
    expect(ci).toContain('terraform plan');
    expect(ci).not.toContain('terraform apply');
    expect(ci).not.toMatch(/wrangler deploy(?! --dry-run)/);
  });

  it('should apply Terraform before deploying the Worker on main', () => {
    const deploy = read('deploy.yml');
    expect(deploy).toMatch(/branches: \[main\]/);
    expect(deploy).toMatch(/terraform:\s*\n\s*needs: \[test, twin\]/);
    expect(deploy).toContain('run: npm run test:production');
    expect(deploy).toMatch(/deploy:\s*\n\s*needs: terraform/);
    expect(deploy).toContain('terraform apply');
    expect(deploy).toContain('npx wrangler deploy');
    // The vars the deploy sets exist in wrangler.jsonc.
    const vars = Object.keys(unstable_readConfig({ config: join(ROOT, 'wrangler.jsonc') }).vars);
    for (const [, name] of deploy.matchAll(/--var ([A-Z_]+):/g)) expect(vars).toContain(name);
  });
});

describe('docs/runbook.md', () => {
  it('should put exactly the secrets the code reads, each declared in the Env type', () => {
    const put = [...runbook.matchAll(/wrangler secret put ([A-Z0-9_]+)/g)].map((m) => m[1]!);
    expect(put.length).toBeGreaterThan(5);
    const known = new Set<string>([...CONTAINER_ENV_NAMES, ...WORKER_SECRET_NAMES]);
    for (const name of put) {
      expect(known.has(name), `${name} is read by the code`).toBe(true);
      expect(envType).toContain(`${name}?:`);
    }
    for (const name of ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GITHUB_TOKEN', 'OPENCLAW_GATEWAY_TOKEN', ...WORKER_SECRET_NAMES]) expect(put).toContain(name);
  });

  it('should name only vars that wrangler.jsonc defines when it tells how to change them', () => {
    const section = runbook.split('## Changing thresholds and timings')[1]?.split('\n## ')[0] ?? '';
    const named = [...section.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!);
    const vars = Object.keys(unstable_readConfig({ config: join(ROOT, 'wrangler.jsonc') }).vars);
    expect(named.length).toBeGreaterThan(8);
    for (const name of named) expect(vars, name).toContain(name);
  });

  it('should tell that wrangler delete leaves the container application billing', () => {
    expect(runbook).toContain('wrangler containers delete');
    expect(runbook).toContain('terraform destroy');
  });
});
