// The backup part of `npm run bench`: backup and restore through the whole
// local stack (local host archive → Worker → R2 emulation, and back) for
// states of 1, 50 and 200 MB, each against `tar czf` of the same directory
// in the same run, and the time of a backup when nothing changed.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { post, startLocalStack, until } from './lib/local-stack.ts';

const SIZES_MB = (process.env.BENCH_BACKUP_SIZES ?? '1,50,200').split(',').map(Number);

/** A state of about `mb` MB: half text (compresses), 40 % random bytes (does not), 10 % a SQLite database. */
function fillState(home, mb) {
  rmSync(home, { recursive: true, force: true });
  const ws = join(home, '.openclaw', 'workspace');
  mkdirSync(ws, { recursive: true });
  const text = 'OpenClaw workspace line: the quick brown fox jumps over the lazy dog 0123456789\n';
  const textBytes = mb * 0.5 * 1024 * 1024;
  const files = Math.max(1, Math.round(mb * 2));
  for (let i = 0; i < files; i++) writeFileSync(join(ws, `note-${i}.md`), text.repeat(Math.ceil(textBytes / files / text.length)));
  writeFileSync(join(ws, 'blob.bin'), randomBytes(Math.round(mb * 0.4 * 1024 * 1024)));
  const db = new DatabaseSync(join(home, '.openclaw', 'sessions.sqlite'));
  db.exec('PRAGMA journal_mode=WAL; CREATE TABLE m(id INTEGER PRIMARY KEY, body TEXT)');
  const insert = db.prepare('INSERT INTO m(body) VALUES (?)');
  const row = randomBytes(512).toString('base64');
  for (let i = 0; i < (mb * 0.1 * 1024 * 1024) / row.length; i++) insert.run(row);
  db.close();
}

function tarCzf(home) {
  const out = join(tmpdir(), `bench-tar-${process.pid}.tar.gz`);
  const t0 = performance.now();
  const r = spawnSync('tar', ['-czf', out, '-C', home, '.']);
  const ms = performance.now() - t0;
  rmSync(out, { force: true });
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  return ms;
}

async function status(url) {
  return (await fetch(`${url}/api/status`)).json();
}

export async function benchBackup() {
  console.log(`\nbackup and restore through the local stack (archive → Worker → R2 emulation), states of ${SIZES_MB.join(', ')} MB`);
  const stack = await startLocalStack({ LOCAL_GATEWAY: 'echo', SLEEP_AFTER: '1h', BACKUP_INTERVAL: '1h' });
  const home = join(stack.stateDir, 'agents', 'default', 'home');
  try {
    for (const mb of SIZES_MB) {
      await post(`${stack.url}/api/wake`);
      await until(async () => ((await status(stack.url)).state === 'ready' ? true : undefined), 60_000, 'ready', 50);
      fillState(home, mb);
      const tarMs = tarCzf(home);
      let t0 = performance.now();
      const backup = await (await post(`${stack.url}/api/backup`)).json();
      const backupMs = performance.now() - t0;
      if (backup.result !== 'ok') throw new Error(`backup: ${JSON.stringify(backup)}`);
      t0 = performance.now();
      const again = await (await post(`${stack.url}/api/backup`)).json();
      const unchangedMs = performance.now() - t0;
      await post(`${stack.url}/api/stop`);
      await until(async () => ((await status(stack.url)).state === 'stopped' ? true : undefined), 120_000, 'stopped', 50);
      await post(`${stack.url}/api/wake`);
      const ready = await until(
        async () => {
          const s = await status(stack.url);
          return s.state === 'ready' ? s : undefined;
        },
        120_000,
        'ready after restore',
        50,
      );
      const restoreMs = ready.backups.lastRestore.ms;
      console.log(
        `${String(mb).padStart(4)} MB  archive ${(backup.size / 1048576).toFixed(1)} MB  backup ${(backupMs / 1000).toFixed(2)} s (÷ tar czf ${(backupMs / tarMs).toFixed(2)})` +
          `  restore ${(restoreMs / 1000).toFixed(2)} s (÷ tar czf ${(restoreMs / tarMs).toFixed(2)})  tar czf ${(tarMs / 1000).toFixed(2)} s` +
          `  no-change backup ${unchangedMs.toFixed(0)} ms (${again.result})`,
      );
      await post(`${stack.url}/api/stop`);
      await until(async () => ((await status(stack.url)).state === 'stopped' ? true : undefined), 120_000, 'stopped', 50);
    }
  } finally {
    await stack.stop();
  }
}
