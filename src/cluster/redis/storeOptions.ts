import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { checkCount, checkDuration, checkLogger, defaultOptions } from '../../core/options.js';
import type { Logger } from '../../core/types.js';
import type { NodeRedisClient } from './connection.js';

/**
 * The defaults of the cluster's own options, in one place (the single-node options keep theirs,
 * `defaultOptions`; `nodeId` defaults to `hostname-pid-random` and `outageGap` to
 * 3 × `heartbeatInterval`). Like `heartbeatInterval`, `pruneInterval` is the node's timer, not the
 * store's: the store runs none.
 */
export const defaultClusterOptions = {
  keyPrefix: 'sup',
  partitions: 1,
  nodeTtl: 10_000,
  heartbeatInterval: 2_000,
  commandTimeout: 2_000,
  batchSize: 500,
  /** In cluster mode the sweep is what deletes clients whose deadline passed, so it runs often. */
  pruneInterval: 1_000,
} as const;

/**
 * Options of the Redis layer (`RedisClusterStore`). The timeouts are cluster-wide settings: every
 * node must use the same values (the scripts apply them to any node's clients). A node made by
 * `createClusterSupervisor()` passes its own options through.
 */
export interface RedisClusterStoreOptions {
  /**
   * A Redis URL (the store creates, configures and closes its own connection), or a connected
   * node-redis 6 client the application owns: `createClient()`, `createCluster()` (a Redis
   * Cluster: commands go to the master of the slot of `{keyPrefix}`) or `createSentinel()`, made
   * with `clusterClientOptions` (for a cluster or sentinel: as its node defaults).
   */
  redis: string | NodeRedisClient;
  /** Unique per process: letters, digits, `.`, `_`, `-`. @default `hostname-pid-random` */
  nodeId?: string;
  /** Every key is under the hash tag `{keyPrefix}` (or `{keyPrefix:p<i>}`, see `partitions`). @default 'sup' */
  keyPrefix?: string;
  /**
   * How many partitions the clients are spread over, each under its own hash tag
   * `{keyPrefix:p<i>}` (key layout 3; node membership stays under `{keyPrefix}`). Above 1 a Redis
   * Cluster spreads the load over its shards: take at least 10 × the number of shards (256 for up
   * to 25). Fixed once written (a join with another count is refused `KEY_LAYOUT_MISMATCH`).
   * @default 1 (key layout 2: every key under `{keyPrefix}`)
   */
  partitions?: number;
  /** @default 60000 (the single node's) */
  handshakeTimeout?: number;
  /** @default 3000 (the single node's) */
  reconnectTimeout?: number;
  /** How long a deleted client's tombstone answers `CLIENT_DELETED` (at least 1 ms). @default 60000 */
  tombstoneTtl?: number;
  /** A node without a heartbeat this long is declared dead. @default 10000 */
  nodeTtl?: number;
  /** How often each node heartbeats (the caller's timer; used here for `outageGap`). @default 2000 */
  heartbeatInterval?: number;
  /**
   * When no node has ticked (heartbeat, sweep, reap) for this long, the next tick treats the
   * gap as an outage: every live node's heartbeat and every due deadline get a fresh start.
   * Must exceed `heartbeatInterval` with room for a stalled event loop.
   * @default 3 × heartbeatInterval
   */
  outageGap?: number;
  /** A command unanswered this long is `UNAVAILABLE` (it may still run). @default 2000 */
  commandTimeout?: number;
  /** Clients (or deletions) handled per sweep, reap and leave call. @default 500 */
  batchSize?: number;
  /** Where the store logs. @default a logger that drops everything */
  logger?: Logger;
}

/** A store's options with every default filled in. */
export type ResolvedStoreOptions = Required<Omit<RedisClusterStoreOptions, 'redis'>>;

const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const PREFIX = /^[A-Za-z0-9._-]{1,32}$/;

/** `hostname-pid-random`: unique per process, readable in `nodes()` and logs. */
export function defaultNodeId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9.-]/g, '-')
      .slice(0, 40) || 'node';
  return `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function option(message: string): TypeError {
  return new TypeError(`socket.io-supervisor/cluster: option ${message}`);
}

/**
 * Merges `options` over the defaults and validates each one as the single node's options are
 * validated: a bad value is a `TypeError` naming it.
 */
export function resolveStoreOptions(options: RedisClusterStoreOptions): ResolvedStoreOptions {
  const heartbeatInterval = options.heartbeatInterval ?? defaultClusterOptions.heartbeatInterval;
  const given = Object.entries(options).filter(([key, value]) => key !== 'redis' && value !== undefined);
  const { pruneInterval: _node, ...storeDefaults } = defaultClusterOptions;
  const merged: ResolvedStoreOptions = {
    ...storeDefaults,
    handshakeTimeout: defaultOptions.handshakeTimeout,
    reconnectTimeout: defaultOptions.reconnectTimeout,
    tombstoneTtl: defaultOptions.tombstoneTtl,
    logger: defaultOptions.logger,
    nodeId: defaultNodeId(),
    outageGap: 3 * heartbeatInterval,
    ...Object.fromEntries(given),
  };
  if (typeof merged.nodeId !== 'string' || !NODE_ID.test(merged.nodeId)) {
    throw option('`nodeId` must be 1-64 letters, digits, `.`, `_` or `-`');
  }
  if (typeof merged.keyPrefix !== 'string' || !PREFIX.test(merged.keyPrefix)) {
    throw option('`keyPrefix` must be 1-32 letters, digits, `.`, `_` or `-`');
  }
  // a store alone may sweep at once (the tests' expired deadlines); a node's core refuses 0
  checkDuration('handshakeTimeout', merged.handshakeTimeout, { allowZero: true });
  checkDuration('reconnectTimeout', merged.reconnectTimeout, { allowZero: true });
  for (const name of ['tombstoneTtl', 'nodeTtl', 'heartbeatInterval', 'outageGap', 'commandTimeout'] as const) {
    checkDuration(name, merged[name], { allowZero: false });
  }
  if (!Number.isSafeInteger(merged.partitions) || merged.partitions < 1 || merged.partitions > 1024) {
    throw option(`\`partitions\` must be a whole number from 1 to 1024, got ${String(merged.partitions)}`);
  }
  checkCount('batchSize', merged.batchSize);
  if (merged.batchSize < 1 || !Number.isFinite(merged.batchSize)) {
    throw option(`\`batchSize\` must be a whole number >= 1, got ${merged.batchSize}`);
  }
  if (merged.heartbeatInterval >= merged.nodeTtl) {
    throw option('`heartbeatInterval` must be shorter than `nodeTtl`');
  }
  checkLogger(merged.logger);
  return merged;
}
