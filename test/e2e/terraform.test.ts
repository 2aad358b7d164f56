/**
 * terraform/ checked offline: the Cloudflare provider v5 schema (resource
 * types, arguments, required arguments, nested structure, enums), isolation
 * (names carry the prefix/suffix, only the PoC hostname), `terraform fmt`,
 * and agreement with wrangler.jsonc.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unstable_readConfig } from 'wrangler';
import { checkTerraform, SCHEMA_PATH, type ProviderSchema } from '../../cli/terraform-check.ts';
import { ROOT } from '../../scripts/lib/local-stack.ts';

const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as ProviderSchema;

describe('terraform/', () => {
  it('should use only v5 resources and arguments, with every required argument, and keep everything inside the PoC', async () => {
    const findings = await checkTerraform(join(ROOT, 'terraform'), schema);
    expect(findings.errors).toEqual([]);
    expect(findings.isolation).toEqual([]);
    expect(findings.resources.map((r) => r.type).sort()).toEqual([
      'cloudflare_account_token',
      'cloudflare_ai_gateway',
      'cloudflare_r2_bucket',
      'cloudflare_r2_bucket_lifecycle',
      'cloudflare_workers_custom_domain',
      'cloudflare_zero_trust_access_application',
      // Telegram's webhook path, past Access (enable_telegram_webhook).
      'cloudflare_zero_trust_access_application',
      'cloudflare_zero_trust_access_policy',
      'cloudflare_zero_trust_access_policy',
      'cloudflare_zero_trust_access_policy',
      'cloudflare_zero_trust_access_service_token',
    ]);
  });

  it('should output what the Worker needs, the service token secret as sensitive', async () => {
    const { outputs, locals } = await checkTerraform(join(ROOT, 'terraform'), schema);
    for (const name of [
      'access_aud',
      'team_domain',
      'service_token_client_id',
      'service_token_client_secret',
      'hostname',
      'backup_bucket_name',
      'r2_access_key_id',
      'r2_secret_access_key',
    ])
      expect(outputs, name).toHaveProperty(name);
    expect(outputs.service_token_client_secret?.sensitive).toBe(true);
    expect(outputs.r2_secret_access_key?.sensitive).toBe(true);
    expect(locals.name).toBe('${var.name_prefix}${var.name_suffix}');
  });

  it("should keep the Access session cookie from scripts and from other sites' requests", () => {
    const access = readFileSync(join(ROOT, 'terraform', 'access.tf'), 'utf8');
    const app = /resource "cloudflare_zero_trust_access_application" "poc" \{[\s\S]*?\n\}/.exec(access)?.[0] ?? '';
    expect(app).toMatch(/same_site_cookie_attribute\s*=\s*"lax"/);
    expect(app).toMatch(/http_only_cookie_attribute\s*=\s*true/);
  });

  it('should name the backup bucket as wrangler.jsonc binds it (with the default prefix and suffix)', () => {
    const production = unstable_readConfig({ config: join(ROOT, 'wrangler.jsonc') });
    const vars = readFileSync(join(ROOT, 'terraform', 'variables.tf'), 'utf8');
    const prefix = /variable "name_prefix"[\s\S]*?default\s*=\s*"([^"]+)"/.exec(vars)?.[1];
    const suffix = /variable "name_suffix"[\s\S]*?default\s*=\s*"([^"]+)"/.exec(vars)?.[1];
    expect(production.r2_buckets[0]?.bucket_name).toBe(`${prefix}${suffix}-backups`);
    expect(production.name).toBe(/variable "worker_name"[\s\S]*?default\s*=\s*"([^"]+)"/.exec(vars)?.[1]);
  });

  it('should catch v4 names, v4 block syntax, unknown arguments, bad enums, missing arguments and names outside the PoC', async () => {
    const { errors, isolation } = await checkTerraform(join(ROOT, 'test', 'fixtures', 'terraform-v4'), schema);
    const all = errors.join('\n');
    expect(all).toContain('no resource type "cloudflare_access_application" in provider v5.22.0 (a v4 name)');
    expect(all).toContain('cloudflare_zero_trust_access_policy.v4_block_syntax.include[0].email: v5 expects an attribute `= { ... }`, not a block (v4 syntax)');
    expect(all).toContain('cloudflare_zero_trust_access_policy.github_include.include[0].github: no such argument in provider v5');
    expect(all).toContain('cloudflare_r2_bucket.typo.locaton: no such argument in provider v5');
    expect(all).toContain('cloudflare_r2_bucket.bad_enum.location: "mars" is not one of');
    expect(all).toContain('cloudflare_workers_custom_domain.elsewhere: missing required argument "service"');
    expect(isolation.join('\n')).toContain('cloudflare_r2_bucket.typo.name = "openclaw-backups": a created name must carry local.name');
    expect(isolation.join('\n')).toContain('cloudflare_workers_custom_domain.elsewhere.hostname: targets "openclaw.example.com"');
    // A path under the PoC's hostname is the PoC's (the Telegram webhook's application); a path on another host is not.
    expect(isolation.join('\n')).toContain(
      'cloudflare_zero_trust_access_application.path_elsewhere.destinations: uri "openclaw.example.com/_ondemand/inbox/telegram" is not the PoC hostname',
    );
  });

  it('should be formatted (terraform fmt -check), where the terraform CLI exists', (context) => {
    const terraform = ['/usr/local/bin/terraform', '/usr/bin/terraform'].find((p) => existsSync(p));
    if (!terraform) return context.skip();
    const r = spawnSync(terraform, ['fmt', '-check', '-recursive', join(ROOT, 'terraform')], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('');
    expect(r.status).toBe(0);
  });
});
