// The local mode's Worker: what `wrangler dev --env local` runs, started
// through wrangler's own API (unstable_startWorker, the DevEnv the CLI uses)
// by scripts/local.mjs, because the CLI cannot leave out what every account
// on the machine could use on loopback without a credential:
//
// - the inspector: the CLI always starts workerd's (`--inspector-addr`) and
//   its own devtools proxy; either evaluates any code in the Worker (its
//   secrets included). Here: `inspector: false`, neither is started;
// - the dev registry, whose workerd debug port reaches every entrypoint
//   (the Durable Object's included) bypassing the Worker: not used;
// - the local explorer (`/cdn-cgi/local/explorer`, on by default), which
//   reads and writes the R2 backups and the Durable Object's storage without
//   passing the Worker: X_LOCAL_EXPLORER=false.
//
// Options come in OPENCLAW_LOCAL_WRANGLER (JSON: port, persist, envFile,
// vars), never on the command line; the secrets are in envFile (0600).
import { join } from 'node:path';
import { ROOT } from './lib/root.mjs';

process.env.X_LOCAL_EXPLORER = 'false';
const { unstable_startWorker } = await import('wrangler');
const options = JSON.parse(process.env.OPENCLAW_LOCAL_WRANGLER ?? '{}');
delete process.env.OPENCLAW_LOCAL_WRANGLER;

const worker = await unstable_startWorker({
  config: join(ROOT, 'wrangler.jsonc'),
  env: 'local',
  envFiles: [options.envFile],
  bindings: Object.fromEntries(Object.entries(options.vars ?? {}).map(([name, value]) => [name, { type: 'plain_text', value }])),
  dev: {
    server: { hostname: '127.0.0.1', port: options.port },
    inspector: false,
    registry: undefined,
    persist: options.persist,
    remote: false,
    watch: true,
    logLevel: 'log',
  },
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await worker.dispose().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

await worker.ready;
