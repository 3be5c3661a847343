/**
 * Page views per address in a fixed window. Each page view of the demo registers a client, which
 * costs ~3.2 KB of heap until it connects or its handshakeTimeout passes; a bot that fetches `/`
 * in a loop without running the page would otherwise hold as many as it can fetch.
 */
export interface PageLimiter {
  /** Counts a page view from `address`; `false` once the address is over its limit for this window. */
  hit(address: string): boolean;
  /** Seconds until `address` may load a page again. */
  retryAfter(address: string): number;
}

export function createPageLimiter(options: {
  limit: number;
  window: number;
  /** Addresses remembered at most; the oldest window goes first. @default 10000 */
  maxAddresses?: number;
  now?: () => number;
}): PageLimiter {
  const { limit, window } = options;
  const maxAddresses = options.maxAddresses ?? 10_000;
  const now = options.now ?? Date.now;
  const windows = new Map<string, { start: number; count: number }>();
  return {
    hit(address) {
      const at = now();
      let entry = windows.get(address);
      if (!entry || at - entry.start >= window) {
        windows.delete(address);
        entry = { start: at, count: 0 };
        windows.set(address, entry);
        // entries are kept in the order their windows started: the first ones are the oldest
        while (windows.size > maxAddresses) windows.delete(windows.keys().next().value!);
      }
      entry.count += 1;
      return entry.count <= limit;
    },
    retryAfter(address) {
      const entry = windows.get(address);
      return entry ? Math.max(1, Math.ceil((entry.start + window - now()) / 1000)) : 0;
    },
  };
}
