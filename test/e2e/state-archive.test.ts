/** Archives of the assistant's home, for real: SQLite consistency while written, exclusions, integrity on restore. */
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { createArchive, createSnapshotDir, restoreArchive } from '../../container/host/state-archive.ts';

const dirs: string[] = [];
function scratch() {
  const d = mkdtempSync(join(tmpdir(), 'archive-'));
  dirs.push(d);
  return d;
}

describe('state-archive', () => {
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('should copy a SQLite database consistently while another connection keeps writing', async () => {
    const root = scratch();
    const home = join(root, 'home');
    mkdirSync(join(home, '.openclaw'), { recursive: true });
    const dbPath = join(home, '.openclaw', 'sessions.sqlite');
    const writer = new DatabaseSync(dbPath);
    writer.exec('PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)');
    const insert = writer.prepare('INSERT INTO t(body) VALUES (?)');
    for (let i = 0; i < 2000; i++) insert.run('x'.repeat(500));
    let writing = true;
    const loop = (async () => {
      while (writing) {
        writer.exec('BEGIN');
        for (let i = 0; i < 50; i++) insert.run('y'.repeat(500));
        writer.exec('COMMIT');
        await new Promise((r) => setImmediate(r));
      }
    })();
    const archive = await createArchive(home, root, null);
    writing = false;
    await loop;
    writer.close();
    expect(archive).not.toBeNull();
    const restored = join(root, 'restored');
    await restoreArchive(restored, createReadStream(archive!.path), archive!.sha256);
    const copy = new DatabaseSync(join(restored, '.openclaw', 'sessions.sqlite'), { readOnly: true });
    expect(copy.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    const rows = (copy.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
    copy.close();
    expect(rows).toBeGreaterThanOrEqual(2000);
    expect(rows % 50).toBe(0); // whole transactions only, never a torn one
  });

  it('should leave caches and logs out, and refuse an archive whose SHA-256 differs without touching the home', async () => {
    const root = scratch();
    const home = join(root, 'home');
    mkdirSync(join(home, '.openclaw', 'cache', 'control-ui-assets'), { recursive: true });
    mkdirSync(join(home, '.openclaw', 'logs'), { recursive: true });
    mkdirSync(join(home, '.openclaw', 'workspace'), { recursive: true });
    writeFileSync(join(home, '.openclaw', 'cache', 'control-ui-assets', 'big.js'), 'cached');
    writeFileSync(join(home, '.openclaw', 'logs', 'gateway.log'), 'log');
    writeFileSync(join(home, '.openclaw', 'workspace', 'keep.md'), 'keep');
    const archive = (await createArchive(home, root, null))!;
    expect(archive.files).toBe(1);
    const target = join(root, 'target');
    await restoreArchive(target, createReadStream(archive.path), archive.sha256);
    expect(readFileSync(join(target, '.openclaw', 'workspace', 'keep.md'), 'utf8')).toBe('keep');
    expect(existsSync(join(target, '.openclaw', 'cache'))).toBe(false);
    await expect(restoreArchive(target, createReadStream(archive.path), 'f'.repeat(64))).rejects.toMatchObject({ code: 'restore_corrupt' });
    expect(readFileSync(join(target, '.openclaw', 'workspace', 'keep.md'), 'utf8')).toBe('keep');
  });

  it("should drop OpenClaw's lease rows from the copy (a new container could not start on them) and leave the live database alone", async () => {
    const root = scratch();
    const home = join(root, 'home');
    mkdirSync(join(home, '.openclaw', 'state'), { recursive: true });
    const dbPath = join(home, '.openclaw', 'state', 'openclaw.sqlite');
    const live = new DatabaseSync(dbPath);
    live.exec(`CREATE TABLE state_leases(scope TEXT, lease_key TEXT, owner TEXT, expires_at INTEGER, payload_json TEXT);
      CREATE TABLE agent_database_leases(lease_id TEXT, owner_pid INTEGER);
      CREATE TABLE cron_jobs(id TEXT, schedule TEXT);
      INSERT INTO state_leases VALUES ('gateway-owner', 'global', 'owner-1', ${Date.now() + 300_000}, '{"owner":{"pid":98,"host":"old-container"}}');
      INSERT INTO agent_database_leases VALUES ('lease-1', 98);
      INSERT INTO cron_jobs VALUES ('job-1', '0 9 * * *');`);
    const archive = (await createArchive(home, root, null))!;
    const restored = join(root, 'restored');
    await restoreArchive(restored, createReadStream(archive.path), archive.sha256);
    const copy = new DatabaseSync(join(restored, '.openclaw', 'state', 'openclaw.sqlite'), { readOnly: true });
    expect(copy.prepare('SELECT count(*) AS n FROM state_leases').get()).toEqual({ n: 0 });
    expect(copy.prepare('SELECT count(*) AS n FROM agent_database_leases').get()).toEqual({ n: 0 });
    expect(copy.prepare('SELECT id FROM cron_jobs').all()).toEqual([{ id: 'job-1' }]);
    copy.close();
    expect(live.prepare('SELECT count(*) AS n FROM state_leases').get()).toEqual({ n: 1 });
    live.close();
  });

  it('should find nothing new when the gateway only renewed its lease, and a change when a row changed', async () => {
    const root = scratch();
    const home = join(root, 'home');
    mkdirSync(join(home, '.openclaw', 'state'), { recursive: true });
    const live = new DatabaseSync(join(home, '.openclaw', 'state', 'openclaw.sqlite'));
    live.exec(`PRAGMA journal_mode=WAL;
      CREATE TABLE state_leases(scope TEXT PRIMARY KEY, owner TEXT, expires_at INTEGER);
      CREATE TABLE cron_jobs(id TEXT PRIMARY KEY, schedule TEXT);
      INSERT INTO state_leases VALUES ('gateway-owner', 'owner-1', 1);
      INSERT INTO cron_jobs VALUES ('job-1', '0 9 * * *');`);
    const first = (await createArchive(home, root, null))!;
    for (let i = 2; i < 50; i++) live.prepare('UPDATE state_leases SET expires_at = ?').run(i); // renewals, as a running gateway does
    expect(await createArchive(home, root, first.fingerprint)).toBeNull();
    live.exec("UPDATE cron_jobs SET schedule = '0 10 * * *'");
    expect(await createArchive(home, root, first.fingerprint)).not.toBeNull();
    live.close();
  });

  it('should leave out lock databases and other transient files, even one another process holds exclusively', async () => {
    const root = scratch();
    const home = join(root, 'home');
    const agentDir = join(home, '.openclaw', 'agents', 'main', 'agent');
    mkdirSync(agentDir, { recursive: true });
    new DatabaseSync(join(agentDir, 'openclaw-agent.sqlite')).exec('CREATE TABLE t(x); INSERT INTO t VALUES (1)');
    const lock = new DatabaseSync(join(agentDir, 'openclaw-agent.sqlite.reindex-lock.sqlite'));
    lock.exec('PRAGMA locking_mode=EXCLUSIVE; CREATE TABLE l(x); INSERT INTO l VALUES (1)');
    writeFileSync(join(home, '.openclaw', 'gateway.pid'), '98');
    writeFileSync(join(home, '.openclaw', 'openclaw.json.tmp'), '{');
    // OpenClaw's lock files (an OAuth refresh under way): about this container's processes, gone a moment later.
    mkdirSync(join(home, '.openclaw', 'locks', 'oauth-refresh'), { recursive: true });
    writeFileSync(join(home, '.openclaw', 'locks', 'oauth-refresh', 'lock-1e4bdd6db512c4d2.lock'), '{"pid":41}');
    const archive = (await createArchive(home, root, null))!;
    const snapshot = (await createSnapshotDir(home, join(root, 'snapshot'), null))!;
    lock.close();
    expect(archive.files).toBe(1);
    expect(snapshot.files).toBe(1);
    expect(existsSync(join(root, 'snapshot', '.openclaw', 'agents', 'main', 'agent', 'openclaw-agent.sqlite'))).toBe(true);
    expect(existsSync(join(root, 'snapshot', '.openclaw', 'locks'))).toBe(false);
    const restored = join(root, 'restored');
    await restoreArchive(restored, createReadStream(archive.path), archive.sha256);
    expect(existsSync(join(restored, '.openclaw', 'agents', 'main', 'agent', 'openclaw-agent.sqlite'))).toBe(true);
    expect(existsSync(join(restored, '.openclaw', 'agents', 'main', 'agent', 'openclaw-agent.sqlite.reindex-lock.sqlite'))).toBe(false);
    expect(existsSync(join(restored, '.openclaw', 'gateway.pid'))).toBe(false);
    expect(existsSync(join(restored, '.openclaw', 'locks'))).toBe(false);
  });
});
