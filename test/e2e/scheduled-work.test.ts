/**
 * Sleep that waits for running work, and wakes for scheduled work, with the
 * real OpenClaw in the local mode: a background command that outlasts
 * sleepAfter finishes (and is kept) before the assistant sleeps; a job the
 * agent schedules through its own automations tool, due after the assistant
 * fell asleep, runs on time and the assistant sleeps again; a hibernated
 * assistant never wakes for one.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { post, startLocalStack, until, type LocalStack } from '../../scripts/lib/local-stack.ts';
import { automationJob, chatTurn, createJobThroughAgent, readStatus, settledIn, waitForStatus, wakeToReady } from '../support/stack-client.ts';

/**
 * When to schedule a job so that the assistant is asleep well before it is
 * woken for it: the wake comes SCHEDULED_WAKE_LEAD ahead (auto: the last boot
 * × 1.5 + 10 s), so the margin is derived from the boot this machine just did
 * (a busy machine boots slower); so is the time left for the chat turn that
 * creates the job and the idle sleep after it: a minute, or twice the boot on
 * a machine slow enough to boot in more than 30 s.
 */
async function runAtAfterLead(url: string): Promise<number> {
  const bootMs = await lastBootMs(url);
  return Date.now() + Math.round(bootMs * 1.5 + 10_000) + Math.max(60_000, 2 * bootMs);
}

/** How long this machine's last finished boot took (a minute when it has none). */
async function lastBootMs(url: string): Promise<number> {
  return (await readStatus(url)).lastBoot?.totalMs ?? 60_000;
}

