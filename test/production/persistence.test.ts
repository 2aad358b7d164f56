/**
 * Persistence on the production path: the Sandbox SDK's own backup and
 * restore (squashfs archives in the R2 binding), a new container at every
 * wake, the gateway drained before its container stops.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { RESTORE_DIR, STATE_HOME } from '../../src/runtime/sandbox-runtime.ts';
import { appContainer, chat, command, ensureAwake, inContainer, settled, sleep, status, wake, waitFor } from './twin-client.ts';

/** The gateway's own log, read from a container that has stopped (Docker keeps it until the next start). */
function gatewayLog(container: string): string {
  return execFileSync('sh', ['-c', `docker cp ${container}:/tmp/openclaw - | tar -xO`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

describe.skipIf(inject('twinSkipped') !== '')('production twin: persistence', () => {
  beforeAll(async () => {
    await ensureAwake();
  });

  it('should keep a file the agent wrote across an idle sleep and a wake, with the gateway drained before its container stopped', async () => {
    expect(await chat('[[exec: mkdir -p "$OPENCLAW_STATE_DIR/workspace/notes" && echo twin-marker-3e8 > "$OPENCLAW_STATE_DIR/workspace/notes/marker.txt" && echo written]]')).toBe('Tool output: written');
    const container = appContainer();
    const asleep = await waitFor(settled('sleeping'), 'the idle timer to put it to sleep', 150_000);
    expect(asleep.history.at(-1)).toMatchObject({ from: 'idle', to: 'sleeping', reason: 'idle for sleepAfter' });
    expect(asleep.backups.lastBackup).toMatchObject({ result: 'ok' });
    expect(asleep.backups.lastBackup?.reason).toMatch(/^before sleep/);
    expect(asleep.lastStop).toMatchObject({ target: 'sleeping', drained: true, gatewayExitCode: 0, warning: null });
    // The gateway ran its own graceful shutdown before the container went away.
    expect(gatewayLog(container)).toContain('shutdown completed cleanly');

    await wake();
    expect((await status()).backups.lastRestore).toMatchObject({ result: 'ok', id: asleep.backups.lastBackup?.id });
    expect(await chat('[[exec: cat "$OPENCLAW_STATE_DIR/workspace/notes/marker.txt"]]')).toBe('Tool output: twin-marker-3e8');
  });

  it('should wake again within a minute of a sleep (no gateway lease comes back with the state)', async () => {
    expect(await chat('[[exec: echo lease-check > "$OPENCLAW_STATE_DIR/workspace/notes/lease.txt" && echo ok]]')).toBe('Tool output: ok');
    const asleep = await sleep();
    const ready = await wake();
    expect(Date.parse(ready.since) - Date.parse(asleep.since)).toBeLessThan(60_000);
    expect(ready.lastError).toBeNull();
    expect(ready.history.slice(-2).map((h) => h.to)).toEqual(['booting', 'ready']);
    const leases = inContainer(`node -e "const {DatabaseSync}=require('node:sqlite');const d=new DatabaseSync('${STATE_HOME}/.openclaw/state/openclaw.sqlite',{readOnly:true});console.log(JSON.stringify(d.prepare(\\"select payload_json from state_leases where scope='gateway-owner'\\").all()))"`);
    // One owner: the gateway of this container, not one restored from the last.
    expect(JSON.parse(leases)).toHaveLength(1);
    expect(leases).toContain(inContainer('hostname').trim());
  });

  it('should back up while the restore directory is still a FUSE mount (as production restores leave it), then sleep and wake again', async () => {
    // A production restore mounts the archive on the directory it restores into (squashfuse under
    // fuse-overlayfs); the binding transfer used here extracts it instead. Mount it the production way.
    inContainer(`set -e; m=/var/backups/mounts/twin; mkdir -p $m/lower $m/upper $m/work ${RESTORE_DIR}
      mksquashfs ${STATE_HOME} /var/backups/twin.sqsh -noappend -quiet >/dev/null
      squashfuse /var/backups/twin.sqsh $m/lower
      fuse-overlayfs -o lowerdir=$m/lower,upperdir=$m/upper,workdir=$m/work ${RESTORE_DIR}
      grep -q " ${RESTORE_DIR} " /proc/mounts`);
    expect(await chat('[[exec: echo after-restore > "$OPENCLAW_STATE_DIR/workspace/notes/ebusy.txt" && echo ok]]')).toBe('Tool output: ok');
    const backup = await command('backup', { reason: 'after a restore' });
    expect(backup.status).toBe(200);
    expect(await backup.json()).toMatchObject({ kind: 'backup', result: 'ok' });
    await sleep();
    await wake();
    expect(await chat('[[exec: cat "$OPENCLAW_STATE_DIR/workspace/notes/ebusy.txt"]]')).toBe('Tool output: after-restore');
  });
});
