import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { SupervisorError } from '../core/errors.js';
import { isId } from '../core/ids.js';
import { type ClusterLogger, type NodeRedisClient, silentClusterLogger } from './connection.js';

/**
 * Options of {@link RedisClusterStore}. The timeouts are cluster-wide settings: every node must
 * use the same values (the scripts apply them to any node's clients).
 */
export interface RedisClusterStoreOptions {
  /**
   * A Redis URL (the store creates, configures and closes its own connection), or a connected
   * node-redis 6 client the application owns (create it with {@link clusterClientOptions}).
   */
  redis: string | NodeRedisClient;
  /** Unique per process: letters, digits, `.`, `_`, `-`. @default `hostname-pid-random` */
  nodeId?: string;
  /** Every key is under the hash tag `{keyPrefix}`. @default 'sup' */
  keyPrefix?: string;
  /** @default 60000 */
  handshakeTimeout?: number;
  /** @default 3000 */
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
  /** @default a logger that drops everything */
  logger?: ClusterLogger;
}

/** A store's options with every default filled in. */
export type ResolvedStoreOptions = Required<Omit<RedisClusterStoreOptions, 'redis'>>;

/** The defaults of {@link RedisClusterStoreOptions}, in one place. */
export const defaultClusterStoreOptions = {
  keyPrefix: 'sup',
  handshakeTimeout: 60_000,
  reconnectTimeout: 3_000,
  tombstoneTtl: 60_000,
  nodeTtl: 10_000,
  heartbeatInterval: 2_000,
  commandTimeout: 2_000,
  batchSize: 500,
  logger: silentClusterLogger,
} as const;

const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const PREFIX = /^[A-Za-z0-9._-]{1,32}$/;
const PRINTABLE = /^[\x21-\x7e][\x20-\x7e]{0,63}$/;

export function invalid(message: string): SupervisorError {
  return new SupervisorError('INVALID_ARGUMENT', `socket.io-supervisor/cluster: ${message}`);
}

export function defaultNodeId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9.-]/g, '-')
      .slice(0, 40) || 'node';
  return `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function nonNegative(name: string, value: number, min = 0): void {
  if (!Number.isSafeInteger(value) || value < min) throw invalid(`option \`${name}\` must be an integer ≥ ${min}`);
}

export function resolveStoreOptions(options: RedisClusterStoreOptions): ResolvedStoreOptions {
  const heartbeatInterval = options.heartbeatInterval ?? defaultClusterStoreOptions.heartbeatInterval;
  const merged: ResolvedStoreOptions = {
    ...defaultClusterStoreOptions,
    nodeId: defaultNodeId(),
    outageGap: 3 * heartbeatInterval,
    ...Object.fromEntries(Object.entries(options).filter(([key, value]) => key !== 'redis' && value !== undefined)),
  };
  if (!NODE_ID.test(merged.nodeId)) throw invalid('option `nodeId` must be 1-64 letters, digits, `.`, `_` or `-`');
  if (!PREFIX.test(merged.keyPrefix)) throw invalid('option `keyPrefix` must be 1-32 letters, digits, `.`, `_` or `-`');
  nonNegative('handshakeTimeout', merged.handshakeTimeout);
  nonNegative('reconnectTimeout', merged.reconnectTimeout);
  nonNegative('tombstoneTtl', merged.tombstoneTtl, 1);
  nonNegative('nodeTtl', merged.nodeTtl, 1);
  nonNegative('heartbeatInterval', merged.heartbeatInterval, 1);
  nonNegative('outageGap', merged.outageGap, 1);
  nonNegative('commandTimeout', merged.commandTimeout, 1);
  nonNegative('batchSize', merged.batchSize, 1);
  if (merged.heartbeatInterval >= merged.nodeTtl) throw invalid('`heartbeatInterval` must be shorter than `nodeTtl`');
  const { logger } = merged;
  if (typeof logger?.debug !== 'function' || typeof logger.warn !== 'function') {
    throw invalid('option `logger` must have debug() and warn()');
  }
  return merged;
}

export function checkId(name: string, value: unknown): string {
  if (!isId(value)) throw invalid(`\`${name}\` must be base64url, 1-64 chars`);
  return value;
}

export function checkText(name: string, value: unknown): string {
  if (typeof value !== 'string' || !PRINTABLE.test(value)) {
    throw invalid(`\`${name}\` must be 1-64 printable characters`);
  }
  return value;
}
