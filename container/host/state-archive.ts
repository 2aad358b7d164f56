/**
 * Archives of an assistant's home (OpenClaw's state) for backups: consistent
 * SQLite copies taken with SQLite's online backup while the gateway runs,
 * caches and logs left out, a fingerprint that tells whether anything changed,
 * and a restore that verifies the archive's SHA-256 before it replaces
 * anything.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { DatabaseSync, backup as sqliteBackup } from 'node:sqlite';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ARCHIVE_EXCLUDES } from '../../src/contract/state-paths.ts';

export interface ArchiveResult {
  /** Changes whenever a file's path, size or mtime changes, or a database's content. */
  fingerprint: string;
  sha256: string;
  size: number;
  files: number;
  /** The archive on disk (the caller streams it and removes it). */
  path: string;
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0');
/**
 * gzip level of archives: 1 (fastest). Backups run before every stop, so
 * their time is on the way to sleep; level 1 makes archives a little larger
 * than `tar czf`'s level 6 (R2 storage is cheap) and backups much faster.
 */
export const ARCHIVE_GZIP_LEVEL = Number(process.env.ARCHIVE_GZIP_LEVEL ?? 1);

async function isSqlite(path: string, size: number): Promise<boolean> {
  if (size < 100) return false;
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(16);
    await handle.read(header, 0, 16, 0);
    return header.equals(SQLITE_MAGIC);
  } finally {
    await handle.close();
  }
}

/**
 * Files that are coordination or scratch, never state, as OpenClaw's own
 * backup treats them: SQLite lock and writer databases, in-flight copies,
 * sockets, PID and temporary files, Chromium's singleton files. A lock
 * database is held exclusively while the gateway runs, so copying it would
 * also fail.
 */
const TRANSIENT_FILE =
  /(?:\.sqlite\.(?:generation-(?:lock|writer)|reindex-lock)\.sqlite|\.sqlite\.(?:backup|memory-reindex|tmp)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\.sock|\.pid|\.tmp(?:\..*)?|(?:^|\/)Singleton(?:Cookie|Lock|Socket))$/iu;

/** SQLite's side files: never archived (the online backup copies the database whole), but a write lands there first. */
const SQLITE_SIDECAR = /-(wal|shm|journal)$/;

function excluded(rel: string): boolean {
  return ARCHIVE_EXCLUDES.some((e) => rel === e || rel.startsWith(e + sep)) || TRANSIENT_FILE.test(rel);
}

interface Entry {
  rel: string;
  size: number;
  mtimeMs: number;
  sqlite: boolean;
  /** A SQLite side file: counts as a change, is not archived. */
  sidecar: boolean;
}

/** Every file of the home that is state (and the SQLite side files); `readHeaders: false` skips telling databases apart. */
async function walk(root: string, readHeaders = true, dir = root, out: Entry[] = []): Promise<Entry[]> {
  let names: import('node:fs').Dirent[];
  try {
    names = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const d of names) {
    const full = join(dir, d.name);
    const rel = relative(root, full);
    if (excluded(rel)) continue;
    if (d.isDirectory()) await walk(root, readHeaders, full, out);
    else if (d.isFile()) {
      const s = await stat(full).catch(() => null);
      if (!s) continue;
      const sidecar = SQLITE_SIDECAR.test(rel);
      out.push({ rel, size: s.size, mtimeMs: s.mtimeMs, sidecar, sqlite: !sidecar && readHeaders && (await isSqlite(full, s.size)) });
    }
  }
  return out;
}

/** Files of the home an archive holds (no side files), in path order. */
async function stateFiles(home: string): Promise<Entry[]> {
  return (await walk(home)).filter((e) => !e.sidecar).sort((a, b) => (a.rel < b.rel ? -1 : 1));
}

/**
 * How many state files the home holds and when the newest was modified (ms
 * since the epoch; SQLite side files count, as a write lands there first).
 * A missing home holds none. No file is read.
 */
export async function homeSummary(home: string): Promise<{ files: number; modifiedAt: number }> {
  const all = await walk(home, false);
  return { files: all.filter((e) => !e.sidecar).length, modifiedAt: all.reduce((newest, e) => Math.max(newest, e.mtimeMs), 0) };
}

/**
 * A cheap stamp of the home, to notice changes often: it changes with any
 * file's path, size or mtime, SQLite side files included. No file is read.
 * An empty string for an empty home.
 */
export async function homeStamp(home: string): Promise<string> {
  const all = (await walk(home, false)).sort((a, b) => (a.rel < b.rel ? -1 : 1));
  if (all.length === 0) return '';
  const hash = createHash('sha256');
  for (const e of all) hash.update(`${e.rel}\0${e.size}\0${Math.trunc(e.mtimeMs)}\n`);
  return hash.digest('hex');
}

