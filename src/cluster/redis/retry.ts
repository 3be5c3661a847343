import { isSupervisorError } from '../../core/errors.js';

/** Whether `error` is the Redis layer's `UNAVAILABLE`: Redis could not be reached, or did not answer in time. */
export function isUnavailable(error: unknown): boolean {
  return isSupervisorError(error) && error.code === 'UNAVAILABLE';
}

/** A timer that never keeps the process alive on its own. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The delays of {@link backoff}: the first one and the most any one may be. */
export interface BackoffRange {
  /** @default 100 (ms) */
  first?: number;
  /** @default 1000 (ms) */
  max?: number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry): doubling from `first` up to
 * `max`, with jitter. Half of it is fixed and half random ("equal jitter"), so nodes that lost
 * Redis at the same moment do not come back in step, yet none retries sooner than half the delay.
 */
export function backoff(attempt: number, { first = 100, max = 1000 }: BackoffRange = {}): number {
  const ceiling = Math.min(first * 2 ** Math.min(attempt, 30), max);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** When {@link retry} stops: a limit left out does not apply. */
export interface RetryOptions extends BackoffRange {
  /** Stop after this many calls in all. */
  attempts?: number;
  /** Stop once the next wait would end later than this many ms after the first call. */
  within?: number;
  /** Checked after each unanswered call: stop once it returns false. */
  while?: () => boolean;
  /** Told of each unanswered call (the call may still have run in Redis). */
  onUnavailable?: (error: unknown) => void;
}

/**
 * Calls `call` until Redis answers it, waiting {@link backoff} between calls, for as long as the
 * limits allow; then rejects with the last `UNAVAILABLE`. Any other error rejects at once. The one
 * retry loop of cluster mode: only for calls that are safe to repeat (every script but `claim`,
 * each with the same ids on every attempt), since one that timed out may have run and its repeat
 * then answers `replay`.
 */
export async function retry<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      options.onUnavailable?.(error);
      const delay = backoff(attempt, options);
      const spent = options.attempts !== undefined && attempt + 1 >= options.attempts;
      const late = options.within !== undefined && Date.now() + delay - started > options.within;
      if (spent || late || (options.while !== undefined && !options.while())) throw error;
      await sleep(delay);
    }
  }
}
