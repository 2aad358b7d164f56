// The persistence part of `npm run bench`: what the short loss window costs.
// The real OpenClaw in the local mode, awake for BENCH_ACTIVE_MINUTES
// (default 6) at the plan's low-use pace (a chat turn that writes a file
// every 2 minutes, as `npm run simulate` has it), with the default
// BACKUP_DEBOUNCE and CHANGE_CHECK_INTERVAL: how many backups upload per
// active hour. Then the R2 operations one upload and one wake cost, counted
// on the real BackupStore, and a month at the low-use profile (3 one-hour
// sessions a week) priced with src/cost.
import { BackupStore } from '../src/backup/backup-store.ts';
import { parseDuration } from '../src/config.ts';
import { r2MonthCost } from '../src/cost/pricing.ts';
import { post, startLocalStack, until } from './lib/local-stack.ts';

const ACTIVE_MINUTES = Number(process.env.BENCH_ACTIVE_MINUTES ?? 6);
const TURN_EVERY_MS = 2 * 60_000;
/** The low-use profile: 3 one-hour sessions a week, a 30-day month. */
const SESSIONS_PER_MONTH = (3 * 30) / 7;
const KEEP = 10;
// The Sandbox SDK's own operations (production), from its createBackup/restoreBackup:
// a presigned PUT of the archive, a HEAD to check its size, a PUT of its metadata;
// at restore a GET of the metadata, a HEAD and the archive's GET.
const SDK_OPS = { upload: { classA: 2, classB: 1 }, restore: { classA: 0, classB: 3 } };

/** An in-memory bucket that counts R2 operations by class (writes and lists: A; reads: B; deletes are free). */
function countingBucket() {
  const objects = new Map();
  const ops = { classA: 0, classB: 0 };
  const object = (key) => {
    const bytes = objects.get(key);
    return { key, size: bytes.length, body: new Response(bytes).body, json: async () => JSON.parse(new TextDecoder().decode(bytes)) };
  };
  return {
    ops,
    async put(key, value) {
      ops.classA += 1;
      objects.set(key, new Uint8Array(await new Response(value).arrayBuffer()));
      return { key };
    },
    async get(key) {
      ops.classB += 1;
      return objects.has(key) ? object(key) : null;
    },
    async head(key) {
      ops.classB += 1;
      return objects.has(key) ? { key, size: objects.get(key).length } : null;
    },
    async list({ prefix }) {
      ops.classA += 1;
      return {
        objects: [...objects.keys()]
          .filter((k) => k.startsWith(prefix))
          .sort()
          .map((key) => ({ key })),
        truncated: false,
      };
    },
    async delete(keys) {
      for (const key of [keys].flat()) objects.delete(key);
    },
  };
}

/** R2 operations of one upload (archive through the Worker, as the local mode and BACKUP_TRANSFER=binding do) and of one restore's listing, with KEEP backups stored. */
async function opsPerBackup() {
  const bucket = countingBucket();
  const store = new BackupStore(bucket, 'bench', KEEP);
  const manifest = (i) => ({
    id: store.newId(Date.UTC(2026, 10, 1) + i * 1000),
    agent: 'bench',
    createdAt: new Date().toISOString(),
    reason: 'bench',
    runtime: 'local',
    fingerprint: `f${i}`,
    sha256: '',
    size: 4,
    files: 1,
  });
  for (let i = 0; i < KEEP + 2; i++) await store.save(manifest(i), null);
  let before = { ...bucket.ops };
  const bytes = new TextEncoder().encode('data');
  const sha = Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex');
  await store.save({ ...manifest(99), sha256: sha }, new Response(bytes).body);
  const upload = { classA: bucket.ops.classA - before.classA, classB: bucket.ops.classB - before.classB };
  before = { ...bucket.ops };
  const [newest] = await store.list();
  await (await store.openArchive(newest))?.cancel();
  const restore = { classA: bucket.ops.classA - before.classA, classB: bucket.ops.classB - before.classB };
  return { upload, restore };
}

async function status(url) {
  return (await fetch(`${url}/api/status`)).json();
}

async function chat(url, content) {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openclaw', user: 'bench', messages: [{ role: 'user', content }] }),
  });
  return (await r.json()).choices?.[0]?.message.content;
}

