// `npm run soak`: the persistence soak, long — SOAK_CYCLES (default 100)
// wake → write → go away cycles against `npm start`'s stack with the stand-in
// gateway, each cycle ending in an idle sleep, a SIGKILL (the home stays), or
// a SIGKILL after BACKUP_DEBOUNCE that also loses the home (drawn from
// SOAK_SEED, default 1). Prints "N/N cycles, 0 lost" and exits 1 on any loss.
import { startLocalStack } from './lib/local-stack.ts';
import { runSoak, SOAK_STACK_ENV } from '../test/support/soak.ts';

const cycles = Number(process.env.SOAK_CYCLES ?? 100);
const seed = Number(process.env.SOAK_SEED ?? 1);
const stack = await startLocalStack(SOAK_STACK_ENV);
const started = Date.now();
try {
  const result = await runSoak(stack, cycles, { seed, log: (line) => console.log(line) });
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  console.log(
    `\nsoak: ${result.cycles}/${cycles} cycles, ${result.lost.length} lost (${result.endings.sleep} idle sleeps, ${result.endings.kill} kills keeping the home, ${result.endings['kill-and-lose-disk']} kills losing it), ${minutes} min, seed ${seed}`,
  );
  if (result.lost.length) {
    console.log(result.lost.join('\n'));
    process.exitCode = 1;
  }
} finally {
  await stack.stop();
}
