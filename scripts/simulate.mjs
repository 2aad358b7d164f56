// `npm run simulate`: one month (November 2026, minute by minute) of usage
// profiles, priced with src/cost, with and without the cost guard (cron every
// 15 minutes, projection, budget policy: the same modules the Worker runs).
// Checks that with the guard the spend never passes the hard line by more than
// one cron interval's burn.
import { decideBudget } from '../src/cost/budget-policy.ts';
import { DEFAULT_PRICING, monthCost, usageFromSeconds } from '../src/cost/pricing.ts';
import { projectMonth } from '../src/cost/projection.ts';

const START = Date.UTC(2026, 10, 1);
const MINUTES = 30 * 24 * 60;
const CRON_MIN = 15;
const BOOT_MIN = 1;
const SLEEP_AFTER_MIN = 20;
const TYPE = 'standard-1';
const budget = { softUsd: 15, hardUsd: 20, stepUsd: 1, stepMs: 5 * 60_000, floorMs: 5 * 60_000 };

const minuteOf = (m) => new Date(START + m * 60_000);
const profiles = {
  dormant: () => false,
  'low (3×/week, 1 h)': (m) => {
    const d = minuteOf(m);
    const day = d.getUTCDay();
    const minOfDay = d.getUTCHours() * 60 + d.getUTCMinutes();
    const session = (day === 1 || day === 4) ? minOfDay >= 20 * 60 && minOfDay < 21 * 60 : day === 6 ? minOfDay >= 10 * 60 && minOfDay < 11 * 60 : false;
    return session && m % 2 === 0;
  },
  'medium (weekdays 2 h)': (m) => {
    const d = minuteOf(m);
    const day = d.getUTCDay();
    const minOfDay = d.getUTCHours() * 60 + d.getUTCMinutes();
    return day >= 1 && day <= 5 && minOfDay >= 9 * 60 && minOfDay < 11 * 60 && m % 2 === 0;
  },
  '24/7': (m) => m % 5 === 0,
  'hostile (wake every minute)': () => true,
};

function simulate(wantsRequest, guarded) {
  let running = false;
  let bootLeft = 0;
  let lastActivity = -Infinity;
  let sleepAfter = SLEEP_AFTER_MIN;
  let hibernated = false;
  const runningMinutes = new Uint8Array(MINUTES);
  let maxOverHard = -Infinity;
  let hibernatedAt = null;
  // What one cron interval of running costs once the included amounts are used up.
  const full = MINUTES * 60;
  const burnPerInterval = monthCost(usageFromSeconds({ [TYPE]: full })).containersUsd - monthCost(usageFromSeconds({ [TYPE]: full - CRON_MIN * 60 })).containersUsd;
  for (let m = 0; m < MINUTES; m++) {
    if (wantsRequest(m) && !hibernated) {
      if (!running) {
        running = true;
        bootLeft = BOOT_MIN;
      }
      lastActivity = m;
    }
    if (running && bootLeft <= 0 && m - lastActivity >= sleepAfter) running = false;
    if (running) {
      runningMinutes[m] = 1;
      bootLeft--;
    }
    if (guarded && m % CRON_MIN === CRON_MIN - 1) {
      const nowMs = START + (m + 1) * 60_000;
      const mtdSeconds = runningMinutes.subarray(0, m + 1).reduce((a, b) => a + b, 0) * 60;
      const recentFrom = Math.max(0, m + 1 - 24 * 60);
      const recentSeconds = runningMinutes.subarray(recentFrom, m + 1).reduce((a, b) => a + b, 0) * 60;
      const p = projectMonth(usageFromSeconds({ [TYPE]: mtdSeconds }), usageFromSeconds({ [TYPE]: recentSeconds }), Math.min(24, (m + 1) / 60), nowMs, DEFAULT_PRICING);
      const decision = decideBudget(p.projectedUsd, SLEEP_AFTER_MIN * 60_000, budget);
      sleepAfter = decision.sleepAfterMs / 60_000;
      if (decision.hibernate && !hibernated) {
        hibernated = true;
        running = false;
        hibernatedAt = m;
      }
      maxOverHard = Math.max(maxOverHard, monthCost(usageFromSeconds({ [TYPE]: mtdSeconds })).totalUsd - budget.hardUsd);
    }
  }
  const seconds = runningMinutes.reduce((a, b) => a + b, 0) * 60;
  return { cost: monthCost(usageFromSeconds({ [TYPE]: seconds })).totalUsd, hours: seconds / 3600, hibernatedAt, maxOverHard, burnPerInterval };
}

console.log(`one month, ${TYPE}, sleepAfter ${SLEEP_AFTER_MIN} min, cron every ${CRON_MIN} min, soft $${budget.softUsd}, hard $${budget.hardUsd}\n`);
console.log('profile                       running h   no guard   guarded   hibernated');
let ok = true;
for (const [name, wants] of Object.entries(profiles)) {
  const free = simulate(wants, false);
  const guarded = simulate(wants, true);
  const within = guarded.cost <= budget.hardUsd + guarded.burnPerInterval;
  ok &&= within;
  const when = guarded.hibernatedAt === null ? '-' : `day ${(guarded.hibernatedAt / 1440 + 1).toFixed(1)}`;
  console.log(`${name.padEnd(29)} ${guarded.hours.toFixed(1).padStart(9)}   $${free.cost.toFixed(2).padStart(6)}   $${guarded.cost.toFixed(2).padStart(6)}   ${when}${within ? '' : '   OVER THE HARD LINE'}`);
}
console.log(`\nguarded spend ≤ hard line + one cron interval's burn ($${simulate(() => false, true).burnPerInterval.toFixed(4)}) for every profile: ${ok ? 'yes' : 'NO'}`);
process.exit(ok ? 0 : 1);
