// `npm run simulate`: one month (November 2026, minute by minute) of usage
// profiles, priced with src/cost, with and without the cost guard (cron every
// 15 minutes, projection, budget policy: the same modules the Worker runs).
// Checks that with the guard the spend never passes the hard line by more than
// one cron interval's burn. Profiles with scheduled jobs also show the wakes
// they add and the container hours those wakes cost.
// SIMULATE_TYPE: the instance type (default: the one wrangler.jsonc deploys).
import { readFileSync } from 'node:fs';
import { budget, CRON_MIN, JOB_SETS, profiles, simulate, SLEEP_AFTER_MIN } from './simulation.mjs';
import { parsePricing, relayCost } from '../src/cost/pricing.ts';

const configured = /"INSTANCE_TYPE":\s*"([a-z0-9-]+)"/.exec(readFileSync(new URL('../wrangler.jsonc', import.meta.url), 'utf8'))?.[1];
const TYPE = process.env.SIMULATE_TYPE ?? configured ?? 'standard-2';
const runs = [
  ...Object.entries(profiles).map(([name, wants]) => ({ name, wants, jobs: [] })),
  ...Object.entries(JOB_SETS).flatMap(([jobsName, jobs]) =>
    ['dormant', 'low (3×/week, 1 h)'].map((base) => ({ name: `${base.split(' ')[0]} + ${jobsName}`, wants: profiles[base], jobs, base })),
  ),
];

console.log(`one month, ${TYPE}, sleepAfter ${SLEEP_AFTER_MIN} min, cron every ${CRON_MIN} min, soft $${budget.softUsd}, hard $${budget.hardUsd}\n`);
console.log('profile                                        running h   no guard   guarded   hibernated   scheduled wakes (h), no guard → guarded');
let ok = true;
for (const { name, wants, jobs } of runs) {
  const free = simulate(wants, false, TYPE, jobs);
  const guarded = simulate(wants, true, TYPE, jobs);
  const within = guarded.cost <= budget.hardUsd + guarded.burnPerInterval;
  ok &&= within;
  const when = guarded.hibernatedAt === null ? '-' : `day ${(guarded.hibernatedAt / 1440 + 1).toFixed(1)}`;
  const wakes = jobs.length
    ? `${free.scheduledWakes} (${free.scheduledHours.toFixed(1)} h) → ${guarded.scheduledWakes} (${guarded.scheduledHours.toFixed(1)} h)${guarded.thinned ? `, ${guarded.thinned} thinned` : ''}`
    : '';
  console.log(
    `${name.padEnd(46)} ${guarded.hours.toFixed(1).padStart(9)}   $${free.cost.toFixed(2).padStart(6)}   $${guarded.cost.toFixed(2).padStart(6)}   ${when.padEnd(10)}   ${wakes}${within ? '' : '   OVER THE HARD LINE'}`,
  );
}
// A Discord bot adds the relay, held all month whatever the messages (their wakes are the chat profiles' above).
const month = 30 * 24 * 3600;
const relay = relayCost(month);
const relayAlone = relayCost(month, parsePricing(JSON.stringify({ durableObjects: { includedGbSeconds: 0, includedRequests: 0 } })));
console.log(
  `\na Discord bot's relay, held all month: ${relay.gbSeconds.toLocaleString('en')} GB-s, ${relay.requests.toLocaleString('en')} requests: $${relay.usd.toFixed(2)} within the included amounts; $${relayAlone.usd.toFixed(2)} if other Durable Objects used them up`,
);
console.log(
  `\nguarded spend ≤ hard line + one cron interval's burn ($${simulate(() => false, true, TYPE).burnPerInterval.toFixed(4)}) for every profile: ${ok ? 'yes' : 'NO'}`,
);
process.exit(ok ? 0 : 1);
