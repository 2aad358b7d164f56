/**
 * Backups and restores in workerd with the real R2 emulation (miniflare) and
 * the fake container's disk: nothing written before a stop is lost, a crash
 * loses at most one backup interval, a corrupt newest backup is skipped, and
 * a restore that cannot succeed neither boots empty nor touches the backups.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { BackupStore } from '../../src/backup/backup-store.ts';
import { fakeContainer, killFakeContainer, resetFakeContainers } from '../support/fake-container.ts';
import { testClock } from './test-worker.ts';
import { SETTLED } from './settled.ts';

let counter = 0;
function freshAgent() {
  const name = `persist-${Date.now()}-${counter++}`;
  return { name, stub: env.AGENT.get(env.AGENT.idFromName(name)) };
}
type Stub = ReturnType<typeof freshAgent>['stub'];

async function status(stub: Stub): Promise<AgentStatus> {
  const result = (await stub.lifecycleStatus()) as { ok: true; status: AgentStatus };
  return result.status;
}

async function until(stub: Stub, check: (s: AgentStatus) => boolean, what: string) {
  await vi.waitFor(async () => expect(check(await status(stub)), what).toBe(true), SETTLED);
}

const isState = (state: string) => (s: AgentStatus) => s.state === state && s.stopping === null;

async function wake(stub: Stub) {
  await stub.lifecycleCommand('wake');
  await until(stub, isState('ready'), 'ready');
}

async function fireAlarm(stub: Stub) {
  const at = (await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())) as number;
  const due = at - Date.now();
  if (due > testClock.offsetMs) testClock.offsetMs = due + 1;
  await runDurableObjectAlarm(stub);
}

/** Lets the idle timers run out: ready → idle → (backup, stop) → sleeping. */
async function idleToSleep(stub: Stub) {
  for (let i = 0; i < 40 && (await status(stub)).state !== 'sleeping'; i++) {
    const s = await status(stub);
    if (s.stopping) await until(stub, (x) => x.stopping === null, 'the stop finished');
    else await fireAlarm(stub);
  }
  await until(stub, isState('sleeping'), 'sleeping');
}

// The Worker's agent name is "default"; the DO keys its backups by that config name,
// so each test uses its own prefix through its own store view.
const store = () => new BackupStore(env.BACKUP_BUCKET!, 'default', 10);

async function clearBackups() {
  const listed = await env.BACKUP_BUCKET!.list({ prefix: 'backups/' });
  if (listed.objects.length) await env.BACKUP_BUCKET!.delete(listed.objects.map((o) => o.key));
}

