/**
 * The running lifecycle machine of one Agent: the chart with the host's
 * effects provided, started from the stored snapshot when this machine can
 * read it — else fresh, re-entering a hibernation the unreadable snapshot
 * held, so that no hibernation is lost.
 */
import { createActor, fromCallback, fromPromise, type Actor, type InspectionEvent } from 'xstate';
import { lifecycleMachine } from '../../machines/lifecycle.ts';
import type {
  BootInput,
  LifecycleEvent,
  LifecycleSettings,
  ScheduledJob,
  StopInput,
  StopOutput,
  TimerName,
  WorkCheck,
} from '../../machines/lifecycle-types.ts';
import { isReadableSnapshot, wasHibernated, type LifecycleSnapshot } from './agent-record.ts';
import type { Log } from './effect-context.ts';

export type LifecycleActor = Actor<typeof lifecycleMachine>;
export type LifecycleCommand = 'wake' | 'sleep' | 'stop' | 'hibernate' | 'resume';
export type CommandOptions = { reason?: string; by?: string; override?: boolean; identity?: string };

/** The machine's event for an operator command, with its default reason. */
export function commandEvent(name: LifecycleCommand, o: CommandOptions): LifecycleEvent {
  switch (name) {
    case 'wake':
      return { type: 'lifecycle.wake', reason: o.reason ?? 'wake requested' };
    case 'sleep':
      return { type: 'lifecycle.sleep', reason: o.reason ?? 'sleep requested' };
    case 'stop':
      return { type: 'lifecycle.stop', reason: o.reason ?? 'stop requested' };
    case 'hibernate':
      return { type: 'lifecycle.hibernate', reason: o.reason ?? 'hibernated by the operator', by: o.by ?? 'operator' };
    case 'resume':
      return { type: 'lifecycle.resume', reason: o.reason ?? 'resumed by the operator' };
  }
}

/** The effects the chart names, as the host supplies them. */
export interface LifecycleEffects {
  scheduleTimer(timer: TimerName, delayMs: number): void;
  cancelTimer(timer: TimerName): void;
  checkHealth(scheduledRun: ScheduledJob | null): void;
  runBackup(): void;
  checkChanges(): void;
  boot(input: BootInput, sendBack: (event: LifecycleEvent) => void): () => void;
  stop(input: StopInput): Promise<StopOutput>;
  checkWork(since: number | null): Promise<WorkCheck>;
}

export function startLifecycleActor(options: {
  persisted: unknown;
  settings: LifecycleSettings;
  effects: LifecycleEffects;
  /** Every event the actor itself receives (the cause of the next transition). */
  onEvent: (event: { type: string; reason?: unknown }) => void;
  log: Log;
  agent: string;
}): LifecycleActor {
  const { effects } = options;
  const machine = lifecycleMachine.provide({
    actions: {
      scheduleTimer: (_, params) => effects.scheduleTimer(params.timer, params.delayMs),
      cancelTimer: (_, params) => effects.cancelTimer(params.timer),
      checkHealth: ({ context }) => effects.checkHealth(context.scheduledRun),
      runBackup: () => effects.runBackup(),
      checkChanges: () => effects.checkChanges(),
    },
    actors: {
      bootRuntime: fromCallback<LifecycleEvent, BootInput>(({ sendBack, input }) => effects.boot(input, sendBack)),
      stopRuntime: fromPromise<StopOutput, StopInput>(({ input }) => effects.stop(input)),
      checkWork: fromPromise<WorkCheck, { since: number | null }>(({ input }) => effects.checkWork(input.since)),
    },
  });
  let actor: LifecycleActor;
  const inspect = (event: InspectionEvent) => {
    if (event.type === '@xstate.event' && event.actorRef === actor) options.onEvent(event.event as { type: string });
  };
  const { persisted, settings: input } = options;
  if (persisted && isReadableSnapshot(persisted)) {
    actor = createActor(machine, { input, inspect, snapshot: persisted as LifecycleSnapshot });
    actor.start();
    return actor;
  }
  if (persisted) options.log('lifecycle:restore-failed', { agent: options.agent, value: JSON.stringify((persisted as { value?: unknown }).value ?? null) });
  actor = createActor(machine, { input, inspect });
  actor.start();
  if (wasHibernated(persisted)) actor.send({ type: 'lifecycle.hibernate', reason: 'restored after an unreadable snapshot', by: 'system' });
  return actor;
}
