// One month (November 2026, minute by minute) of usage profiles, priced with
// src/cost, with and without the cost guard (cron every 15 minutes,
// projection, budget policy: the same modules the Worker runs). Used by
// `npm run simulate` and by the bench (a month's cost per instance type).
import { decideBudget } from '../src/cost/budget-policy.ts';
import { DEFAULT_PRICING, monthCost, usageFromSeconds } from '../src/cost/pricing.ts';
import { projectMonth } from '../src/cost/projection.ts';

const START = Date.UTC(2026, 10, 1);
const MINUTES = 30 * 24 * 60;
export const CRON_MIN = 15;
const BOOT_MIN = 1;
export const SLEEP_AFTER_MIN = 20;
export const budget = { softUsd: 15, hardUsd: 20, stepUsd: 1, stepMs: 5 * 60_000, floorMs: 5 * 60_000 };

const minuteOf = (m) => new Date(START + m * 60_000);
/** A day's messages, minute of the day (UTC): morning to late evening, hours apart. */
const TELEGRAM_DAY = new Set([7 * 60 + 45, 9 * 60 + 10, 11 * 60 + 30, 13 * 60 + 5, 15 * 60 + 40, 18 * 60 + 20, 20 * 60 + 15, 22 * 60 + 50]);
/** Three short conversations a day: five messages two minutes apart. */
const TELEGRAM_CHATS = [8 * 60, 13 * 60, 21 * 60];
export const profiles = {
  dormant: () => false,
  'low (3×/week, 1 h)': (m) => {
    const d = minuteOf(m);
    const day = d.getUTCDay();
    const minOfDay = d.getUTCHours() * 60 + d.getUTCMinutes();
    const session = day === 1 || day === 4 ? minOfDay >= 20 * 60 && minOfDay < 21 * 60 : day === 6 ? minOfDay >= 10 * 60 && minOfDay < 11 * 60 : false;
    return session && m % 2 === 0;
  },
  'medium (weekdays 2 h)': (m) => {
    const d = minuteOf(m);
    const day = d.getUTCDay();
    const minOfDay = d.getUTCHours() * 60 + d.getUTCMinutes();
    return day >= 1 && day <= 5 && minOfDay >= 9 * 60 && minOfDay < 11 * 60 && m % 2 === 0;
  },
  // Chat messages (Telegram, through the inbox): each one to a sleeping assistant wakes it, and it sleeps SLEEP_AFTER after the last.
  'telegram (8 messages a day, spread)': (m) => TELEGRAM_DAY.has(m % 1440),
  'telegram (3 chats a day, 5 messages each)': (m) => TELEGRAM_CHATS.some((start) => m % 1440 >= start && m % 1440 < start + 10 && m % 2 === 0),
  '24/7': (m) => m % 5 === 0,
  'hostile (wake every minute)': () => true,
};

/** Scheduled jobs for the profiles that have them: a daily one at 07:00 and an hourly one at :30 (UTC). */
export const JOB_SETS = {
  'a daily and an hourly job': [
    { name: 'daily 07:00', due: (m) => m % 1440 === 7 * 60 },
    { name: 'hourly :30', due: (m) => m % 60 === 30 },
  ],
  // What OpenClaw's system jobs would cost if they woke the assistant (SCHEDULED_WAKES=all, their stock settings on).
  'the stock heartbeat (every 30 min)': [{ name: 'heartbeat', due: (m) => m % 30 === 0 }],
  // Frequent enough to pass the soft line: the guard thins the wakes to one per 4 h.
  'a job every 10 minutes': [{ name: 'every 10 min', due: (m) => m % 10 === 3 }],
  // Far past the hard line: the projection (which includes the wakes to come) hibernates it on day 1.
  'a job every 5 minutes': [{ name: 'every 5 min', due: (m) => m % 5 === 2 }],
  'daily dreaming + weekly skill review': [
    { name: 'dreaming 03:00', due: (m) => m % 1440 === 3 * 60 },
    { name: 'skill review, Sundays 04:00', due: (m) => m % (7 * 1440) === 4 * 60 },
  ],
};
/** A scheduled wake: up LEAD minutes ahead of the job (the boot), the run, then a minute to drain, back up and stop. */
const LEAD_MIN = 1;
const RUN_MIN = 1;
const STOP_MIN = 1;
const SOFT_GAP_MIN = 4 * 60;

/**
 * One month of `wantsRequest` (minute → a request?) on `type`, with or
 * without the guard. `jobs`: scheduled jobs that wake a sleeping assistant
 * (as SCHEDULED_WAKES=jobs does): a job due while it runs anyway costs
 * nothing extra; over the soft line wakes come at most once per 4 h (what is
 * due meanwhile runs at the next wake); hibernated, none.
 */