describe('persistence (workerd, R2 emulation, fake container disk)', () => {
  beforeEach(async () => {
    testClock.offsetMs = 0;
    await clearBackups();
  });
  afterEach(() => resetFakeContainers());

  it('should keep a file written just before the idle timeout across sleep and wake', async () => {
    const { name, stub } = freshAgent();
    await wake(stub);
    fakeContainer(name).disk['workspace/notes.md'] = 'written at the last second';
    fakeContainer(name).disk['openclaw.json'] = '{"agents":{"defaults":{"heartbeat":{"every":"30m"}}}}';
    await idleToSleep(stub);
    const asleep = await status(stub);
    // The periodic backup may have taken the files already; the one before sleep then finds nothing new.
    const beforeSleep = asleep.backups.history.find((e) => e.kind === 'backup' && e.reason.includes('before sleep'));
    expect(beforeSleep?.result).toMatch(/^(ok|unchanged)$/);
    expect(asleep.backups.history.some((e) => e.kind === 'backup' && e.result === 'ok' && e.files === 2)).toBe(true);
    expect(fakeContainer(name).running).toBe(false);

    fakeContainer(name).disk = {}; // a new container has an empty disk
    await wake(stub);
    expect(fakeContainer(name).disk).toEqual({
      'workspace/notes.md': 'written at the last second',
      'openclaw.json': '{"agents":{"defaults":{"heartbeat":{"every":"30m"}}}}',
    });
    expect((await status(stub)).backups.lastRestore).toMatchObject({ result: 'ok', files: 2 });
  });

  it('should keep what the gateway writes while it drains before a sleep (the backup comes after the drain)', async () => {
    const { name, stub } = freshAgent();
    await wake(stub);
    fakeContainer(name).writesWhileDraining = { 'workspace/turn.md': 'the agent turn that finished after SIGTERM' };
    await stub.lifecycleCommand('sleep');
    await until(stub, isState('sleeping'), 'sleeping');
    expect((await status(stub)).lastStop).toMatchObject({ target: 'sleeping', drained: true });
    fakeContainer(name).disk = {};
    await wake(stub);
    expect(fakeContainer(name).disk['workspace/turn.md']).toBe('the agent turn that finished after SIGTERM');
  });

  it('should back up what a crash left on the disk, newer than the newest backup, before a boot empties it — and restore that', async () => {
    const { name, stub } = freshAgent();
    await wake(stub);
    fakeContainer(name).disk['old.txt'] = 'backed up';
    expect(await stub.lifecycleBackup('requested')).toMatchObject({ ok: true, backup: { result: 'ok' } });
    fakeContainer(name).disk['unsaved.txt'] = 'written after the last backup';
    killFakeContainer(name); // gone without a stop: nothing backed up, the disk (a local home) stays
    await stub.fetch('https://poc.example.com/anything');
    await until(stub, (s) => s.state !== 'ready', 'noticed');
    await stub.lifecycleCommand('wake');
    await until(stub, isState('ready'), 'ready again');
    const s = await status(stub);
    expect(s.backups.history.some((e) => e.kind === 'backup' && e.result === 'ok' && e.reason === 'recovered at boot')).toBe(true);
    expect(s.backups.lastRestore?.id).toBe(s.backups.history.find((e) => e.reason === 'recovered at boot')?.id);
    expect(fakeContainer(name).disk).toEqual({ 'old.txt': 'backed up', 'unsaved.txt': 'written after the last backup' });
  });

  it('should keep data across hibernate and resume', async () => {
    const { name, stub } = freshAgent();
    await wake(stub);
    fakeContainer(name).disk['workspace/plan.txt'] = 'hibernate me';
    await stub.lifecycleCommand('hibernate', { reason: 'budget', by: 'budget' });
    await until(stub, isState('hibernated'), 'hibernated');
    expect((await status(stub)).backups.lastBackup?.reason).toContain('before hibernation');
    fakeContainer(name).disk = {};
    await stub.lifecycleCommand('resume');
    await wake(stub);
    expect(fakeContainer(name).disk['workspace/plan.txt']).toBe('hibernate me');
  });

  it('should lose at most what was written after the last periodic backup when the container crashes', async () => {
    const { name, stub } = freshAgent();
    await wake(stub);
    fakeContainer(name).disk['old.txt'] = 'before the periodic backup';
    // Jump to the periodic backup's due time and run the alarm (health and quiet fire too).
    const record = (await runInDurableObject(stub, (_i, state) => state.storage.get('lifecycle'))) as { timers: { backup: number } };
    testClock.offsetMs = record.timers.backup - Date.now() + 1;
    await runDurableObjectAlarm(stub);
    await until(stub, (s) => s.backups.lastBackup?.result === 'ok', 'periodic backup');
    expect((await status(stub)).backups.lastBackup?.reason).toBe('periodic');
    fakeContainer(name).disk['new.txt'] = 'after it';
    killFakeContainer(name);
    fakeContainer(name).disk = {};
    await stub.fetch('https://poc.example.com/anything'); // notices the dead runtime
    await until(stub, (s) => s.state === 'stopped' || s.state === 'booting' || s.state === 'ready', 'noticed');
    await stub.lifecycleCommand('wake');
    await until(stub, isState('ready'), 'ready again');
    expect(fakeContainer(name).disk).toEqual({ 'old.txt': 'before the periodic backup' });
  });

  it('should upload nothing when nothing changed', async () => {
    const { name, stub } = freshAgent();
    await wake(stub);
    fakeContainer(name).disk.a = '1';
    expect((await stub.lifecycleBackup('first')).ok).toBe(true);
    const second = (await stub.lifecycleBackup('second')) as { ok: true; backup: { result: string } };
    expect(second.backup.result).toBe('unchanged');
    expect(fakeContainer(name).backups).toBe(1);
    expect(await store().list()).toHaveLength(1);
  });

  it('should skip a corrupt newest backup for the previous good one', async () => {
    const { name, stub } = freshAgent();
    await wake(stub);
    fakeContainer(name).disk.v = 'good';
    await stub.lifecycleBackup('good one');
    fakeContainer(name).disk.v = 'newer';
    await stub.lifecycleBackup('newer one');
    const [newest, previous] = await store().list();
    expect(newest?.reason).toBe('newer one');
    // Same size, different bytes: passes the size check, fails the SHA-256.
    const original = await (await env.BACKUP_BUCKET!.get(newest!.archiveKey!))!.text();
    await env.BACKUP_BUCKET!.put(newest!.archiveKey!, original.replace('newer', 'NEWER'));
    await stub.lifecycleCommand('stop', { reason: 'test' });
    await until(stub, isState('stopped'), 'stopped');
    fakeContainer(name).disk = {};
    await wake(stub);
    expect(fakeContainer(name).disk).toEqual({ v: 'good' });
    const restore = (await status(stub)).backups.lastRestore;
    expect(restore).toMatchObject({ result: 'ok', id: previous!.id });
    expect(restore?.reason).toContain('skipped 1 newer');
  });

  it('should stay stopped with the reason, and leave the backups untouched, when no backup is intact', async () => {
    const { name, stub } = freshAgent();
    await wake(stub);
    fakeContainer(name).disk.v = 'precious';
    await stub.lifecycleCommand('stop', { reason: 'test' });
    await until(stub, isState('stopped'), 'stopped');
    const [only] = await store().list();
    await env.BACKUP_BUCKET!.put(only!.archiveKey!, 'truncated');
    const before = (await env.BACKUP_BUCKET!.list({ prefix: 'backups/' })).objects.map((o) => `${o.key}:${o.etag}`).sort();

    await stub.lifecycleCommand('wake');
    await until(stub, (s) => s.state === 'stopped' && s.lastError?.code === 'restore_failed', 'restore failure');
    const s = await status(stub);
    expect(s.lastError?.message).toContain('not started with empty state');
    expect(fakeContainer(name).starts).toBe(1); // never started again
    const after = (await env.BACKUP_BUCKET!.list({ prefix: 'backups/' })).objects.map((o) => `${o.key}:${o.etag}`).sort();
    expect(after).toEqual(before);
  });

  it('should not stop (and not lose data) while the backup before sleep fails, and sleep once it works', async () => {
    const { name, stub } = freshAgent();
    await wake(stub);
    fakeContainer(name).disk.x = 'keep me';
    fakeContainer(name).failBackups = true;
    await stub.lifecycleCommand('sleep');
    await until(stub, (s) => s.lastError?.code === 'stop_failed', 'stop failed');
    expect(fakeContainer(name).running).toBe(true);
    expect((await status(stub)).state).toBe('ready');
    fakeContainer(name).failBackups = false;
    await fireAlarm(stub); // the stop retry
    await until(stub, isState('sleeping'), 'sleeping');
    fakeContainer(name).disk = {};
    await wake(stub);
    expect(fakeContainer(name).disk).toEqual({ x: 'keep me' });
  });

  it('should keep the newest BACKUP_KEEP backups of a burst, and no more', async () => {
    const keep = new BackupStore(env.BACKUP_BUCKET!, 'retention-test', 3, () => Date.UTC(2026, 10, 1, 0, 20));
    for (let i = 0; i < 5; i++) {
      const body = new TextEncoder().encode(`backup ${i}`);
      const digest = [...new Uint8Array(await crypto.subtle.digest('SHA-256', body))].map((b) => b.toString(16).padStart(2, '0')).join('');
      await keep.save(
        {
          id: keep.newId(Date.UTC(2026, 10, 1, 0, i)),
          agent: 'retention-test',
          createdAt: '',
          reason: `n${i}`,
          runtime: 'local',
          fingerprint: String(i),
          sha256: digest,
          size: body.length,
          files: 1,
        },
        new Response(body).body,
      );
    }
    const left = await keep.list();
    expect(left.map((m) => m.reason)).toEqual(['n4', 'n3', 'n2']);
  });

  it("should delete the Sandbox SDK's archive and metadata with the manifest that names them, and keep the size of the ones it keeps", async () => {
    const now = Date.UTC(2026, 11, 6, 12, 0, 0);
    const sdk = new BackupStore(env.BACKUP_BUCKET!, 'sdk-retention', 2, () => now);
    const uuids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const uuid = crypto.randomUUID();
      uuids.push(uuid);
      // What the SDK stores itself before the Worker writes the manifest.
      await env.BACKUP_BUCKET!.put(`backups/${uuid}/data.sqsh`, 'x'.repeat(1000 + i));
      await env.BACKUP_BUCKET!.put(`backups/${uuid}/meta.json`, JSON.stringify({ id: uuid, createdAt: new Date(now).toISOString(), ttl: 1 }));
      const { manifest } = await sdk.save(
        {
          id: sdk.newId(now - (4 - i) * 3 * 60 * 60_000),
          agent: 'sdk-retention',
          createdAt: '',
          reason: `s${i}`,
          runtime: 'sandbox',
          fingerprint: String(i),
          sha256: uuid,
          size: 0,
          files: 1,
          handle: { id: uuid, dir: '/home/.openclaw-snapshot' },
        },
        null,
      );
      expect(manifest.size).toBe(1000 + i);
    }
    // 12 h, 9 h, 6 h and 3 h old: the newest two are kept, and the newest at least 1 hour old is one of them.
    expect((await sdk.list()).map((m) => m.reason)).toEqual(['s3', 's2']);
    for (const [i, uuid] of uuids.entries()) {
      const present =
        (await env.BACKUP_BUCKET!.head(`backups/${uuid}/data.sqsh`)) !== null && (await env.BACKUP_BUCKET!.head(`backups/${uuid}/meta.json`)) !== null;
      expect(present, `backup s${i}`).toBe(i >= 2);
    }
  });

  it('should answer POST /api/backup with 409 when nothing runs', async () => {
    const { stub } = freshAgent();
    const result = await stub.lifecycleBackup('manual');
    expect(result).toMatchObject({ ok: false, error: { code: 'conflict' } });
  });
});
