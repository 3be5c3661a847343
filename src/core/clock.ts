/**
 * The timers the supervisor arms (deadlines, passivation, prune ticks, hook timeouts): the host's
 * by default, a fake one in the testing kit. The same shape as XState's `Clock`, so its
 * `SimulatedClock` fits.
 */
export interface Clock {
  /** Calls `fn` once after `ms`; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer `setTimeout` armed (a handle of a fired or cancelled timer is ignored). */
  clearTimeout(handle: unknown): void;
}

/** The host's timers, read at each call so fake timers installed later are honoured. */
export const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