export function simulate(wantsRequest, guarded, type = 'standard-1', jobs = []) {
  const TYPE = type;
  let running = false;
  let level = 'ok';
  let scheduledUntil = -1;
  let lastScheduledWake = -Infinity;
  let scheduledWakes = 0;
  let scheduledMinutes = 0;
  let thinned = 0;
  let bootLeft = 0;
  let lastActivity = -Infinity;
  let sleepAfter = SLEEP_AFTER_MIN;
  let hibernated = false;
  const runningMinutes = new Uint8Array(MINUTES);
  const scheduledUp = new Uint8Array(MINUTES);
  // Job runs still to come from each minute on (the guard projects them, as the Worker does from the jobs' schedules).
  const runsFrom = new Uint32Array(MINUTES + 1);
  for (let m = MINUTES - 1; m >= 0; m--) runsFrom[m] = runsFrom[m + 1] + (jobs.some((job) => job.due(m)) ? 1 : 0);
  let maxOverHard = -Infinity;
  let hibernatedAt = null;
  // What one cron interval of running costs once the included amounts are used up.
  const full = MINUTES * 60;
  const burnPerInterval =
    monthCost(usageFromSeconds({ [TYPE]: full })).containersUsd - monthCost(usageFromSeconds({ [TYPE]: full - CRON_MIN * 60 })).containersUsd;
  for (let m = 0; m < MINUTES; m++) {
    if (wantsRequest(m) && !hibernated) {
      if (!running) {
        running = true;
        bootLeft = BOOT_MIN;
      }
      lastActivity = m;
    }
    if (running && bootLeft <= 0 && m - lastActivity >= sleepAfter) running = false;
    // A job due LEAD minutes from now wakes a sleeping assistant now (the guard may thin or cancel it).
    if (!running && !hibernated && m >= scheduledUntil && jobs.some((job) => job.due(m + LEAD_MIN))) {
      if (level === 'soft' && m - lastScheduledWake < SOFT_GAP_MIN) thinned++;
      else {
        scheduledUntil = m + LEAD_MIN + RUN_MIN + STOP_MIN;
        lastScheduledWake = m;
        scheduledWakes++;
      }
    }
    const upForJob = !running && m < scheduledUntil;
    if (running || upForJob) {
      runningMinutes[m] = 1;
      if (upForJob) {
        scheduledMinutes++;
        scheduledUp[m] = 1;
      }
      bootLeft--;
    }
    if (guarded && m % CRON_MIN === CRON_MIN - 1) {
      const nowMs = START + (m + 1) * 60_000;
      const mtdSeconds = runningMinutes.subarray(0, m + 1).reduce((a, b) => a + b, 0) * 60;
      const recentFrom = Math.max(0, m + 1 - 24 * 60);
      // The recent rate leaves out scheduled wakes; the ones still to come are added from the schedule (thinned over the soft line).
      const recentSeconds =
        (runningMinutes.subarray(recentFrom, m + 1).reduce((a, b) => a + b, 0) - scheduledUp.subarray(recentFrom, m + 1).reduce((a, b) => a + b, 0)) * 60;
      const runsLeft = level === 'soft' ? Math.min(runsFrom[m + 1], Math.ceil((MINUTES - m) / SOFT_GAP_MIN)) : runsFrom[m + 1];
      const upcoming = usageFromSeconds({ [TYPE]: runsLeft * (LEAD_MIN + RUN_MIN + STOP_MIN) * 60 });
      const p = projectMonth(
        usageFromSeconds({ [TYPE]: mtdSeconds }),
        usageFromSeconds({ [TYPE]: recentSeconds }),
        Math.min(24, (m + 1) / 60),
        nowMs,
        DEFAULT_PRICING,
        hibernated ? undefined : upcoming,
      );
      const decision = decideBudget(p, SLEEP_AFTER_MIN * 60_000, budget);
      sleepAfter = decision.sleepAfterMs / 60_000;
      level = decision.level;
      if (decision.hibernate && !hibernated) {
        hibernated = true;
        running = false;
        scheduledUntil = -1;
        hibernatedAt = m;
      }
      maxOverHard = Math.max(maxOverHard, monthCost(usageFromSeconds({ [TYPE]: mtdSeconds })).totalUsd - budget.hardUsd);
    }
  }
  const seconds = runningMinutes.reduce((a, b) => a + b, 0) * 60;
  return {
    cost: monthCost(usageFromSeconds({ [TYPE]: seconds })).totalUsd,
    hours: seconds / 3600,
    hibernatedAt,
    maxOverHard,
    burnPerInterval,
    scheduledWakes,
    scheduledHours: scheduledMinutes / 60,
    thinned,
  };
}
