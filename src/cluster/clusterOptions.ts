import { bindLogger, LIB } from '../core/bindLogger.js';
import {
  checkDuration,
  defaultOptions,
  type ResolvedOptions,
  resolveOptions,
  type SupervisorOptions,
} from '../core/options.js';
import type { ClusterHooks } from './clusterHooks.js';
import type { NodeRedisClient } from './redis/connection.js';
import {
  defaultClusterOptions,
  type RedisClusterStoreOptions,
  type ResolvedStoreOptions,
  resolveStoreOptions,
} from './redis/storeOptions.js';

/**
 * Options of `createClusterSupervisor()`: the single-node ones (same names, same defaults unless
 * said here) and the cluster's, whose defaults are `defaultClusterOptions`. Timeouts are
 * cluster-wide: every node must use the same. A bad value is a `TypeError` naming it, as on a
 * single node.
 */
export interface ClusterSupervisorOptions<TData = unknown, TSocket = unknown>
  extends Omit<SupervisorOptions<TData, TSocket>, 'hooks' | 'maxClients' | 'maxTombstones'> {
  /**
   * A Redis URL, or a connected node-redis 6 client you own: `createClient()`, `createCluster()`
   * or `createSentinel()`, made with `clusterClientOptions` (see docs/cluster.md, "Running on
   * Redis Cluster / Sentinel").
   */
  redis: string | NodeRedisClient;
  /** Unique per process. @default `hostname-pid-random` */
  nodeId?: string;
  /** Every key lives under the hash tag `{keyPrefix}` (or `{keyPrefix:p<i>}`, see `partitions`). @default 'sup' */
  keyPrefix?: string;
  /**
   * How many partitions the clients are spread over (key layout 3 above 1; see docs/partitions.md):
   * on a Redis Cluster, at least 10 × the number of shards, e.g. 256. Fixed once written: every node
   * of a cluster must use the same number (a join with another is refused `KEY_LAYOUT_MISMATCH`).
   * @default 1 (every key under one hash tag: key layout 2)
   */
  partitions?: number;
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
  /**
   * When no node has ticked (heartbeat, sweep, reap) for this long, the next tick treats the gap
   * as an outage: every live node's heartbeat and every due deadline get a fresh start.
   * @default 3 × heartbeatInterval
   */
  outageGap?: number;
  /** A Redis command unanswered this long is `UNAVAILABLE` (it may still have run). @default 2000 (ms) */
  commandTimeout?: number;
  /** Clients or deletions per sweep, reap and leave call. @default 500 */
  batchSize?: number;
  /** The hooks, each with a third argument `{ fence, deletionId?, redelivered? }`. */
  hooks?: ClusterHooks<TData, TSocket>;
}

/** The options that are the cluster's own (the Redis layer's), not the single node's. */
const CLUSTER_ONLY = new Set<string>([
  'redis',
  'nodeId',
  'keyPrefix',
  'partitions',
  'nodeTtl',
  'heartbeatInterval',
  'outageGap',
  'commandTimeout',
  'batchSize',
]);

/** The options of a node, validated and split by who reads them. */
export interface ResolvedClusterOptions<TData> {
  /** The core's, as given (it resolves them): its prune timer off (Redis holds the deadlines, the node sweeps them). */
  core: SupervisorOptions<TData>;
  /** The core's, resolved (what the node reads of them). */
  resolvedCore: ResolvedOptions<TData, unknown>;
  /** The Redis layer's. */
  store: RedisClusterStoreOptions & ResolvedStoreOptions;
  /** How often this node sweeps. */
  pruneInterval: number;
  /** The user's hooks (the node wraps them). */
  hooks: ClusterHooks<TData>;
}

function option(message: string): TypeError {
  return new TypeError(`socket.io-supervisor/cluster: ${message}`);
}

/**
 * Validates every option as the single node does (the core's own rules name the culprit and
 * refuse unknown ones) and splits them: the core's, the store's, the node's.
 */
export function resolveClusterOptions<TData>(options: ClusterSupervisorOptions<TData>): ResolvedClusterOptions<TData> {
  if (typeof options !== 'object' || options === null) throw option('options must be an object');
  for (const refused of ['maxClients', 'maxTombstones'] as const) {
    if ((options as unknown as Record<string, unknown>)[refused] !== undefined) {
      throw option(`option \`${refused}\` is not supported in cluster mode`);
    }
  }
  const coreGiven: Record<string, unknown> = {};
  const storeGiven: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) (CLUSTER_ONLY.has(key) ? storeGiven : coreGiven)[key] = value;
  const pruneInterval = options.pruneInterval ?? defaultClusterOptions.pruneInterval;
  checkDuration('pruneInterval', pruneInterval, { allowZero: true });
  const coreOptions = { ...coreGiven, pruneInterval: 0 } as SupervisorOptions<TData>;
  const core = resolveOptions(coreOptions) as ResolvedOptions<TData, unknown>;
  const { redis } = options;
  if (typeof redis !== 'string' && typeof redis?.sendCommand !== 'function') {
    throw option('option `redis` (a URL or a connected node-redis client) is required');
  }
  const store = {
    redis,
    ...resolveStoreOptions({
      ...(storeGiven as Partial<RedisClusterStoreOptions>),
      redis,
      handshakeTimeout: core.handshakeTimeout,
      reconnectTimeout: core.reconnectTimeout,
      // Redis keeps a tombstone at least 1 ms; 0 (keep none) is the closest it can do
      tombstoneTtl: Math.max(1, core.tombstoneTtl),
      logger: core.logger,
    }),
  };
  // every line of this node, the core's included, names it: bound once here (the core keeps it)
  const logger = bindLogger(options.logger ?? defaultOptions.logger, { lib: LIB, nodeId: store.nodeId });
  store.logger = logger;
  core.logger = logger;
  coreOptions.logger = logger;
  return {
    core: coreOptions,
    resolvedCore: core,
    store,
    pruneInterval,
    hooks: (options.hooks ?? {}) as ClusterHooks<TData>,
  };
}