function run(command: string, args: string[], stdin?: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    if (stdin && child.stdin) stdin.pipe(child.stdin);
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${err.trim().slice(0, 300)}`))));
  });
}

/**
 * Runs tar, compresses its output with gzip at level ARCHIVE_GZIP_LEVEL and
 * writes it to `path`, hashing the bytes on the way (one pass over the data).
 */
async function tarTo(path: string, tarArgs: string[]): Promise<string> {
  const { createGzip } = await import('node:zlib');
  const tar = spawn('tar', tarArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  tar.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => tar.once('exit', resolve));
  const hash = createHash('sha256');
  const gzip = createGzip({ level: ARCHIVE_GZIP_LEVEL });
  gzip.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(tar.stdout, gzip, createWriteStream(path));
  const code = await exited;
  if (code !== 0) throw new Error(`tar exited ${code}: ${err.trim().slice(0, 300)}`);
  return hash.digest('hex');
}

/** OpenClaw's coordination tables: which process owns the gateway and the agent databases. */
const LEASE_TABLES = ['state_leases', 'agent_database_leases'];

/**
 * Removes lease rows from a database copy. A lease names the process that
 * held it (PID, host); restored into a new container it would make the new
 * gateway refuse to start until it expires ("Another Gateway owner lease is
 * still active"). OpenClaw's own backups drop them for the same reason.
 */
function dropLeases(path: string): void {
  const db = new DatabaseSync(path);
  try {
    for (const table of LEASE_TABLES) {
      const exists = db.prepare("SELECT 1 AS ok FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
      if (exists) db.exec(`DELETE FROM ${table}`);
    }
  } finally {
    db.close();
  }
}

/**
 * A consistent copy of a SQLite database (online backup, safe while it is
 * written), without lease rows; returns the digest of its content.
 */
async function snapshotDatabase(source: string, target: string): Promise<string> {
  await mkdir(dirname(target), { recursive: true });
  const db = new DatabaseSync(source, { readOnly: true });
  try {
    // All pages in one step: a stepped backup restarts whenever the gateway writes in between.
    await sqliteBackup(db, target, { rate: 2_147_483_647 });
  } finally {
    db.close();
  }
  dropLeases(target);
  try {
    return contentDigest(target);
  } catch {
    return sha256File(target); // content it cannot read (a table needing an extension): the file's bytes
  }
}

/**
 * The SHA-256 of a database's content: its schema and every row, table by
 * table — not of its file, whose bytes change with every write transaction
 * (the change counter, freed space, page layout) even when what it holds
 * does not. So a gateway that only renews its lease (every ~30 s, and left
 * out of the copy) changes nothing a backup would upload.
 */
function contentDigest(path: string): string {
  const hash = createHash('sha256');
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const objects = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex_%' ORDER BY type, name").all() as Array<{
      type: string;
      name: string;
      sql: string | null;
    }>;
    for (const o of objects) {
      hash.update(`${o.type}\0${o.name}\0${o.sql ?? ''}\n`);
      if (o.type !== 'table' || o.sql?.toUpperCase().startsWith('CREATE VIRTUAL')) continue;
      // Rowid order, or the primary key's order for a WITHOUT ROWID table: the same content reads the same way.
      for (const row of db.prepare(`SELECT * FROM "${o.name.replace(/"/g, '""')}"`).iterate()) hash.update(`${rowText(row as Record<string, unknown>)}\n`);
    }
  } finally {
    db.close();
  }
  return hash.digest('hex');
}

function rowText(row: Record<string, unknown>): string {
  return Object.values(row)
    .map((v) => (v instanceof Uint8Array ? `x${Buffer.from(v).toString('hex')}` : typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)))
    .join('\0');
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Archives `home` into a tar.gz under `workDir`. SQLite databases are copied
 * with SQLite's online backup (a consistent snapshot even while written), the
 * rest is read as it is. When `previousFingerprint` matches, nothing is
 * archived and null is returned.
 */
