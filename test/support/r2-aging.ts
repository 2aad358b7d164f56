/**
 * Ages the backups in a local R2 bucket by a number of days, as if that long
 * had passed: the Sandbox SDK's `meta.json` creation times move back, and the
 * bucket's lifecycle rules — read from terraform/r2.tf, as deployed — delete
 * what they would delete by then. The bucket is a running `wrangler dev`'s
 * (miniflare's local explorer API) or the local mode's persisted one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../scripts/lib/local-stack.ts';

// Loaded without its typings: they pull in the DOM lib, which clashes with the Workers types.
const HCL2JSON = '@cdktf/hcl2json';
const { parse } = (await import(HCL2JSON)) as { parse: (file: string, text: string) => Promise<unknown> };

export interface LifecycleRule {
  id: string;
  prefix: string;
  /** Objects older than this are deleted (null: the rule deletes nothing). */
  deleteAfterSeconds: number | null;
}

/** A number, or a `${var.NAME * N}` expression resolved with the variable's default. */
async function terraformNumber(value: unknown): Promise<number | null> {
  if (typeof value === 'number') return value;
  const m = /^\$\{var\.(\w+)\s*\*\s*(\d+)\}$/.exec(String(value));
  if (!m) return null;
  const vars = (await parse('variables.tf', readFileSync(join(ROOT, 'terraform', 'variables.tf'), 'utf8'))) as {
    variable?: Record<string, Array<{ default?: number }>>;
  };
  const fallback = vars.variable?.[m[1] as string]?.[0]?.default;
  return typeof fallback === 'number' ? fallback * Number(m[2]) : null;
}

/** The backup bucket's lifecycle rules as Terraform deploys them. */
export async function terraformLifecycleRules(): Promise<LifecycleRule[]> {
  const tf = (await parse('r2.tf', readFileSync(join(ROOT, 'terraform', 'r2.tf'), 'utf8'))) as {
    resource: { cloudflare_r2_bucket_lifecycle: Record<string, Array<{ rules: Array<Record<string, unknown>> }>> };
  };
  const rules = Object.values(tf.resource.cloudflare_r2_bucket_lifecycle).flatMap((blocks) => blocks.flatMap((b) => b.rules));
  return Promise.all(
    rules
      .filter((r) => r.enabled !== false)
      .map(async (r) => {
        const deletion = (r.delete_objects_transition as { condition?: { type?: string; max_age?: unknown } } | undefined)?.condition;
        return {
          id: String(r.id),
          prefix: String((r.conditions as { prefix?: string } | undefined)?.prefix ?? ''),
          deleteAfterSeconds: deletion?.type === 'Age' ? await terraformNumber(deletion.max_age) : null,
        };
      }),
  );
}

/** The few bucket operations the aging needs. */
export interface AgingBucket {
  keys(): Promise<string[]>;
  read(key: string): Promise<string>;
  write(key: string, text: string): Promise<void>;
  remove(key: string): Promise<void>;
}

/** A bucket of a running `wrangler dev` (the twin's), through miniflare's local explorer API on its port. */
export function explorerBucket(workerUrl: string, bucket: string): AgingBucket {
  const api = `${workerUrl}/cdn-cgi/local/explorer/api/r2/buckets/${bucket}/objects`;
  const object = (key: string) => `${api}/${encodeURIComponent(key)}`;
  const ok = async (r: Response, what: string) => {
    if (!r.ok) throw new Error(`${what}: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
    return r;
  };
  return {
    async keys() {
      const keys: string[] = [];
      let cursor: string | undefined;
      do {
        const r = await ok(await fetch(`${api}?per_page=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`), `listing ${bucket}`);
        const body = (await r.json()) as { result: Array<{ key: string }>; result_info?: { cursor?: string } };
        keys.push(...body.result.map((o) => o.key));
        cursor = body.result_info?.cursor;
      } while (cursor);
      return keys;
    },
    read: async (key) => (await ok(await fetch(object(key)), `reading ${key}`)).text(),
    write: async (key, text) =>
      void (await ok(await fetch(object(key), { method: 'PUT', headers: { 'content-type': 'application/json' }, body: text }), `writing ${key}`)),
    remove: async (key) => void (await ok(await fetch(object(key), { method: 'DELETE' }), `deleting ${key}`)),
  };
}

/**
 * A bucket the local mode persisted (`<state dir>/wrangler`), opened with
 * miniflare while no `npm start` runs on it. Call `dispose` when done.
 */
export async function persistedBucket(persistDir: string, bucket: string): Promise<AgingBucket & { dispose(): Promise<void> }> {
  const { Miniflare, convertV4MiniflareOptions } = await import('miniflare');
  // The options wrangler itself opens its local stores with (its `d1 export`).
  const mf = new Miniflare(
    convertV4MiniflareOptions({ modules: true, script: 'export default {}', r2Buckets: { BUCKET: bucket }, resourcePersistencePath: join(persistDir, 'v3') }),
  );
  const r2 = await mf.getR2Bucket('BUCKET');
  return {
    async keys() {
      const keys: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await r2.list({ ...(cursor ? { cursor } : {}) });
        keys.push(...page.objects.map((o) => o.key));
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return keys;
    },
    read: async (key) => (await r2.get(key))?.text() ?? '',
    write: async (key, text) => void (await r2.put(key, text)),
    remove: (key) => r2.delete(key),
    dispose: () => mf.dispose(),
  };
}

/**
 * Ages the backups in `bucket` by `days`. @returns the keys the lifecycle
 * rules deleted, the SDK metadata objects moved back in time, and how many
 * objects there were.
 */
export async function ageBackups(
  bucket: AgingBucket,
  days: number,
): Promise<{ deleted: string[]; movedBack: string[]; objects: number; rules: LifecycleRule[] }> {
  const rules = await terraformLifecycleRules();
  const keys = await bucket.keys();
  const movedBack: string[] = [];
  for (const key of keys.filter((k) => /^backups\/[0-9a-f-]{36}\/meta\.json$/.test(k))) {
    const meta = JSON.parse(await bucket.read(key)) as { createdAt: string };
    meta.createdAt = new Date(Date.parse(meta.createdAt) - days * 86_400_000).toISOString();
    await bucket.write(key, JSON.stringify(meta));
    movedBack.push(key);
  }
  const deleted: string[] = [];
  for (const rule of rules) {
    if (rule.deleteAfterSeconds === null || rule.deleteAfterSeconds >= days * 86_400) continue;
    for (const key of keys.filter((k) => k.startsWith(rule.prefix) && !deleted.includes(k))) {
      await bucket.remove(key);
      deleted.push(key);
    }
  }
  return { deleted, movedBack, objects: keys.length, rules };
}
