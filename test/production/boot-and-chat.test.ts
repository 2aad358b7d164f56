/**
 * The production path, booted for real: the `Agent` class (a Sandbox) in a
 * container built from the project's Dockerfile, at the configured instance
 * type's CPU and memory. Wake → ready with the boot phases in the status,
 * a chat answer and a tool answer through the Worker, and the Control UI's
 * WebSocket in Chromium.
 */
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { INSTANCE_SIZES } from '../../src/cost/instance-types.ts';
import type { InstanceType } from '../../src/config.ts';
import { chromiumMissing, visitControlUi } from '../support/control-ui.ts';
import { ROOT } from '../../scripts/lib/local-stack.ts';
import { appContainer, chat, command, docker, inContainer, settled, sleep, status, twinUrl, waitFor } from './twin-client.ts';

describe.skipIf(inject('twinSkipped') !== '')('production twin: boot and chat', () => {
  it('should wake a stopped or sleeping assistant to ready, showing the boot phases in GET /api/status', async () => {
    const before = await status();
    expect(before.runtime).toBe('sandbox');
    if (before.state === 'hibernated') expect((await command('resume', { override: true })).status).toBe(200);
    if (before.state === 'ready' || before.state === 'idle') await sleep();
    const woken = await command('wake');
    expect(woken.status).toBe(202);
    const phases = new Set<string>();
    const ready = await waitFor((s) => {
      if (s.phase) phases.add(s.phase);
      return settled('ready')(s);
    }, 'ready');
    expect(ready.lastError).toBeNull();
    expect([...phases]).toEqual(expect.arrayContaining(['restoring', 'starting-gateway']));
    expect(ready.history.at(-1)).toMatchObject({ from: 'booting', to: 'ready', event: 'boot.succeeded' });
    // Where the time went: the container's start, the restore, and the start script's own timestamped phases.
    const boot = ready.lastBoot!;
    expect(boot.parts.map((p) => p.phase)).toEqual(['launching', 'restoring', 'starting', 'configuring', 'starting-gateway']);
    expect(boot.totalMs).toBeGreaterThan(0);
    expect(Math.abs(boot.parts.reduce((sum, p) => sum + (p.ms ?? 0), 0) - boot.totalMs!)).toBeLessThan(5);
    expect(boot.parts.find((p) => p.phase === 'starting-gateway')!.ms).toBeGreaterThan(boot.totalMs! / 2); // the gateway's own boot dominates
  });

  it("should not start the Sandbox control server's code-interpreter pools (they would compete with the gateway for CPU)", () => {
    expect(inContainer('ps -eo args | grep -c "[n]ode_executor" || true').trim()).toBe('0');
  });

  it('should run the container with the CPU and memory of the configured instance type', () => {
    const size = INSTANCE_SIZES[inject('twinInstanceType') as InstanceType];
    const [nanoCpus, memory] = docker('inspect', '-f', '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}', appContainer()).trim().split(' ').map(Number);
    expect(nanoCpus).toBe(size.vcpu * 1e9);
    expect(memory).toBe(size.memoryMiB * 1024 * 1024);
  });

  it("should give the gateway the model settings (in openclaw.json's compat provider, not its environment), placeholders for its keys and none of the Worker's credentials", () => {
    const environ = inContainer('tr "\\0" "\\n" < /proc/$(cat /tmp/openclaw-boot/gateway.pid)/environ');
    // OpenClaw would read OPENAI_BASE_URL as its own openai endpoint: the start script hands both to the configure step only.
    expect(environ).not.toMatch(/^OPENAI_(BASE_URL|MODEL)=/m);
    const compat = (
      JSON.parse(inContainer('cat /home/openclaw/.openclaw/openclaw.json')) as {
        models: { providers: { compat: { baseUrl: string; models: Array<{ id: string }> } } };
      }
    ).models.providers.compat;
    expect(compat.models[0]?.id).toBe('mock-model');
    expect(compat.baseUrl).toMatch(/^https:\/\/gateway\.ai\.cloudflare\.com\/v1\/[0-9a-f]{32}\/twin\/compat$/);
    // The model key and the GitHub token are placeholders: the Worker adds the real ones at egress.
    // The endpoint's key under its own name: as OPENAI_API_KEY OpenClaw's openai provider would take it for OpenAI's.
    expect(environ).toMatch(/^OPENAI_COMPAT_API_KEY=sk-proj-ondemand-placeholder-openai-api-key$/m);
    expect(environ).not.toMatch(/^OPENAI_API_KEY=/m);
    expect(environ).toMatch(/^GITHUB_TOKEN=ghp_ondemand-placeholder-github-token$/m);
    expect(environ).not.toMatch(/^(R2_|AWS_|CF_API|CLOUDFLARE_API|CLOUDFLARE_ACCOUNT)/m);
    expect(environ).not.toContain('must-stay-in-the-worker');
  });

  it('should answer a chat message and run the exec tool through the Worker', async () => {
    expect(await chat('hello from the twin, marker-51d2')).toBe('mock answer: hello from the twin, marker-51d2');
    const tool = await chat('Please compute [[exec: echo $((847293+651824))]]');
    expect(tool).toBe('Tool output: 1499117');
  });

  it('should connect the Control UI over its WebSocket in Chromium', async (context) => {
    const missing = chromiumMissing();
    if (missing) context.skip(missing);
    const visit = await visitControlUi(`${twinUrl()}/`, {
      user: 'owner',
      screenshot: join(ROOT, 'test-results', 'production-control-ui.png'),
      timeoutMs: 90_000,
    });
    expect(visit.title).toContain('OpenClaw');
    expect(visit.urls.some((u) => u.startsWith('ws://'))).toBe(true);
    expect((await status()).state).not.toBe('stopped');
  });
});
