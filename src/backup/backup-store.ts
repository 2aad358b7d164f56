/**
 * Backups in R2: one folder per backup under `backups/<agent>/<id>/` with the
 * archive (local mode; the Sandbox SDK stores its own squashfs objects under
 * `backups/<uuid>/`) and a manifest written only after the archive is fully
 * stored, so a listed manifest always names a complete backup. Ids sort by
 * time and carry it. After a new one is stored, backups the retention policy
 * (src/backup/retention.ts) does not keep are deleted — manifest first, then
 * the archive it names, the SDK's included; restores never delete.
 */
import { backupsToPrune, idTimeMs } from './retention.ts';

/** Where the Sandbox SDK stores a backup's archive and metadata (its BACKUP_STORAGE_PREFIX layout). */
export const sdkBackupKeys = (id: string): string[] => [`backups/${id}/data.sqsh`, `backups/${id}/meta.json`];

export interface BackupManifest {
  id: string;
  agent: string;
  /** ISO time. */
  createdAt: string;
  reason: string;
  runtime: 'local' | 'sandbox';
  fingerprint: string;
  /** SHA-256 of the archive (local), or the Sandbox backup id. */
  sha256: string;
  size: number;
  files: number;
  /** R2 key of the archive, or null when the platform stored it (Sandbox). */
  archiveKey: string | null;
  /** The platform's handle (Sandbox `DirectoryBackup`). */
  handle?: unknown;
}

export type BackupBucket = Pick<R2Bucket, 'put' | 'get' | 'head' | 'list' | 'delete'>;

/** What a save did: the backup stored, and those the retention policy deleted after it. */
export interface SaveResult {
  manifest: BackupManifest;
  pruned: string[];
}

export class BackupStore {
  readonly #bucket: BackupBucket;
  readonly #agent: string;
  readonly #keep: number;
  readonly #now: () => number;
  /** R2 operations this store made (Class A: writes and lists; Class B: reads; deletes are free). */
  readonly ops = { classA: 0, classB: 0 };

  /** `keep`: the newest kept whatever their age (BACKUP_KEEP); older ones by the age tiers. */
  constructor(bucket: BackupBucket, agent: string, keep: number, now: () => number = Date.now) {
    const ops = this.ops;
    this.#bucket = {
      put: (...args) => {
        ops.classA += 1;
        return bucket.put(...args);
      },
      list: (...args) => {
        ops.classA += 1;
        return bucket.list(...args);
      },
      get: ((...args: Parameters<BackupBucket['get']>) => {
        ops.classB += 1;
        return bucket.get(...args);
      }) as BackupBucket['get'],
      head: (...args) => {
        ops.classB += 1;
        return bucket.head(...args);
      },
      delete: (...args) => bucket.delete(...args),
    };
    this.#agent = agent;
    this.#keep = keep;
    this.#now = now;
  }

  get prefix(): string {
    return `backups/${this.#agent}/`;
  }

  /** A new id: UTC time to the millisecond plus a random suffix (sorts by time). */
  newId(nowMs: number): string {
    const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace('.', '');
    return `${stamp}-${crypto.randomUUID().slice(0, 8)}`;
  }

  /**
   * Stores the archive (if any), then the manifest; then prunes. A Sandbox
   * backup's size is read from the SDK's archive object (the SDK does not say).
   */
  async save(manifest: Omit<BackupManifest, 'archiveKey'>, body: ReadableStream | null): Promise<SaveResult> {
    const archiveKey = body ? `${this.prefix}${manifest.id}/archive.tar.gz` : null;
    if (body && archiveKey) {
      // R2 checks the SHA-256 and refuses a truncated or altered upload.
      await this.#bucket.put(archiveKey, body, { sha256: manifest.sha256, httpMetadata: { contentType: 'application/gzip' } });
    }
    const sdkId = sdkBackupId(manifest);
    const size = sdkId && !manifest.size ? ((await this.#bucket.head(sdkBackupKeys(sdkId)[0] as string).catch(() => null))?.size ?? 0) : manifest.size;
    const complete: BackupManifest = { ...manifest, size, archiveKey };
    await this.#bucket.put(`${this.prefix}${manifest.id}/manifest.json`, JSON.stringify(complete), { httpMetadata: { contentType: 'application/json' } });
    return { manifest: complete, pruned: await this.prune() };
  }

  /** Complete backups, newest first. */
  async list(): Promise<BackupManifest[]> {
    const manifests: BackupManifest[] = [];
    for (const id of await this.#completeIds()) {
      const body = await this.#bucket.get(`${this.prefix}${id}/manifest.json`);
      if (!body) continue;
      try {
        manifests.push((await body.json()) as BackupManifest);
      } catch {
        // an unreadable manifest is skipped, never deleted
      }
    }
    return manifests.sort((a, b) => (a.id < b.id ? 1 : -1));
  }

  /** Ids of the backups whose manifest is stored (complete ones), newest first: listing only, no object is read. */
  async #completeIds(): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#bucket.list({ prefix: this.prefix, ...(cursor ? { cursor } : {}) });
      for (const object of page.objects) {
        const id = object.key.slice(this.prefix.length).split('/');
        if (id.length === 2 && id[1] === 'manifest.json' && id[0]) ids.push(id[0]);
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return ids.sort().reverse();
  }

  /** The archive's bytes, or null when missing or not the size the manifest says. */
  async openArchive(manifest: BackupManifest): Promise<ReadableStream | null> {
    if (!manifest.archiveKey) return null;
    const object = await this.#bucket.get(manifest.archiveKey);
    if (!object) return null;
    if (object.size !== manifest.size) {
      await object.body.cancel();
      return null;
    }
    return object.body;
  }

  /**
   * Deletes the complete backups the retention policy does not keep (ids
   * carry their time, so this lists and reads only the manifests it deletes,
   * for the Sandbox archive they name). The manifest goes first: a backup is
   * never listed while its archive is being deleted. Returns the ids deleted.
   */
  async prune(): Promise<string[]> {
    const ids = await this.#completeIds();
    const aged = ids.map((id) => ({ id, createdAtMs: idTimeMs(id) })).filter((b) => Number.isFinite(b.createdAtMs));
    const doomed = backupsToPrune(aged, this.#now(), this.#keep);
    for (const id of doomed) {
      const manifestKey = `${this.prefix}${id}/manifest.json`;
      const manifest = await this.#bucket
        .get(manifestKey)
        .then((o) => (o ? (o.json() as Promise<BackupManifest>) : null))
        .catch(() => null);
      await this.#bucket.delete([manifestKey]);
      const sdkId = manifest ? sdkBackupId(manifest) : null;
      await this.#bucket.delete([`${this.prefix}${id}/archive.tar.gz`, ...(sdkId ? sdkBackupKeys(sdkId) : [])]);
    }
    return doomed;
  }
}

/** The Sandbox SDK's backup id a manifest names (its handle), when it is one of the SDK's. */
function sdkBackupId(manifest: Pick<BackupManifest, 'handle'>): string | null {
  const id = (manifest.handle as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id) ? id : null;
}
