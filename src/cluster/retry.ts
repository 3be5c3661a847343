import { isSupervisorError } from '../core/errors.js';

export function isUnavailable(error: unknown): boolean {
  return isSupervisorError(error) && error.code === 'UNAVAILABLE';
}

/** A timer that never keeps the process alive on its own. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Calls `call` until Redis answers it, backing off from 100 ms to 1 s, while `wanted()` holds.
 * Only for calls that are safe to repeat (every script but `claim`): one that timed out may have
 * run, and the repeat then answers `replay`.
 */
export async function untilAnswered<T>(call: () => Promise<T>, wanted: () => boolean): Promise<T> {
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    try {
      return await call();
    } catch (error) {
      if (!isUnavailable(error) || !wanted()) throw error;
      await sleep(delay);
    }
  }
}
