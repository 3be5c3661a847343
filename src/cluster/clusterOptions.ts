import { resolveOptions, type SupervisorOptions } from '../core/options.js';
import type { ClusterHooks } from './clusterTypes.js';
import type { NodeRedisClient } from './connection.js';
import type { RedisClusterStoreOptions } from './options.js';
import { invalid } from './options.js';

/**
 * Options of {@link createClusterSupervisor}: the single-node ones (same names, same defaults
 * unless said here) and the cluster's. Timeouts are cluster-wide: every node must use the same.
 */
export interface ClusterSupervisorOptions<TData = unknown, TSocket = unknown>
  extends Omit<SupervisorOptions<TData, TSocket>, 'hooks' | 'maxClients' | 'maxTombstones'> {
  /** A Redis URL, or a connected node-redis 6 client you own (create it with `clusterClientOptions`). */
  redis: string | NodeRedisClient;
  /** Unique per process. @default `hostname-pid-random` */
  nodeId?: string;
  /** Every key lives under the hash tag `{keyPrefix}`. @default 'sup' */
  keyPrefix?: string;
  /** A node without a heartbeat this long is declared dead by the others. @default 10000 (ms) */
  nodeTtl?: number;
  /** @default 2000 (ms) */
  heartbeatInterval?: number;
  /**
   * In cluster mode the sweep is what deletes clients whose deadline passed (deadlines live in
   * Redis, every node sweeps them), so it runs often: a client is deleted within this long after
   * its deadline. `0`: this node never sweeps (another must).
   * @default 1000 (ms)
   */
  pruneInterval?: number;
  /** See `RedisClusterStoreOptions.outageGap`. @default 3 × heartbeatInterval */
  outageGap?: number;
  /** A Redis command unanswered this long is `UNAVAILABLE` (it may still have run). @default 2000 (ms) */
  commandTimeout?: number;
  /** Clients or deletions per sweep, reap and leave call. @default 500 */
  batchSize?: number;
  /** The hooks, each with a third argument `{ fence, deletionId?, redelivered? }`. */
  hooks?: ClusterHooks<TData, TSocket>;
}

const CLUSTER_ONLY = [
  'redis',
  'nodeId',
  'keyPrefix',
  'nodeTtl',
  'heartbeatInterval',
  'outageGap',
  'commandTimeout',
  'batchSize',
] as const;

/** Splits and validates the options: the core's (checked by the core's own rules), the store's, the cluster's. */
export function splitClusterOptions<TData>(options: ClusterSupervisorOptions<TData>) {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  for (const refused of ['maxClients', 'maxTombstones'] as const) {
    if ((options as unknown as Record<string, unknown>)[refused] !== undefined) {
      throw invalid(`option \`${refused}\` is not supported in cluster mode`);
    }
  }
  const core: Record<string, unknown> = {};
  const storeOptions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if ((CLUSTER_ONLY as readonly string[]).includes(key)) storeOptions[key] = value;
    else core[key] = value;
  }
  const pruneInterval = options.pruneInterval ?? 1000;
  // the core validates its own options (names the culprit, refuses unknown ones); its timers for
  // deadlines and prunes stay off: Redis holds the deadlines, the cluster sweeps them
  const resolvedCore = resolveOptions({ ...core, pruneInterval: 0 } as SupervisorOptions<TData>);
  if (!Number.isSafeInteger(pruneInterval) || pruneInterval < 0) {
    throw invalid('option `pruneInterval` must be an integer ≥ 0');
  }
  const store: RedisClusterStoreOptions = {
    ...(storeOptions as unknown as RedisClusterStoreOptions),
    handshakeTimeout: resolvedCore.handshakeTimeout,
    reconnectTimeout: resolvedCore.reconnectTimeout,
    // Redis keeps a tombstone at least 1 ms; 0 (keep none) is the closest it can do
    tombstoneTtl: Math.max(1, resolvedCore.tombstoneTtl),
    logger: resolvedCore.logger,
  };
  if (store.redis === undefined) throw invalid('option `redis` (a URL or a connected node-redis client) is required');
  return { core: { ...core, pruneInterval: 0 } as SupervisorOptions<TData>, store, pruneInterval };
}