export async function benchPersistence() {
  const debounceMs = parseDuration('BACKUP_DEBOUNCE', undefined, 30_000);
  console.log(
    `\npersistence — the real OpenClaw awake ${ACTIVE_MINUTES} min, a turn writing a file every 2 min, default BACKUP_DEBOUNCE and CHANGE_CHECK_INTERVAL`,
  );
  const stack = await startLocalStack({ LOCAL_GATEWAY: 'openclaw', SLEEP_AFTER: '2h', QUIET_AFTER: '1h' });
  let uploads = 0;
  let unchanged = 0;
  let checks = 0;
  try {
    await post(`${stack.url}/api/wake`);
    await until(async () => ((await status(stack.url)).state === 'ready' ? true : undefined), 180_000, 'ready');
    const startedAt = stack.output().length;
    const end = Date.now() + ACTIVE_MINUTES * 60_000;
    for (let turn = 0; Date.now() < end; turn++) {
      const next = Date.now() + TURN_EVERY_MS;
      const answer = await chat(stack.url, `[[exec: echo turn-${turn} >> "$OPENCLAW_STATE_DIR/workspace/bench.txt" && echo ok]]`);
      if (answer !== 'Tool output: ok') throw new Error(`turn ${turn}: ${answer}`);
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(next, end) - Date.now())));
    }
    const lines = stack.output().slice(startedAt).split('\n');
    for (const line of lines) {
      if (line.includes('"event":"lifecycle:backup"') && line.includes('"result":"ok"')) uploads += 1;
      if (line.includes('"event":"lifecycle:backup"') && line.includes('"result":"unchanged"')) unchanged += 1;
      if (line.includes('"timer":"changeCheck"')) checks += 1;
    }
  } finally {
    await stack.stop();
  }
  const perHour = (uploads * 60) / ACTIVE_MINUTES;
  const { upload, restore } = await opsPerBackup();
  const local = { classA: upload.classA, classB: upload.classB };
  // Production (BACKUP_TRANSFER=presigned): the SDK uploads the archive, the Worker stores the manifest and prunes.
  const production = { classA: upload.classA - 1 + SDK_OPS.upload.classA, classB: upload.classB + SDK_OPS.upload.classB };
  const wakeOps = { classA: restore.classA + SDK_OPS.restore.classA, classB: restore.classB + SDK_OPS.restore.classB };
  const month = {
    classA: SESSIONS_PER_MONTH * (perHour * production.classA + wakeOps.classA),
    classB: SESSIONS_PER_MONTH * (perHour * production.classB + wakeOps.classB),
    storageGbMonth: 0,
  };
  const noFreeTier = r2MonthCost(month, {
    r2: { classAMillionUsd: 4.5, classBMillionUsd: 0.36, storageGbMonthUsd: 0.015, includedClassA: 0, includedClassB: 0, includedStorageGbMonth: 0 },
  });
  console.log(`change checks                   ${checks} in ${ACTIVE_MINUTES} min (no R2 operation: a stat of the home)`);
  console.log(
    `uploads (changed state)         ${uploads} in ${ACTIVE_MINUTES} min → ${perHour.toFixed(0)} per active hour (bound: ${Math.round(3_600_000 / debounceMs)} at BACKUP_DEBOUNCE ${debounceMs / 1000} s); ${unchanged} found nothing new`,
  );
  console.log(
    `R2 ops per upload               local/binding ${local.classA} A + ${local.classB} B; production (SDK presigned) ${production.classA} A + ${production.classB} B`,
  );
  console.log(`R2 ops per wake (restore)       ${wakeOps.classA} A + ${wakeOps.classB} B`);
  console.log(
    `low-use month (${SESSIONS_PER_MONTH.toFixed(1)} active h)   ${Math.round(month.classA)} Class A + ${Math.round(month.classB)} Class B = ${(month.classA / 1e4).toFixed(2)} % / ${(month.classB / 1e5).toFixed(3)} % of the free tier → $${r2MonthCost(month).totalUsd.toFixed(2)} (without the free tier $${noFreeTier.totalUsd.toFixed(4)})`,
  );
  return { perHour, month };
}

if (import.meta.url === `file://${process.argv[1]}`) await benchPersistence();
