/**
 * Presigned backup transfers, the production default, on the production
 * path: the container uploads and downloads the Sandbox SDK's archives with
 * URLs the Worker signs (its R2 key never enters the container), to the
 * twin's R2 endpoint, which checks each signature and writes into the
 * bucket the BACKUP_BUCKET binding reads; an archive of 10 MiB or more goes
 * up in parts (the Durable Object opens and completes the upload itself) and
 * comes back in ranges; the restore mounts it as production does.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { R2Served } from './twin/r2-endpoint.ts';
import { STATE_HOME } from '../../src/runtime/sandbox-runtime.ts';
import { TWIN_R2_KEYS } from './twin/twin.ts';
import { appContainer, chat, command, ensureAwake, inContainer, sleep, status, wake } from './twin-client.ts';

/** The twin's R2 endpoint's knobs and log (its control server). */
async function r2(path: string, body?: Record<string, unknown>): Promise<unknown> {
  const r = await fetch(`${inject('twinR2Control')}/${path}`, { method: body ? 'PUT' : 'GET', ...(body ? { body: JSON.stringify(body) } : {}) });
  expect(r.status).toBe(200);
  return r.json();
}
const served = async (since: string) => ((await r2('log')) as R2Served[]).filter((s) => s.at >= since);

describe.skipIf(inject('twinSkipped') !== '')('production twin: presigned backups', () => {
  afterAll(async () => {
    await r2('secret', { secret: null }).catch(() => undefined);
    await r2('clock', { skewMs: 0 }).catch(() => undefined);
  });

  it('should carry a 12 MB file across a sleep in a multipart upload and a ranged download through presigned URLs, restored as a FUSE mount', async () => {
    await ensureAwake();
    const from = new Date().toISOString();
    const written = await chat(
      '[[exec: head -c 12000000 /dev/urandom > "$OPENCLAW_STATE_DIR/workspace/blob.bin" && sha256sum < "$OPENCLAW_STATE_DIR/workspace/blob.bin"]]',
      'twin-presigned',
    );
    const digest = /[0-9a-f]{64}/.exec(written)?.[0];
    expect(digest, written).toBeTruthy();
    const asleep = await sleep();
    expect(asleep.backups.lastBackup).toMatchObject({ result: 'ok' });
    expect(asleep.backups.lastBackup?.size ?? 0).toBeGreaterThan(12_000_000);
    const up = await served(from);
    // The sleep's archive: the last one whose multipart upload completed.
    const key = up.filter((s) => s.method === 'POST' && s.query === 'uploadId' && s.status === 200).at(-1)?.path ?? '';
    expect(key).toMatch(/^\/openclaw-ondemand-poc-backups\/backups\/[0-9a-f-]{36}\/data\.sqsh$/);
    const ofArchive = up.filter((s) => s.path === key);
    // Opened and completed by the Durable Object (header-signed), the parts PUT by the container (presigned).
    expect(ofArchive.filter((s) => s.method === 'POST' && s.query === 'uploads' && s.status === 200)).toHaveLength(1);
    const parts = ofArchive.filter((s) => s.method === 'PUT' && s.query.includes('partNumber'));
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(parts.every((s) => s.status === 200)).toBe(true);
    expect(up.filter((s) => s.status >= 400)).toEqual([]);

    const woke = new Date().toISOString();
    const ready = await wake();
    expect(ready.backups.lastRestore).toMatchObject({ result: 'ok', id: asleep.backups.lastBackup?.id });
    const down = (await served(woke)).filter((s) => s.path === key && s.method === 'GET');
    expect(down.length).toBeGreaterThanOrEqual(2);
    expect(down.every((s) => /^bytes=\d+-\d+$/.test(s.range ?? '') && s.status === 206)).toBe(true);
    // Restored the production way: the archive mounted (squashfuse under fuse-overlayfs, its mount base
    // named for the SDK's backup), then copied into the state directory by the runtime.
    const sdkBackup = /\/backups\/([0-9a-f-]{36})\/data\.sqsh$/.exec(key)?.[1];
    expect(inContainer(`ls -d /var/backups/mounts/${sdkBackup}_*/upper /var/backups/mounts/${sdkBackup}_*/lower`).trim().split('\n')).toHaveLength(2);
    expect(await chat('[[exec: sha256sum < "$OPENCLAW_STATE_DIR/workspace/blob.bin"]]', 'twin-presigned')).toContain(digest as string);
    // Never the Worker's key in the container: only URLs signed for one object each.
    expect(inContainer(`grep -rl "${TWIN_R2_KEYS.R2_SECRET_ACCESS_KEY}" /proc/[0-9]*/environ ${STATE_HOME} /tmp 2>/dev/null || echo none`).trim()).toBe('none');
    expect(await chat('[[exec: rm "$OPENCLAW_STATE_DIR/workspace/blob.bin" && echo removed]]', 'twin-presigned')).toBe('Tool output: removed');
  });

  it('should fail a backup loudly and keep the container when the presigned URL is signed with a wrong key or has expired', async () => {
    await ensureAwake();
    // Archives under 10 MiB go up in one presigned PUT (nothing header-signed that a moved clock would refuse first).
    expect(await chat('[[exec: rm -f "$OPENCLAW_STATE_DIR/workspace/blob.bin" && echo clean]]', 'twin-presigned')).toBe('Tool output: clean');
    const container = appContainer();
    for (const [knob, value, expected] of [
      ['secret', { secret: 'not-the-workers-r2-secret' }, 'SignatureDoesNotMatch'],
      ['clock', { skewMs: 2 * 3600_000 }, 'Request has expired'],
    ] as const) {
      await r2(knob, value);
      const from = new Date().toISOString();
      expect(await chat(`[[exec: date > "$OPENCLAW_STATE_DIR/workspace/${knob}.txt" && echo ok]]`, 'twin-presigned')).toBe('Tool output: ok');
      const r = await command('backup', { reason: `presign ${knob}` });
      const answer = (await r.json()) as { result?: string; error?: { message?: string }; message?: string };
      expect(r.status, JSON.stringify(answer)).not.toBe(200);
      const refused = (await served(from)).filter((s) => s.status === 403);
      expect(refused.length, 'the endpoint refused the transfer').toBeGreaterThanOrEqual(1);
      expect(refused[0]?.error).toContain(expected);
      const after = await status();
      expect(after.backups.history.at(-1)).toMatchObject({ kind: 'backup', result: 'failed' });
      expect(after.backups.history.at(-1)?.error).toMatch(/403|denied|forbidden|failed/i);
      expect(['ready', 'idle']).toContain(after.state);
      expect(appContainer()).toBe(container);
    }
    await r2('secret', { secret: null });
    await r2('clock', { skewMs: 0 });
    const r = await command('backup', { reason: 'presign repaired' });
    expect(r.status).toBe(200);
    // `unchanged`: the change-triggered backup (BACKUP_DEBOUNCE after the last write) got there first and took it.
    expect(['ok', 'unchanged']).toContain(((await r.json()) as { result: string }).result);
    const backups = (await status()).backups.history.filter((e) => e.kind === 'backup');
    const lastFailed = Math.max(...backups.filter((e) => e.result === 'failed').map((e) => Date.parse(e.at)));
    expect(
      backups.some((e) => e.result === 'ok' && Date.parse(e.at) > lastFailed),
      JSON.stringify(backups.slice(-4)),
    ).toBe(true);
  });
});
