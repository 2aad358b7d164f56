/**
 * A deploy's rollout on the production path: the platform sends the running
 * container SIGTERM on its own (`rollout_active_grace_period` after the new
 * version is out). The container's init holds it; the Agent sees it at its
 * next health check, lets the requests in flight finish, drains the gateway,
 * takes the final backup and stops — nothing written before is lost.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { until } from '../../scripts/lib/local-stack.ts';
import { appContainer, chat, docker, ensureAwake, settled, status, wake, waitFor } from './twin-client.ts';

/** Whether the mock model has been asked a turn mentioning `word` (the turn reached the gateway). */
const modelSaw = (word: string) => readFileSync(inject('modelLog'), 'utf8').includes(word);

describe.skipIf(inject('twinSkipped') !== '')("production twin: a rollout's SIGTERM", () => {
  it('should drain and back up before the container goes, with a chat turn and a fresh file in flight: both are there after the next wake', async () => {
    await ensureAwake();
    const container = appContainer();
    // A file just written (not backed up yet: BACKUP_DEBOUNCE is 10 s here) and a turn that takes a few seconds.
    expect(await chat('[[exec: echo fresh-r0 > "$OPENCLAW_STATE_DIR/workspace/rollout-fresh.txt" && echo ok]]', 'twin-rollout')).toBe('Tool output: ok');
    const turn = chat('[[exec: sleep 6; echo turn-r1 > "$OPENCLAW_STATE_DIR/workspace/rollout-turn.txt"; echo done-r1]]', 'twin-rollout-turn');
    await until(async () => modelSaw('rollout-turn.txt') || undefined, 60_000, 'the turn to reach the gateway', 100);
    docker('kill', '--signal', 'TERM', container);
    // The turn finishes: the gateway was not killed under it.
    expect(await turn).toBe('Tool output: done-r1');
    const asleep = await waitFor(settled('sleeping'), "asleep after the platform's SIGTERM", 180_000);
    expect(asleep.lastTransition?.reason).toContain('the platform asked the container to stop');
    expect(asleep.lastStop).toMatchObject({ target: 'sleeping', drained: true });
    expect(asleep.backups.lastBackup?.result).toMatch(/^(ok|unchanged)$/);
    expect(asleep.backups.lastBackup?.reason).toMatch(/^before sleep/);
    expect(docker('ps', '--format', '{{.Names}}').split('\n')).not.toContain(container);

    await wake();
    expect((await status()).backups.lastRestore).toMatchObject({ result: 'ok' });
    expect(await chat('[[exec: cat "$OPENCLAW_STATE_DIR/workspace/rollout-fresh.txt"]]', 'twin-rollout')).toBe('Tool output: fresh-r0');
    expect(await chat('[[exec: cat "$OPENCLAW_STATE_DIR/workspace/rollout-turn.txt"]]', 'twin-rollout-turn')).toBe('Tool output: turn-r1');
  });
});
