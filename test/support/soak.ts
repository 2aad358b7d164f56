/**
 * The persistence soak: wake → write → go away, again and again, and count
 * what the next wake does not have. How each cycle goes away is drawn from a
 * seeded sequence: an idle sleep (the backup before it), a SIGKILL that
 * leaves the home (recovered at the next boot), or a SIGKILL after
 * BACKUP_DEBOUNCE that also loses the home, as a container's disk would be
 * lost (the debounced backup has it).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentStatus } from '../../src/agent/agent-status.ts';
import { keepAwake, killRuntime, post, until, type LocalStack } from '../../scripts/lib/local-stack.ts';

export type Ending = 'sleep' | 'kill' | 'kill-and-lose-disk';

export interface SoakResult {
  cycles: number;
  lost: string[];
  endings: Record<Ending, number>;
}

/** Settings the soak's stack needs (short idle time, quick change checks). */
export const SOAK_STACK_ENV = {
  LOCAL_GATEWAY: 'echo',
  SLEEP_AFTER: '2s',
  QUIET_AFTER: '1s',
  HEALTH_INTERVAL: '1s',
  BACKUP_DEBOUNCE: '1s',
  CHANGE_CHECK_INTERVAL: '1s',
  BACKUP_INTERVAL: '10m',
};
const DEBOUNCE_MS = 1_000;

async function status(stack: LocalStack): Promise<AgentStatus> {
  return (await (await fetch(`${stack.url}/api/status`)).json()) as AgentStatus;
}

/** A small deterministic sequence (mulberry32), so a failing soak can be run again the same way. */
function sequence(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function runSoak(stack: LocalStack, cycles: number, options: { seed?: number; log?: (line: string) => void } = {}): Promise<SoakResult> {
  const home = join(stack.stateDir, 'agents', 'default', 'home');
  const random = sequence(options.seed ?? 1);
  const lost: string[] = [];
  const endings: Record<Ending, number> = { sleep: 0, kill: 0, 'kill-and-lose-disk': 0 };
  const waitFor = (check: (s: AgentStatus) => boolean, what: string, ms = 60_000) =>
    until(async () => ((await check(await status(stack))) ? true : undefined), ms, what, 100);
  for (let cycle = 0; cycle < cycles; cycle++) {
    await post(`${stack.url}/api/wake`);
    await waitFor((s) => s.state === 'ready' && s.stopping === null, `ready ${cycle}`);
    for (let earlier = 0; earlier < cycle; earlier++) {
      const file = join(home, 'data', `file-${earlier}.txt`);
      if (!existsSync(file) || readFileSync(file, 'utf8') !== `cycle ${earlier}\n`.repeat(earlier + 1)) lost.push(`cycle ${cycle}: file-${earlier}`);
    }
    mkdirSync(join(home, 'data'), { recursive: true });
    writeFileSync(join(home, 'data', `file-${cycle}.txt`), `cycle ${cycle}\n`.repeat(cycle + 1));
    const draw = random();
    const ending: Ending = draw < 0.6 ? 'sleep' : draw < 0.8 ? 'kill' : 'kill-and-lose-disk';
    endings[ending] += 1;
    if (ending === 'sleep') {
      await waitFor((s) => s.state === 'sleeping' && s.stopping === null, `auto-sleep ${cycle}`, 30_000);
    } else {
      // Awake past the debounce: the change check sees the write, the backup follows within BACKUP_DEBOUNCE.
      if (ending === 'kill-and-lose-disk') await keepAwake(stack, DEBOUNCE_MS + 3_000);
      killRuntime(home);
      // The health check notices the dead runtime (stopped), unless the idle sleep came first (sleeping).
      await waitFor((s) => (s.state === 'stopped' || s.state === 'sleeping') && s.stopping === null, `stopped after the kill ${cycle}`, 30_000);
      if (ending === 'kill-and-lose-disk') rmSync(home, { recursive: true, force: true });
    }
    options.log?.(`cycle ${cycle + 1}/${cycles}: ${ending}${lost.length ? `, lost so far: ${lost.length}` : ''}`);
  }
  await post(`${stack.url}/api/wake`);
  await waitFor((s) => s.state === 'ready' && s.stopping === null, 'ready at the end');
  const files = existsSync(join(home, 'data')) ? readdirSync(join(home, 'data')) : [];
  for (let c = 0; c < cycles; c++) if (!files.includes(`file-${c}.txt`)) lost.push(`end: file-${c}`);
  return { cycles, lost: [...new Set(lost)], endings };
}
