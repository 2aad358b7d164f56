/**
 * Sleep that waits for running work, and wakes for scheduled work, on the
 * production path: the real `Agent` (Sandbox) and OpenClaw in a container
 * from the Dockerfile. A background command that outlasts SLEEP_AFTER is
 * finished (and kept) before the container stops; a job the agent schedules
 * through its automations tool wakes the sleeping assistant in time, runs,
 * and the container stops again; a hibernated assistant skips a job.
 */
import { describe, expect, inject, it } from 'vitest';
import { until } from '../../scripts/lib/local-stack.ts';
import { automationJob, createJobThroughAgent } from '../support/stack-client.ts';
import { chat, command, ensureAwake, settled, status, waitFor } from './twin-client.ts';
import { TWIN_VARS } from './twin-vars.ts';

const SLEEP_AFTER_MS = Number.parseInt(TWIN_VARS.SLEEP_AFTER, 10) * 1000;

describe.skipIf(inject('twinSkipped') !== '')('production twin: sleep that waits for work, wakes for scheduled work', () => {
  it('should keep a background command that outlasts SLEEP_AFTER running until it finished, then stop with its output kept', async () => {
    await ensureAwake();
    const mark = `twin-long-${Date.now()}`;
    const started = Date.now();
    const seconds = Math.round(SLEEP_AFTER_MS / 1000) + 20;
    expect(await chat(`[[exec: sleep ${seconds}; echo ${mark} > $OPENCLAW_STATE_DIR/workspace/long-run.txt; echo done]]`)).toMatch(/still running/i);
    const waiting = await waitFor((s) => s.phase === 'waiting-for-work', 'waiting for the command', SLEEP_AFTER_MS + 60_000);
    expect(waiting.work?.blockers.map((b) => b.kind)).toContain('background-exec');
    const asleep = await waitFor(settled('sleeping'), 'asleep after the command', seconds * 1000 + 120_000);
    expect(Date.parse(asleep.since) - started).toBeGreaterThan(seconds * 1000);
    expect(asleep.lastStop).toMatchObject({ target: 'sleeping', drained: true });
    await ensureAwake();
    expect(await chat('[[exec: cat $OPENCLAW_STATE_DIR/workspace/long-run.txt]]')).toBe(`Tool output: ${mark}`);
  }, 600_000);

  it('should wake the container for a job the agent scheduled while it slept, run it on time, stop again — and skip one while hibernated', async () => {
    await ensureAwake();
    // The wake comes SCHEDULED_WAKE_LEAD ahead (auto: the last boot × 1.5 + 10 s): margins from the boot just measured.
    // The time left to create the job and sleep before that wake: a minute, or twice the boot on a slower machine.
    const leadMs = async () => {
      const bootMs = (await status()).lastBoot?.totalMs ?? 60_000;
      return Math.round(bootMs * 1.5 + 10_000) + Math.max(60_000, 2 * bootMs);
    };
    // Asleep by command (the idle sleep is the test above's): the job falls due a lead time and a margin later.
    const runAtMs = Date.now() + (await leadMs());
    const job = automationJob('twin scheduled marker', runAtMs, '[[exec: date +%s > $OPENCLAW_STATE_DIR/workspace/cron-ran.txt && echo cron-ran]]');
    expect(await chat(createJobThroughAgent(job))).toContain('twin scheduled marker');
    expect((await command('sleep')).status).toBe(202);
    const asleep = await waitFor((s) => settled('sleeping')(s) && s.schedule.next !== null, 'asleep with a scheduled wake', runAtMs - Date.now());
    expect(asleep.schedule.next?.jobName).toBe('twin scheduled marker');
    expect(asleep.schedule.next!.wakeAtMs).toBeLessThan(runAtMs);
    const woken = await waitFor(
      (s) => s.history.some((h) => h.event === 'schedule.due' && Date.parse(h.at) > Date.parse(asleep.since)),
      'woken for the job',
      runAtMs - Date.now() + 120_000,
    );
    const wake = woken.history.find((h) => h.event === 'schedule.due' && Date.parse(h.at) > Date.parse(asleep.since))!;
    expect(Date.parse(wake.at)).toBeLessThan(runAtMs);
    const again = await waitFor((s) => settled('sleeping')(s) && Date.parse(s.since) > Date.parse(wake.at), 'asleep again after the run', 240_000);
    expect(again.schedule.lastRun).toMatchObject({ jobName: 'twin scheduled marker', status: 'ok' });
    expect(Date.parse(again.schedule.lastRun!.at)).toBeGreaterThanOrEqual(runAtMs - 1_000);
    // The run's result came back with the restore of the next wake.
    await ensureAwake();
    const ranAt = Number((await chat('[[exec: cat $OPENCLAW_STATE_DIR/workspace/cron-ran.txt]]')).replace('Tool output: ', '')) * 1000;
    expect(ranAt).toBeGreaterThanOrEqual(runAtMs - 1_000);
    expect(ranAt).toBeLessThan(Date.parse(again.since));

    // A job due while hibernated does not wake it.
    const skippedAt = Date.now() + (await leadMs());
    await chat(
      createJobThroughAgent(automationJob('twin skipped while hibernated', skippedAt, '[[exec: echo ran > $OPENCLAW_STATE_DIR/workspace/skipped.txt]]')),
    );
    expect((await command('sleep')).status).toBe(202);
    const ahead = await waitFor((s) => settled('sleeping')(s) && s.schedule.next?.jobName === 'twin skipped while hibernated', 'asleep with the job ahead');
    // The wake the job would have had: the alarm was set for it.
    const wakeAtMs = ahead.schedule.next!.wakeAtMs;
    expect(wakeAtMs).toBeGreaterThan(Date.now());
    expect((await command('hibernate', { reason: 'twin: no wakes while hibernated' })).status).toBe(202);
    const hibernated = await waitFor(settled('hibernated'), 'hibernated');
    expect(hibernated.schedule.next).toBeNull();
    // Past that wake (an alarm fires at its time; 15 s for a busy machine), nothing happened.
    await until(async () => (Date.now() > wakeAtMs + 15_000 ? true : undefined), wakeAtMs - Date.now() + 60_000, 'past the wake the job had', 1_000);
    const after = await status();
    expect(after.state).toBe('hibernated');
    expect(after.history.filter((h) => Date.parse(h.at) > Date.parse(hibernated.since))).toEqual([]);
    expect((await command('resume', { override: true })).status).toBe(200);
  }, 1_200_000);
});
