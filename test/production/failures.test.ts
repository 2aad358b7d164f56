/**
 * Failures on the production path: a container killed from outside, backups
 * that keep failing before an idle sleep (the container is kept, the
 * operator told) and before a hard budget hibernation (the bill stops
 * anyway, within a bounded time).
 */
import { describe, expect, inject, it } from 'vitest';
import { until } from '../../scripts/lib/local-stack.ts';
import { appContainer, command, docker, ensureAwake, inContainer, settled, status, twinUrl, wake, waitFor } from './twin-client.ts';
import { TWIN_VARS } from './twin-vars.ts';
import { parseDuration } from '../../src/config.ts';

const SNAPSHOT_TOOL = '/container/snapshot-state.ts';
/** Makes every backup inside the running container fail (as a full or broken disk would). */
const breakBackups = () =>
  inContainer(
    `mv ${SNAPSHOT_TOOL} ${SNAPSHOT_TOOL}.off && mkdir -p /home/openclaw/.openclaw/workspace && date > /home/openclaw/.openclaw/workspace/unsaved.txt`,
  );
const repairBackups = () => inContainer(`mv ${SNAPSHOT_TOOL}.off ${SNAPSHOT_TOOL}`);

async function webhookPosts(): Promise<Array<Record<string, unknown>>> {
  return (await (await fetch(inject('webhookUrl'))).json()) as Array<Record<string, unknown>>;
}

function runningAgentContainers(): string[] {
  return docker('ps', '--format', '{{.Names}}')
    .split('\n')
    .filter((n) => /-Agent-[0-9a-f]+$/.test(n));
}

describe.skipIf(inject('twinSkipped') !== '')('production twin: failures', () => {
  it('should notice a container killed from outside within seconds, with its exit code', async () => {
    await ensureAwake();
    const killedAt = Date.now();
    docker('kill', appContainer());
    const stopped = await waitFor((x) => x.state === 'stopped', 'stopped after the kill', 30_000);
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    expect(stopped.lastError).toMatchObject({ code: 'container_exited' });
    expect(stopped.lastError?.message).toMatch(/exit 137/);
  });

  it('should keep the container, show it and post the webhook once while the backup before an idle sleep keeps failing, then sleep once it works', async () => {
    await wake();
    const postedBefore = (await webhookPosts()).filter((p) => p.event === 'openclaw-ondemand:stop-blocked').length;
    breakBackups();
    const blocked = await waitFor((s) => s.lastError?.code === 'stop_failed', 'the idle sleep to fail its backup', 150_000);
    expect(blocked.stopping).toMatchObject({ target: 'sleeping' });
    expect(blocked.backups.history.at(-1)).toMatchObject({ kind: 'backup', result: 'failed' });
    expect(runningAgentContainers()).toHaveLength(1);
    // The stop is retried (every 10 s) with the container kept; the operator hears of it once.
    await until(async () => ((await status()).backups.history.filter((e) => e.result === 'failed').length >= 2 ? true : undefined), 60_000, 'a retried backup');
    const posts = (await webhookPosts()).filter((p) => p.event === 'openclaw-ondemand:stop-blocked').slice(postedBefore);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({ target: 'sleeping', agent: 'default' });
    expect(String(posts[0]?.error)).toContain('backup failed');
    expect(runningAgentContainers()).toHaveLength(1);

    repairBackups();
    const asleep = await waitFor(settled('sleeping'), 'sleep once the backup works', 60_000);
    expect(asleep.lastError).toBeNull();
    expect(asleep.backups.lastBackup).toMatchObject({ result: 'ok' });
    expect(runningAgentContainers()).toHaveLength(0);
  });

  it('should stop the container within the documented time when the hard budget line hibernates while every backup fails, naming the last good backup', async () => {
    await wake();
    const lastGood = (await status()).backups.lastGood;
    expect(lastGood).not.toBeNull();
    breakBackups();
    const started = Date.now();
    // The cron's run (the projection is far over the hard line at the twin's prices).
    const cron = await fetch(`${twinUrl()}/__scheduled?cron=${encodeURIComponent('*/15 * * * *')}`);
    await cron.body?.cancel();
    const s = await waitFor(settled('hibernated'), 'the budget hibernation', 120_000);
    const bound = parseDuration('', TWIN_VARS.FINAL_BACKUP_TIMEOUT, 0) + parseDuration('', TWIN_VARS.GATEWAY_DRAIN_TIMEOUT, 0) + 30_000;
    expect(Date.now() - started).toBeLessThan(bound);
    expect(runningAgentContainers()).toHaveLength(0);
    expect(s.hibernation).toMatchObject({ by: 'budget' });
    expect(s.lastError).toMatchObject({ code: 'final_backup_failed' });
    expect(s.lastError?.message).toContain(lastGood!.id);
    expect(s.lastStop).toMatchObject({ target: 'hibernated', warning: { code: 'final_backup_failed' } });

    // Leave the assistant usable for whoever comes next: resume despite the budget.
    const resumed = await command('resume', { override: true });
    expect(resumed.status).toBe(200);
  });
});
