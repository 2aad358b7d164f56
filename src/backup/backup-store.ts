/**
 * Backups in R2: one folder per backup under `backups/<agent>/<id>/` with the
 * archive (local mode; the Sandbox SDK stores its own squashfs objects) and a
 * manifest written only after the archive is fully stored, so a listed
 * manifest always names a complete backup. Ids sort by time. Older backups
 * beyond `keep` are deleted after a new one is stored; restores never delete.
 */

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

export class BackupStore {
  readonly #bucket: BackupBucket;
  readonly #agent: string;
  readonly #keep: number;

  constructor(bucket: BackupBucket, agent: string, keep: number) {
    this.#bucket = bucket;
    this.#agent = agent;
    this.#keep = keep;
  }

  get prefix(): string {
    return `backups/${this.#agent}/`;
  }

  /** A new id: UTC time to the millisecond plus a random suffix (sorts by time). */
  newId(nowMs: number): string {
    const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace('.', '');
    return `${stamp}-${crypto.randomUUID().slice(0, 8)}`;
  }

  /** Stores the archive (if any), then the manifest; then prunes old backups. */
  async save(manifest: Omit<BackupManifest, 'archiveKey'>, body: ReadableStream | null): Promise<BackupManifest> {
    const archiveKey = body ? `${this.prefix}${manifest.id}/archive.tar.gz` : null;
    if (body && archiveKey) {
      // R2 checks the SHA-256 and refuses a truncated or altered upload.
      await this.#bucket.put(archiveKey, body, { sha256: manifest.sha256, httpMetadata: { contentType: 'application/gzip' } });
    }
    const complete: BackupManifest = { ...manifest, archiveKey };
    await this.#bucket.put(`${this.prefix}${manifest.id}/manifest.json`, JSON.stringify(complete), { httpMetadata: { contentType: 'application/json' } });
    await this.prune();
    return complete;
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
   * Deletes complete backups beyond the newest `keep` (ids sort by time). It
   * lists, and reads no manifest: one Class A operation per save, however
   * many backups are kept (deletes are free).
   */
  async prune(): Promise<number> {
    const old = (await this.#completeIds()).slice(this.#keep);
    for (const id of old) await this.#bucket.delete([`${this.prefix}${id}/manifest.json`, `${this.prefix}${id}/archive.tar.gz`]);
    return old.length;
  }
}