export async function createArchive(home: string, workDir: string, previousFingerprint: string | null): Promise<ArchiveResult | null> {
  const entries = await stateFiles(home);
  const staging = await mkdtemp(join(workDir, 'snap-'));
  try {
    const fingerprint = createHash('sha256');
    for (const e of entries) {
      if (e.sqlite) {
        fingerprint.update(`${e.rel}\0db\0${await snapshotDatabase(join(home, e.rel), join(staging, e.rel))}\n`);
      } else {
        fingerprint.update(`${e.rel}\0${e.size}\0${Math.trunc(e.mtimeMs)}\n`);
      }
    }
    const digest = fingerprint.digest('hex');
    if (digest === previousFingerprint) return null;
    const path = join(workDir, `archive-${Date.now()}-${process.pid}.tar.gz`);
    const plain = entries.filter((e) => !e.sqlite).map((e) => e.rel);
    const dbs = entries.filter((e) => e.sqlite).map((e) => e.rel);
    // One tar stream: plain files from the home, database snapshots from the staging dir.
    const list = join(staging, '.plain-files');
    const listDb = join(staging, '.db-files');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(list, plain.join('\n') + (plain.length ? '\n' : ''));
    await writeFile(listDb, dbs.join('\n') + (dbs.length ? '\n' : ''));
    // --ignore-failed-read: a plain file removed since the listing is left out (a warning, not a failed backup).
    const sha256 = await tarTo(path, ['-c', '--ignore-failed-read', '--no-recursion', '-C', home, '-T', list, '-C', staging, '-T', listDb]);
    const s = await stat(path);
    return { fingerprint: digest, sha256, size: s.size, files: entries.length, path };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * The same snapshot as a directory (for the Sandbox backup API, which archives
 * a directory itself): plain files copied, databases via online backup.
 * Returns null when `previousFingerprint` still matches.
 */
export async function createSnapshotDir(
  home: string,
  outDir: string,
  previousFingerprint: string | null,
): Promise<{ fingerprint: string; files: number } | null> {
  const { cp } = await import('node:fs/promises');
  const entries = await stateFiles(home);
  const staging = `${outDir}.next`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const fingerprint = createHash('sha256');
  let files = 0;
  for (const e of entries) {
    const target = join(staging, e.rel);
    if (e.sqlite) {
      fingerprint.update(`${e.rel}\0db\0${await snapshotDatabase(join(home, e.rel), target)}\n`);
    } else {
      await mkdir(dirname(target), { recursive: true });
      // A file removed since the listing (OpenClaw replaces and deletes files while it runs) is left out, as if
      // listed a moment later; any other failure to read it fails the backup.
      const copied = await cp(join(home, e.rel), target, { preserveTimestamps: true }).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return false;
          throw error;
        },
      );
      if (!copied) continue;
      fingerprint.update(`${e.rel}\0${e.size}\0${Math.trunc(e.mtimeMs)}\n`);
    }
    files += 1;
  }
  const digest = fingerprint.digest('hex');
  if (digest === previousFingerprint) {
    await rm(staging, { recursive: true, force: true });
    return null;
  }
  await rm(outDir, { recursive: true, force: true });
  await rename(staging, outDir);
  return { fingerprint: digest, files };
}

/** Copies a restored snapshot directory into an empty home. */
export async function applySnapshotDir(snapshot: string, home: string): Promise<void> {
  const { cp } = await import('node:fs/promises');
  await rm(home, { recursive: true, force: true });
  await cp(snapshot, home, { recursive: true, preserveTimestamps: true });
}

/**
 * A restore that could not be applied, with its code. Shaped like the
 * Worker's CodedError but not one: this file also runs in the container
 * (snapshot-state.ts), where of src/ only contract/state-paths.ts is copied.
 */
export class RestoreError extends Error {
  readonly code: 'restore_corrupt' | 'restore_failed';
  constructor(code: 'restore_corrupt' | 'restore_failed', message: string) {
    super(message);
    this.name = 'RestoreError';
    this.code = code;
  }
}

/**
 * Replaces `home` with the archive's content, or empties it when `archive`
 * is null (a first boot). The archive is written to disk and checked against
 * `expectedSha256` first; on any failure `home` is left as it was.
 */
export async function restoreArchive(home: string, archive: Readable | null, expectedSha256: string | null): Promise<{ files: number }> {
  await mkdir(dirname(home), { recursive: true });
  const work = await mkdtemp(join(dirname(home), '.restore-'));
  try {
    const next = join(work, 'home');
    await mkdir(next, { recursive: true });
    if (archive) {
      const file = join(work, 'archive.tar.gz');
      const hash = createHash('sha256');
      archive.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(archive, createWriteStream(file));
      const actual = hash.digest('hex');
      if (!expectedSha256 || actual !== expectedSha256) {
        throw new RestoreError(
          'restore_corrupt',
          `archive SHA-256 ${actual.slice(0, 12)}… does not match the manifest's ${expectedSha256?.slice(0, 12) ?? '(none)'}…`,
        );
      }
      try {
        // The umask decides the modes (npm start's 077: the home is this account's alone), not the archive.
        await run('tar', ['-xzf', file, '--no-same-permissions', '-C', next]);
      } catch (error) {
        throw new RestoreError('restore_corrupt', `archive does not unpack: ${(error as Error).message}`);
      }
    }
    const old = join(work, 'old');
    await rename(home, old).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(next, home);
    return { files: (await stateFiles(home)).length };
  } catch (error) {
    if (error instanceof RestoreError) throw error;
    throw new RestoreError('restore_failed', (error as Error).message);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A temporary directory for archives, removed by the caller. */
export function archiveWorkDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'openclaw-archive-'));
}
