/**
 * The deploy configuration agrees with itself and with the code: wrangler.jsonc
 * (read by wrangler itself), the Dockerfile, package.json, the Env type and
 * the README's configuration table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTAINER_CONTRACT_VERSION } from '../../src/contract/boot-status.ts';
import { unstable_readConfig } from 'wrangler';
import { parseConfig } from '../../src/config.ts';
import { committedValue, SETTING_NAMES, settingsTable } from '../../src/settings.ts';
import { CONTAINER_ENV_NAMES } from '../../src/runtime/container-env.ts';
import { WORKER_SECRET_NAMES } from '../../src/env.ts';
import { ROOT } from '../../scripts/lib/local-stack.ts';

const production = unstable_readConfig({ config: join(ROOT, 'wrangler.jsonc') });
const local = unstable_readConfig({ config: join(ROOT, 'wrangler.jsonc'), env: 'local' });
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

describe('wrangler.jsonc', () => {
  it('should bind AGENT to the Sandbox class with one container in production, and the Discord relay', () => {
    expect(production.durable_objects.bindings).toEqual([
      { name: 'AGENT', class_name: 'Agent' },
      { name: 'DISCORD_RELAY', class_name: 'DiscordRelay' },
    ]);
    expect(production.containers).toHaveLength(1);
    expect(production.containers?.[0]).toMatchObject({ class_name: 'Agent', max_instances: 1 });
  });

  it('should price the instance type the container really runs on', () => {
    expect(production.vars.INSTANCE_TYPE).toBe(production.containers?.[0]?.instance_type);
    expect(parseConfig(production.vars as Record<string, string>).instanceType).toBe(production.containers?.[0]?.instance_type);
  });

  it('should bind AGENT to LocalAgent without a container in the local env, and the local Discord relay', () => {
    expect(local.durable_objects.bindings).toEqual([
      { name: 'AGENT', class_name: 'LocalAgent' },
      { name: 'DISCORD_RELAY', class_name: 'LocalDiscordRelay' },
    ]);
    expect(local.containers ?? []).toEqual([]);
  });

  it('should declare every Durable Object class as a SQLite class, each once, and an R2 bucket and a cron', () => {
    expect(production.migrations.flatMap((m: { new_sqlite_classes?: string[] }) => m.new_sqlite_classes ?? [])).toEqual([
      'Agent',
      'LocalAgent',
      'DiscordRelay',
      'LocalDiscordRelay',
    ]);
    expect(production.r2_buckets.map((b: { binding: string }) => b.binding)).toEqual(['BACKUP_BUCKET']);
    expect(local.r2_buckets.map((b: { binding: string }) => b.binding)).toEqual(['BACKUP_BUCKET']);
    expect(production.triggers.crons?.length).toBe(1);
  });

  it('should have vars that parse, in both envs, with the same names', () => {
    expect(() => parseConfig(production.vars as Record<string, string>)).not.toThrow();
    expect(() => parseConfig(local.vars as Record<string, string>)).not.toThrow();
    // The local env's own (LOCAL_HOST_URL, LOCAL_EGRESS_UPSTREAMS: the settings table marks them local-only) aside.
    const localOnly = SETTING_NAMES.filter((n) => committedValue(n, 'production') === undefined) as string[];
    expect(localOnly).toEqual(['LOCAL_HOST_URL', 'LOCAL_EGRESS_UPSTREAMS']);
    const names = (vars: object) =>
      Object.keys(vars)
        .filter((n) => !localOnly.includes(n))
        .sort();
    expect(names(local.vars)).toEqual(names(production.vars));
  });

  it('should keep the notification webhook URL a secret, never a var in the committed config', () => {
    expect(production.vars).not.toHaveProperty('NOTIFY_WEBHOOK_URL');
    expect(local.vars).not.toHaveProperty('NOTIFY_WEBHOOK_URL');
    expect(WORKER_SECRET_NAMES).toContain('NOTIFY_WEBHOOK_URL');
    expect(readme).toMatch(/\| `NOTIFY_WEBHOOK_URL` \| optional \|[^\n]*secret/);
  });

  it("should set every var to the settings table's value, and no var the table lacks", () => {
    const committed = (where: 'production' | 'local') =>
      Object.fromEntries(
        SETTING_NAMES.flatMap((n) => {
          const v = committedValue(n, where);
          return v === undefined ? [] : [[n, v]];
        }),
      );
    expect(production.vars).toEqual(committed('production'));
    expect(local.vars).toEqual(committed('local'));
  });

  it("should show the settings table as the README's configuration table, exactly (npm run settings:readme writes it)", () => {
    const block = /<!-- settings:begin[^>]*-->\n([\s\S]*?)\n<!-- settings:end -->/.exec(readme)?.[1];
    expect(block).toBe(settingsTable());
  });

  it('should document every var and every container secret in the README', () => {
    for (const name of [...Object.keys(production.vars), ...Object.keys(local.vars), ...CONTAINER_ENV_NAMES]) {
      expect(readme, `README documents ${name}`).toContain(`\`${name}\``);
    }
  });
});

describe("README's picture of the Agent", () => {
  it('should name every room of src/agent, and each effect and each file of the Durable Object room', () => {
    const picture = /## How it works\n\n```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const agent = join(ROOT, 'src', 'agent');
    const rooms = readdirSync(agent, { withFileTypes: true }).filter((d) => d.isDirectory());
    expect(rooms.map((d) => d.name).sort()).toEqual(['durable-object', 'effects', 'records']);
    for (const room of rooms) expect(picture).toContain(`src/agent/${room.name}/`);
    // The effects the machine names, and the Durable Object classes, each by its file.
    for (const room of ['effects', 'durable-object']) {
      for (const file of readdirSync(join(agent, room))) expect(picture, `${room}/${file}`).toContain(file);
    }
  });
});

describe('Dockerfile', () => {
  it('should build FROM the sandbox image of the @cloudflare/sandbox version in package.json', () => {
    const from = /^FROM\s+(?:--platform=(\S+)\s+)?docker\.io\/cloudflare\/sandbox:(\S+)/m.exec(dockerfile);
    expect(from?.[1]).toBe('linux/amd64');
    expect(from?.[2]).toBe(pkg.dependencies['@cloudflare/sandbox']);
  });

  it('should pin the OpenClaw version the local mode runs, and ship the start and configure scripts', () => {
    const pinned = /ARG OPENCLAW_VERSION=(\S+)/.exec(dockerfile)?.[1];
    expect(pinned).toMatch(/^\d{4}\.\d+\.\d+$/);
    expect(pinned).toBe(pkg.dependencies.openclaw);
    // OpenClaw's Discord channel plugin: openclaw's version, beside it, in the image and in the local mode (scripts/node24.sh).
    expect(dockerfile).toContain('"openclaw@${OPENCLAW_VERSION}" "@openclaw/discord@${OPENCLAW_VERSION}"');
    expect(readFileSync(join(ROOT, 'scripts', 'node24.sh'), 'utf8')).toContain('npm pack --silent --loglevel=error "@openclaw/discord@$want"');
    expect(readFileSync(join(ROOT, 'node_modules', '@openclaw', 'discord', 'package.json'), 'utf8')).toContain(`"version": "${pinned}"`);
    expect(dockerfile).toContain('COPY container/start.sh container/configure-openclaw.mjs container/snapshot-state.ts /container/');
    expect(dockerfile).toContain('COPY container/host/state-archive.ts /container/host/state-archive.ts');
  });

  it('should install its own Node, the version the local mode pins, whatever the base image carries', () => {
    const nodePin = /NODE_PIN=(\S+)/.exec(readFileSync(join(ROOT, 'scripts', 'node24.sh'), 'utf8'))?.[1];
    expect(/ARG NODE_VERSION=(\S+)/.exec(dockerfile)?.[1]).toBe(nodePin);
    expect(dockerfile).toMatch(/RUN sh \/container\/install-node\.sh "\$NODE_VERSION"\n(#.*\n)*ENV PATH=\/opt\/node\/bin:\$PATH/);
  });

  it("should have the start script speak the contract version the Agent expects, and run the init that holds the platform's SIGTERM", () => {
    expect(Number(/^CONTRACT_VERSION=(\d+)$/m.exec(readFileSync(join(ROOT, 'container', 'start.sh'), 'utf8'))?.[1])).toBe(CONTAINER_CONTRACT_VERSION);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "\/container\/init\.sh", "\/container-server\/sandbox"\]$/m);
  });

  it('should keep OpenClaw state under /home, which the Sandbox backup API can archive', () => {
    expect(dockerfile).toMatch(/OPENCLAW_HOME=\/home\//);
  });
});
