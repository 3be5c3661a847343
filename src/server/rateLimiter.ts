import type { RateLimit } from '../core/options.js';
import { ExpiryQueue } from '../store/expiryQueue.js';

export type { RateLimit };

/**
 * A fixed-window counter per key (a remote address). Windows are kept in expiry order, so old
 * keys are dropped in O(expired) on each hit without a timer, and at most `maxKeys` keys are
 * kept: a flood from many addresses forgets the oldest windows first instead of growing memory.
 */
export function createRateLimiter(options: RateLimit & { now: () => number; maxKeys?: number }) {
  const { limit, window, now } = options;
  const maxKeys = options.maxKeys ?? 100_000;
  const windows = new ExpiryQueue<{ count: number }>();

  function expire(at: number): void {
    while ((windows.peek()?.at ?? Number.POSITIVE_INFINITY) <= at) windows.shift();
  }

  /** Counts a hit for `key`; `false` when `key` is over its limit in the current window. */
  function hit(key: string): boolean {
    const at = now();
    expire(at);
    const current = windows.get(key);
    if (current) {
      current.value.count += 1;
      return current.value.count <= limit;
    }
    windows.set(key, at + window, { count: 1 });
    if (windows.size > maxKeys) windows.shift();
    return 1 <= limit;
  }

  /** Whether `key` is over its limit now, without counting a hit. */
  function isLimited(key: string): boolean {
    expire(now());
    const current = windows.get(key);
    return current !== undefined && current.value.count >= limit;
  }

  return { hit, isLimited, size: () => windows.size };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
