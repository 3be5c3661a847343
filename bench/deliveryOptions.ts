// The supervisor options of the delivery benches (bench/delivery-server.ts over sockets,
// bench/delivery-alloc.ts in process): no client times out or is pruned during a run, no rate
// limit, and outboxes large enough that no message is refused.
export const DELIVERY_BENCH_OPTIONS = {
  reconnectTimeout: 600_000,
  handshakeTimeout: 600_000,
  pruneInterval: 0,
  rateLimit: false,
  outbox: { maxMessages: 1_000_000, maxBytes: 1_000_000_000 },
} as const;
