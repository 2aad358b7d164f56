/**
 * Persistence on the production path: the Sandbox SDK's own backup and
 * restore (squashfs archives through presigned R2 URLs), a new container at every
 * wake, the gateway drained before its container stops.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { RESTORE_DIR, STATE_HOME } from '../../src/runtime/sandbox-runtime.ts';
import { parseDuration } from '../../src/config.ts';
import { lastModelRequestMentions } from '../support/model-log.ts';
import { ageBackups, explorerBucket } from '../support/r2-aging.ts';
import { appContainer, chat, command, docker, ensureAwake, inContainer, settled, sleep, status, twinUrl, wake, waitFor } from './twin-client.ts';

/** The production bucket's name (wrangler.jsonc), which the twin's emulated R2 uses. */
const BACKUP_BUCKET = 'openclaw-ondemand-poc-backups';
import { TWIN_VARS } from './twin-vars.ts';

/** The gateway's own log, read from a container that has stopped (Docker keeps it until the next start). */
function gatewayLog(container: string): string {
  return execFileSync('sh', ['-c', `docker cp ${container}:/tmp/openclaw - | tar -xO`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

describe.skipIf(inject('twinSkipped') !== '')('production twin: persistence', () => {
  beforeAll(async () => {
    await ensureAwake();
  });

  it('should keep a file the agent wrote across an idle sleep and a wake, with the gateway drained before its container stopped', async () => {
    expect(
      await chat(
        '[[exec: mkdir -p "$OPENCLAW_STATE_DIR/workspace/notes" && echo twin-marker-3e8 > "$OPENCLAW_STATE_DIR/workspace/notes/marker.txt" && echo written]]',
      ),
    ).toBe('Tool output: written');
    const container = appContainer();
    const asleep = await waitFor(settled('sleeping'), 'the idle timer to put it to sleep', 150_000);
    expect(asleep.history.at(-1)).toMatchObject({ from: 'idle', to: 'sleeping', reason: 'idle for sleepAfter' });
    // Before the sleep, the state was backed up (or found unchanged since the debounced backup of the write).
    expect(asleep.backups.lastBackup?.result).toMatch(/^(ok|unchanged)$/);
    expect(asleep.backups.lastBackup?.reason).toMatch(/^before sleep/);
    expect(asleep.lastStop).toMatchObject({ target: 'sleeping', drained: true, gatewayExitCode: 0, warning: null });
    // The gateway ran its own graceful shutdown before the container went away.
    expect(gatewayLog(container)).toContain('shutdown completed cleanly');

    await wake();
    expect((await status()).backups.lastRestore).toMatchObject({ result: 'ok', id: asleep.backups.lastGood?.id });
    expect(await chat('[[exec: cat "$OPENCLAW_STATE_DIR/workspace/notes/marker.txt"]]')).toBe('Tool output: twin-marker-3e8');
  });

  it('should wake again as fast as the boot before it (no gateway lease comes back with the state)', async () => {
    expect(await chat('[[exec: echo lease-check > "$OPENCLAW_STATE_DIR/workspace/notes/lease.txt" && echo ok]]')).toBe('Tool output: ok');
    const asleep = await sleep();
    const ready = await wake();
    // As fast as the boot before it (measured on this machine, as loaded as it is now), with room for noise: a lease
    // restored with the state would hold the gateway for the lease's lifetime on top.
    const measured = asleep.lastBoot?.totalMs ?? 30_000;
    expect(Date.parse(ready.since) - Date.parse(asleep.since)).toBeLessThan(Math.max(60_000, 2 * measured));
    expect(ready.lastError).toBeNull();
    expect(ready.history.slice(-2).map((h) => h.to)).toEqual(['booting', 'ready']);
    const leases = inContainer(
      `node -e "const {DatabaseSync}=require('node:sqlite');const d=new DatabaseSync('${STATE_HOME}/.openclaw/state/openclaw.sqlite',{readOnly:true});console.log(JSON.stringify(d.prepare(\\"select payload_json from state_leases where scope='gateway-owner'\\").all()))"`,
    );
    // One owner: the gateway of this container, not one restored from the last.
    expect(JSON.parse(leases)).toHaveLength(1);
    expect(leases).toContain(inContainer('hostname').trim());
  });

  it('should back up while the restore directory is still a FUSE mount (as production restores leave it), then sleep and wake again', async () => {
    // A restore mounts the archive on the directory it restores into (squashfuse under fuse-overlayfs);
    // the runtime copies it and unmounts it. Mount it again, as a restore whose unmount failed leaves it.
    inContainer(`set -e; m=/var/backups/mounts/twin; mkdir -p $m/lower $m/upper $m/work ${RESTORE_DIR}
      mksquashfs ${STATE_HOME} /var/backups/twin.sqsh -noappend -quiet >/dev/null
      squashfuse /var/backups/twin.sqsh $m/lower
      fuse-overlayfs -o lowerdir=$m/lower,upperdir=$m/upper,workdir=$m/work ${RESTORE_DIR}
      grep -q " ${RESTORE_DIR} " /proc/mounts`);
    const wroteFrom = Date.now();
    expect(await chat('[[exec: echo after-restore > "$OPENCLAW_STATE_DIR/workspace/notes/ebusy.txt" && echo ok]]')).toBe('Tool output: ok');
    const backup = await command('backup', { reason: 'after a restore' });
    expect(backup.status).toBe(200);
    const taken = (await backup.json()) as { kind: string; result: string };
    expect(taken.kind).toBe('backup');
    // `unchanged`: the change-triggered backup (BACKUP_DEBOUNCE after the turn began) got there first and
    // already holds the file; it was taken from the FUSE mount too, and did not fail.
    expect(['ok', 'unchanged']).toContain(taken.result);
    const since = (await status()).backups.history.filter((e) => e.kind === 'backup' && Date.parse(e.at) >= wroteFrom);
    expect(since.filter((e) => e.result === 'failed')).toEqual([]);
    expect(since.some((e) => e.result === 'ok')).toBe(true);
    await sleep();
    await wake();
    expect(await chat('[[exec: cat "$OPENCLAW_STATE_DIR/workspace/notes/ebusy.txt"]]')).toBe('Tool output: after-restore');
  });

  it('should have a file and a chat turn after the container is killed from outside BACKUP_DEBOUNCE + 10 s after they were written', async () => {
    await ensureAwake();
    expect(
      await chat(
        '[[exec: mkdir -p "$OPENCLAW_STATE_DIR/workspace/notes" && echo killed-7f3 > "$OPENCLAW_STATE_DIR/workspace/notes/killed.txt" && echo ok]]',
        'twin-kill',
      ),
    ).toBe('Tool output: ok');
    expect(await chat('remember the word ibis-5d0', 'twin-kill')).toBe('mock answer: remember the word ibis-5d0');
    await new Promise((r) => setTimeout(r, parseDuration('', TWIN_VARS.BACKUP_DEBOUNCE, 0) + 10_000));
    docker('kill', appContainer()); // a host move, a crash, a rollout: no stop sequence, the disk is gone
    await waitFor((s) => s.state === 'stopped', 'stopped after the kill', 30_000);
    await wake();
    const after = await status();
    expect(after.backups.lastRestore).toMatchObject({ result: 'ok' });
    expect(after.backups.history.find((e) => e.kind === 'backup' && e.id === after.backups.lastRestore?.id)?.reason).toBe('changed');
    expect(await chat('[[exec: cat "$OPENCLAW_STATE_DIR/workspace/notes/killed.txt"]]', 'twin-kill')).toBe('Tool output: killed-7f3');
    await chat('what was the word?', 'twin-kill');
    expect(lastModelRequestMentions(inject('modelLog'), 'ibis-5d0')).toBe(true);
  });

  it("should wake with its data after 90 days of hibernation: the SDK still restores the newest backup, the bucket's lifecycle rules keep it", async () => {
    await ensureAwake();
    expect(
      await chat(
        '[[exec: mkdir -p "$OPENCLAW_STATE_DIR/workspace/notes" && echo dormant-90d > "$OPENCLAW_STATE_DIR/workspace/notes/dormant.txt" && echo ok]]',
        'twin-dormant',
      ),
    ).toBe('Tool output: ok');
    expect((await command('hibernate', { reason: 'a long dormancy' })).status).toBe(202);
    await waitFor(settled('hibernated'), 'hibernated');
    // 90 days pass: the SDK's metadata says the archives are that old, and the lifecycle rules as deployed have run.
    const aged = await ageBackups(explorerBucket(twinUrl(), BACKUP_BUCKET), 90);
    expect(aged.movedBack.length).toBeGreaterThan(0);
    expect(aged.deleted, `the lifecycle rules deleted: ${aged.deleted.join(', ')}`).toEqual([]);
    expect((await command('resume', { override: true })).status).toBe(200);
    const ready = await wake();
    expect(ready.backups.lastRestore).toMatchObject({ result: 'ok' });
    expect(await chat('[[exec: cat "$OPENCLAW_STATE_DIR/workspace/notes/dormant.txt"]]', 'twin-dormant')).toBe('Tool output: dormant-90d');
  });
});
