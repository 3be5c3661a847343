import type { AnyActorRef } from 'xstate';
import type { ClientStore } from '../store/clientStore.js';

export interface TimerControlOptions {
  store: ClientStore<unknown>;
  now: () => number;
  /** `passivateAfter` in effect (`false` with an inspector watching). */
  passivateAfter: number | false;
  /** When the next client may be passivated, if any is active. */
  nextPassivation: () => number | undefined;
  /** The host timer actor, while the supervisor is `running`. */
  timer: () => AnyActorRef | undefined;
  /** Passivates the idle clients now (a supervisor step). */
  passivate: () => void;
}

/**
 * Keeps the one host timer armed for the earliest deadline or passivation, and schedules
 * passivation: on that timer, or with `passivateAfter: 0` right after the current synchronous
 * work, when no actor is in the middle of a step.
 */
export function createTimerControl(options: TimerControlOptions) {
  const { store, now, passivateAfter } = options;
  let armedAt: number | null = null;
  let passivationQueued = false;

  /**
   * Arms the host timer for the earliest deadline or passivation. A timer armed for an earlier
   * time is left alone: it fires, finds less due than expected, and re-arms (`fired`) for what is
   * left; re-arming on every change cost a clearTimeout/setTimeout pair per event in a storm.
   */
  function armTimer(fired = false): void {
    if (fired) armedAt = null;
    const deadline = store.deadlines.peekAt();
    const passivation = passivateAfter === 0 ? undefined : options.nextPassivation();
    const next =
      deadline === undefined ? passivation : passivation === undefined ? deadline : Math.min(deadline, passivation);
    if (next === undefined) {
      // nothing left to wait for: leave no timer behind
      if (armedAt !== null || fired) options.timer()?.send({ type: 'timer.arm', delay: null });
      armedAt = null;
      return;
    }
    if (armedAt !== null && armedAt <= next) return;
    armedAt = next;
    // the timer actor is looked up only when it is told something (not on every event)
    options.timer()?.send({ type: 'timer.arm', delay: Math.max(0, next - now()) });
  }

  /** A client became idle. */
  function onIdle(): void {
    if (passivateAfter !== 0) {
      armTimer();
      return;
    }
    // passivateAfter 0: as soon as the current synchronous work is done, when no actor is in
    // the middle of a step (a promise job rather than queueMicrotask, which fake timers replace)
    if (passivationQueued) return;
    passivationQueued = true;
    void Promise.resolve().then(() => {
      passivationQueued = false;
      options.passivate();
    });
  }

  return { armTimer, onIdle };
}
