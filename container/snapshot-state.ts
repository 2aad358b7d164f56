// Inside the container, around the Sandbox backup API (run by the Agent with exec):
//   node /container/snapshot-state.ts snapshot <home> <snapshot-dir> [previous-fingerprint]
//     → prints {"changed":false} or {"changed":true,"fingerprint":…,"files":…}
//   node /container/snapshot-state.ts apply <snapshot-dir> <home>
//     → copies a restored snapshot into the (new, empty) home
import { applySnapshotDir, createSnapshotDir } from './host/state-archive.ts';

const [command, a, b, previous] = process.argv.slice(2);
if (command === 'snapshot' && a && b) {
  const result = await createSnapshotDir(a, b, previous || null);
  console.log(JSON.stringify(result ? { changed: true, ...result } : { changed: false }));
} else if (command === 'apply' && a && b) {
  await applySnapshotDir(a, b);
  console.log(JSON.stringify({ applied: true }));
} else {
  console.error('usage: snapshot-state.ts snapshot <home> <dir> [fingerprint] | apply <dir> <home>');
  process.exit(2);
}
