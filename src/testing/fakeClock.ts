import type { Clock } from '../core/clock.js';

/**
 * A clock that moves only when told to: the timers the supervisor arms on it (deadlines,
 * passivation, prune ticks, hook timeouts) fire when the test moves time past them, never on
 * their own. The same shape as XState's `SimulatedClock`, plus `now()` for the supervisor's
 * `now` option.
 */
export interface FakeClock extends Clock {
  /** The current time (ms). */
  now(): number;
  /** When the earliest pending timer is due, if any. */
  nextAt(): number | undefined;
  /** How many timers are pending. */
  pending(): number;
  /**
   * Moves the time to `at` without firing anything (time never goes back: an earlier `at` is
   * ignored). Timers that fell due meanwhile fire at the next {@link FakeClock.fireNext}.
   */
  set(at: number): void;
  /**
   * Fires the earliest timer due at or before `until`, moving the time to its due time first if
   * that is later than now (a late timer fires at the current time). Returns `false` if none is due.
   */
  fireNext(until: number): boolean;
}

interface Timer {
  at: number;
  /** Order of arming: timers due at the same time fire in the order they were armed. */
  seq: number;
  fn: () => void;
}

/** A {@link FakeClock} starting at `start` (ms). */
export function createFakeClock(start = 0): FakeClock {
  let time = start;
  let seq = 0;
  const timers = new Map<number, Timer>();

  function earliest(): [number, Timer] | undefined {
    let found: [number, Timer] | undefined;
    // a supervisor keeps a handful of timers (one host timer, a prune ticker, one per running
    // hook): a scan is cheaper than keeping a heap in order
    for (const entry of timers) {
      const [, timer] = entry;
      if (found === undefined || timer.at < found[1].at || (timer.at === found[1].at && timer.seq < found[1].seq)) {
        found = entry;
      }
    }
    return found;
  }

  return {
    now: () => time,
    setTimeout(fn, ms) {
      seq += 1;
      timers.set(seq, { at: time + Math.max(0, ms), seq, fn });
      return seq;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    nextAt: () => earliest()?.[1].at,
    pending: () => timers.size,
    set(at) {
      if (at > time) time = at;
    },
    fireNext(until) {
      const next = earliest();
      if (next === undefined || next[1].at > until) return false;
      const [handle, timer] = next;
      timers.delete(handle);
      if (timer.at > time) time = timer.at;
      timer.fn();
      return true;
    },
  };
}