describe('scheduled work with the real OpenClaw (local mode)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({
      LOCAL_GATEWAY: 'openclaw',
      SLEEP_AFTER: '8s',
      QUIET_AFTER: '2s',
      HEALTH_INTERVAL: '2s',
      BACKUP_INTERVAL: '10m',
      CHANGE_CHECK_INTERVAL: '10m',
    });
  }, 120_000);
  afterEach((context) => {
    if (context.task.result?.state === 'fail') console.log(stack.output().slice(-8000));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('should keep a background command that outlasts sleepAfter running until it finished, then sleep with its output kept', async () => {
    await wakeToReady(stack.url);
    const mark = `long-${Date.now()}`;
    const started = Date.now();
    // OpenClaw backgrounds a command after a few seconds: the chat turn ends, the command goes on.
    const answer = await chatTurn(stack.url, `[[exec: sleep 30; echo ${mark} > $OPENCLAW_STATE_DIR/workspace/long-run.txt; echo done]]`);
    expect(answer).toMatch(/still running/i);
    const waiting = await waitForStatus(stack.url, (s) => s.phase === 'waiting-for-work', 'waiting for work', 60_000);
    expect(waiting.state).toBe('idle');
    expect(waiting.work?.blockers.map((b) => b.kind)).toContain('background-exec');
    const asleep = await waitForStatus(stack.url, settledIn('sleeping'), 'asleep after the command', 120_000);
    expect(Date.parse(asleep.since) - started).toBeGreaterThan(30_000);
    expect(asleep.history.at(-1)).toMatchObject({ from: 'idle', to: 'sleeping', reason: 'idle for sleepAfter' });
    await wakeToReady(stack.url);
    expect(await chatTurn(stack.url, '[[exec: cat $OPENCLAW_STATE_DIR/workspace/long-run.txt]]')).toBe(`Tool output: ${mark}`);
  }, 300_000);

  it('should wake for a job the agent scheduled while it slept, run it on time, and sleep again', async () => {
    const s0 = await readStatus(stack.url);
    if (s0.state !== 'ready' && s0.state !== 'idle') await wakeToReady(stack.url);
    const bootMs = await lastBootMs(stack.url);
    const runAtMs = await runAtAfterLead(stack.url);
    const job = automationJob('e2e scheduled marker', runAtMs, '[[exec: date +%s > $OPENCLAW_STATE_DIR/workspace/cron-ran.txt && echo cron-ran]]');
    expect(await chatTurn(stack.url, createJobThroughAgent(job))).toContain('e2e scheduled marker');
    const asleep = await waitForStatus(
      stack.url,
      (s) => settledIn('sleeping')(s) && s.schedule.next !== null,
      'asleep with a scheduled wake',
      runAtMs - Date.now(),
    );
    expect(asleep.schedule.next?.jobName).toBe('e2e scheduled marker');
    expect(Math.abs(asleep.schedule.next!.runAtMs - runAtMs)).toBeLessThan(1_000);
    expect(asleep.schedule.next!.wakeAtMs).toBeLessThan(asleep.schedule.next!.runAtMs);
    expect(asleep.schedule.next!.wakeAtMs).toBeGreaterThan(Date.now());
    // It wakes by itself, a lead time ahead, for the job...
    const woken = await waitForStatus(
      stack.url,
      (s) => s.history.some((h) => h.event === 'schedule.due' && Date.parse(h.at) > Date.parse(asleep.since)),
      'woken for the job',
      runAtMs - Date.now() + 60_000,
    );
    const wake = woken.history.find((h) => h.event === 'schedule.due' && Date.parse(h.at) > Date.parse(asleep.since))!;
    expect(wake.reason).toContain('scheduled wake: job "e2e scheduled marker"');
    expect(Date.parse(wake.at)).toBeLessThan(runAtMs);
    // ...and once the gateway says the run finished, goes back to sleep by itself: after the job's time, the run, the
    // quiet time and the stop (drain, backup) get three minutes, or three boots' time on a machine that boots in over a minute.
    const again = await waitForStatus(
      stack.url,
      (s) => settledIn('sleeping')(s) && Date.parse(s.since) > Date.parse(wake.at),
      'asleep again after the run',
      Math.max(0, runAtMs - Date.now()) + Math.max(180_000, 3 * bootMs),
    );
    expect(again.schedule.lastRun).toMatchObject({ jobName: 'e2e scheduled marker', status: 'ok' });
    expect(Date.parse(again.schedule.lastRun!.at)).toBeGreaterThanOrEqual(runAtMs - 1_000);
    // Its result is there at the next wake: the job ran at its time, not at this wake.
    await wakeToReady(stack.url);
    const ranAt = Number((await chatTurn(stack.url, '[[exec: cat $OPENCLAW_STATE_DIR/workspace/cron-ran.txt]]')).replace('Tool output: ', '')) * 1000;
    expect(ranAt).toBeGreaterThanOrEqual(runAtMs - 1_000);
    expect(ranAt).toBeLessThan(Date.parse(again.since));
  }, 900_000);

  it('should not wake a hibernated assistant for a job', async () => {
    const s0 = await readStatus(stack.url);
    if (s0.state !== 'ready' && s0.state !== 'idle') await wakeToReady(stack.url);
    const runAtMs = await runAtAfterLead(stack.url);
    await chatTurn(
      stack.url,
      createJobThroughAgent(
        automationJob('e2e skipped while hibernated', runAtMs, '[[exec: echo skipped-job-ran > $OPENCLAW_STATE_DIR/workspace/skipped.txt]]'),
      ),
    );
    const asleep = await waitForStatus(
      stack.url,
      (s) => settledIn('sleeping')(s) && s.schedule.next?.jobName === 'e2e skipped while hibernated',
      'asleep with the job ahead',
      runAtMs - Date.now(),
    );
    // The wake the job would have had: the alarm was set for it.
    const wakeAtMs = asleep.schedule.next!.wakeAtMs;
    expect(wakeAtMs).toBeGreaterThan(Date.now());
    await post(`${stack.url}/api/hibernate`, { reason: 'e2e: no wakes while hibernated' });
    const hibernated = await waitForStatus(stack.url, settledIn('hibernated'), 'hibernated', 60_000);
    expect(hibernated.schedule.next).toBeNull();
    // Past that wake (an alarm fires at its time; 15 s for a busy machine), nothing happened.
    await until(async () => (Date.now() > wakeAtMs + 15_000 ? true : undefined), wakeAtMs - Date.now() + 60_000, 'past the wake the job had', 1_000);
    const after = await readStatus(stack.url);
    expect(after.state).toBe('hibernated');
    expect(after.history.filter((h) => Date.parse(h.at) > Date.parse(hibernated.since))).toEqual([]);
  }, 480_000);
});
