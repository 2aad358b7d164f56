/**
 * The boot effect (the machine's `bootRuntime` actor): restore the newest
 * intact backup into a runtime that is not running, start it with this
 * boot's environment, and probe it until it is ready, failed or gone,
 * reporting each phase back to the machine.
 */
import type { BootInput, LifecycleEvent } from '../../../machines/lifecycle-types.ts';
import type { CdpPassthrough } from '../../browser/cdp-passthrough.ts';
import { errorMessage, isLifecycleErrorCode, type LifecycleErrorCode } from '../../contract/error-codes.ts';
import type { RuntimeProbe } from '../../runtime/runtime.ts';
import type { BootTimeline } from '../records/boot-timeline.ts';
import type { EffectContext } from '../effect-context.ts';
import { RestoreFailure, type StateKeeper } from '../records/state-keeper.ts';

export interface BootLoopParts {
  keeper: StateKeeper;
  boots: BootTimeline;
  browser: CdpPassthrough | null;
  /** The start script reported the browser it set up (local mode). */
  onBrowserReported: (browser: { mode: string; detail: string }) => void;
}

/** Starts one boot attempt; returns its cancel function (the machine left `booting.starting`). */
export function startBootLoop(ctx: EffectContext, parts: BootLoopParts, input: BootInput, sendBack: (event: LifecycleEvent) => void): () => void {
  let cancelled = false;
  const { runtime, config, containerEnv } = ctx.deps;
  const sleep = ctx.deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  parts.boots.begin(input.attempt, ctx.now());
  void (async () => {
    // A runtime that is not running starts from the newest intact backup (never from empty state while backups exist).
    const before = await runtime.probe().catch(() => ({ status: 'stopped' as const }));
    if (before.status === 'stopped' || before.status === 'failed') {
      // The container starts once the leftover state was looked at (recover), before the restore proper.
      const provision = async () => {
        await runtime.provision();
        parts.boots.mark('restoring', ctx.now());
        if (!cancelled) sendBack({ type: 'boot.progressed', phase: 'restoring' });
      };
      try {
        const restored = await ctx.activities.during('restoring', () => parts.keeper.restore(provision));
        ctx.log('lifecycle:restore', { result: restored.result, id: restored.id ?? null, ms: restored.ms });
      } catch (error) {
        const failure = error instanceof RestoreFailure ? error : new RestoreFailure('restore_failed', String(error), true);
        ctx.log('lifecycle:restore-failed', { code: failure.code, message: failure.message });
        ctx.persist();
        if (!cancelled) sendBack({ type: 'boot.failed', error: { code: failure.code, message: failure.message }, retryable: failure.retryable });
        return;
      }
      ctx.persist();
    }
    if (cancelled) return;
    parts.boots.mark('starting', ctx.now());
    // The agent's browser (production): this boot's own secret in the CDP URL the gateway is given.
    const browserEnv: Record<string, string> = parts.browser ? { BROWSER_CDP_URL: (await parts.browser.newBootSecret()).url } : {};
    if (cancelled) return;
    try {
      await runtime.start({ agentId: config.agentName, attempt: input.attempt, env: { ...containerEnv, ...browserEnv } });
    } catch (error) {
      if (!cancelled) sendBack({ type: 'boot.failed', error: asError('runtime_start_failed', error), retryable: true });
      return;
    }
    let phase = '';
    while (!cancelled) {
      const probe = await runtime.probe().catch((error): RuntimeProbe => {
        ctx.log('lifecycle:probe-failed', { message: errorMessage(error) });
        return { status: 'starting', phase: phase || 'launching' };
      });
      if (cancelled) return;
      if (probe.status === 'ready') {
        parts.boots.finish(ctx.now());
        return sendBack({ type: 'boot.succeeded' });
      }
      if (probe.status === 'failed') return sendBack({ type: 'boot.failed', error: probe.error, retryable: probe.retryable });
      if (probe.status === 'stopped') return sendBack({ type: 'container.exited', exitCode: probe.exitCode, reason: probe.reason });
      for (const [name, at] of Object.entries(probe.timeline ?? {})) parts.boots.mark(name, at);
      if (probe.browser) parts.onBrowserReported(probe.browser);
      if (probe.phase !== phase) {
        phase = probe.phase;
        sendBack({ type: 'boot.progressed', phase });
      }
      await sleep(config.bootPollMs);
    }
  })();
  return () => {
    cancelled = true;
  };
}

/** An error as the machine records it: the thrown error's own code when it has one. */
function asError(code: LifecycleErrorCode, error: unknown): { code: LifecycleErrorCode; message: string } {
  const ownCode = (error as { code?: unknown })?.code;
  return { code: isLifecycleErrorCode(ownCode) ? ownCode : code, message: errorMessage(error) };
}
