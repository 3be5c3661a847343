import { SupervisorError } from '../../core/errors.js';
import { backoff } from './retry.js';

/**
 * A pub/sub listener. node-redis types its own as generic over `string | Buffer` in some
 * instantiations (a `duplicate()` of a cluster or sentinel client), which no narrower parameter
 * type accepts; the store's listeners are only ever called with strings.
 */
type Listener = (message: any, channel: any) => void;

/** What every kind of node-redis 6 client offers that this module uses. */
interface NodeRedisCommon {
  /** Connected and ready for commands. */
  readonly isReady: boolean;
  /** Opened (possibly reconnecting). */
  readonly isOpen: boolean;
  /** A new client with the same options (the subscriber connection). */
  duplicate(overrides?: Record<string, unknown>): NodeRedisClient;
  /** Opens the connection. */
  connect(): Promise<unknown>;
  /** Subscribes `listener` to a pub/sub channel (node-redis's own signature). */
  subscribe(channel: string, listener: Listener): Promise<unknown>;
  /** Unsubscribes `listener` from a channel (the channel itself once it has no listener left). */
  unsubscribe(channel: string, listener: Listener): Promise<unknown>;
  /** Subscribes `listener` to a shard channel (`SSUBSCRIBE`, Redis 7; on a cluster, at the channel slot's master). */
  sSubscribe(channel: string, listener: Listener): Promise<unknown>;
  /** Unsubscribes `listener` (every listener, without one) from a shard channel. */
  sUnsubscribe(channel: string, listener?: Listener): Promise<unknown>;
  /** Listens for connection errors (node-redis emits them while it reconnects). */
  on(event: 'error', listener: (error: unknown) => void): unknown;
  /** Stops listening for connection errors. */
  off?(event: 'error', listener: (error: unknown) => void): unknown;
  /** Closes at once, failing what is pending. */
  destroy(): unknown;
  /** Closes after the pending replies. */
  close?(): Promise<unknown>;
}

/** A node-redis 6 `createClient()` client: one Redis. */
export interface NodeRedisSingleClient extends NodeRedisCommon {
  /** Sends one command (`['EVALSHA', ...]`) and resolves with Redis's reply. */
  sendCommand(args: string[]): Promise<unknown>;
}

/**
 * A node-redis 6 `createCluster()` client: a Redis Cluster. Each command goes to the master of
 * its first key's slot, and node-redis follows `MOVED` and `ASK` itself.
 */
export interface NodeRedisClusterClient extends NodeRedisCommon {
  /** Sends one command to the master that owns `firstKey`'s slot (any master without one). */
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  /** The master of a slot (how a cluster client is told from the others). */
  getSlotMaster(slot: number): unknown;
}

/** A node-redis 6 `createSentinel()` client: the master that Redis Sentinel names, followed across failovers. */
export interface NodeRedisSentinelClient extends NodeRedisCommon {
  /** Sends one command to the master (`isReadonly: false`). */
  sendCommand(isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  /** The master's address (how a sentinel client is told from the others). */
  getMasterNode(): unknown;
}

/**
 * The part of a node-redis 6 client this module uses, structurally, so a client from the
 * application's own copy of `redis` fits and node-redis's generic types stay out of ours: a
 * `createClient()`, `createCluster()` or `createSentinel()` client.
 */
export type NodeRedisClient = NodeRedisSingleClient | NodeRedisClusterClient | NodeRedisSentinelClient;

/** Which kind of node-redis client this is. */
export function clientKind(client: NodeRedisClient): 'single' | 'cluster' | 'sentinel' {
  if (typeof (client as Partial<NodeRedisClusterClient>).getSlotMaster === 'function') return 'cluster';
  if (typeof (client as Partial<NodeRedisSentinelClient>).getMasterNode === 'function') return 'sentinel';
  return 'single';
}

/**
 * Which Redis serves a slot: on a Redis Cluster its master as the client last saw it (node-redis's
 * own object for it, the same for every slot of a master), `undefined` when the client does not
 * know yet; one Redis otherwise (`'one'`). What groups a cross-slot script's keys.
 */
export function serverOfSlot(client: NodeRedisClient, slot: number): unknown {
  if (clientKind(client) !== 'cluster') return 'one';
  try {
    return (client as NodeRedisClusterClient).getSlotMaster(slot) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * How one command reaches Redis, whatever the kind of client: `key` routes it on a Redis Cluster
 * (every key of a script shares its slot; without one, a cluster client sends `SCRIPT LOAD` to
 * every master). Always to a master: a replica's answer could be older than the last write.
 */
export type CommandSender = (args: string[], key: string | undefined) => Promise<unknown>;

/** The {@link CommandSender} of a client. */
export function commandSender(client: NodeRedisClient): CommandSender {
  switch (clientKind(client)) {
    case 'cluster':
      return (args, key) => (client as NodeRedisClusterClient).sendCommand(key, false, args);
    case 'sentinel':
      return (args) => (client as NodeRedisSentinelClient).sendCommand(false, args);
    default:
      return (args) => (client as NodeRedisSingleClient).sendCommand(args);
  }
}

/**
 * The node-redis options cluster mode needs, for a client the application creates itself.
 *
 * - `disableOfflineQueue: true`: while the connection is down a command fails at once (the
 *   handshake is refused `UNAVAILABLE`, retryable) instead of waiting in a queue to run minutes
 *   later, when nobody is waiting for its answer any more.
 * - node-redis never resends a command it has written: when the connection drops, the commands
 *   waiting for a reply are rejected (ioredis resends them by default, and a resent claim would
 *   raise a fence twice). Reconnecting is left on: it only re-opens the socket.
 * - `commandOptions.timeout`: how long a command may wait to be written. node-redis stops
 *   timing a command once it is written, so the store adds its own deadline (`commandTimeout`).
 * - `maintNotifications: 'disabled'`: no Redis Enterprise handshake on each connect.
 *
 * For `createCluster()` pass them without `url` as `defaults`, for `createSentinel()` as
 * `nodeClientOptions`, beside your own (`username`, `password`, `socket.tls`, ...).
 */
export function clusterClientOptions(
  url: string,
  commandTimeout: number,
): {
  url: string;
  disableOfflineQueue: boolean;
  maintNotifications: 'disabled';
  commandOptions: { timeout: number };
  socket: {
    connectTimeout: number;
    /** The wait before reconnect attempt `retries` (ms): backoff with jitter, up to 1 s. */
    reconnectStrategy: (retries: number) => number;
  };
} {
  return {
    url,
    disableOfflineQueue: true,
    maintNotifications: 'disabled',
    commandOptions: { timeout: commandTimeout },
    socket: {
      connectTimeout: commandTimeout,
      // back off (with jitter) to at most 1 s between attempts, forever: an outage ends when Redis returns
      reconnectStrategy: (retries: number) => backoff(retries, { first: 50, max: 1000 }),
    },
  };
}

/** node-redis errors (by class name, so any copy of the package is recognised) that mean "Redis is not reachable now". */
const UNREACHABLE = new Set([
  'ClientClosedError',
  'ClientOfflineError',
  'SocketClosedUnexpectedlyError',
  'ConnectionTimeoutError',
  'SocketTimeoutError',
  'DisconnectsClientError',
  'ReconnectStrategyError',
  'TimeoutError',
  // a cluster client gave up following MOVED/ASK (a slot moving again and again): the command did not run
  'MaxCommandRedirectionsError',
]);

/** Error replies for which Redis refused to run the command at all (restarting, out of memory, busy script, ...). */
const REFUSED = /^(LOADING|BUSY|OOM|MISCONF|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/**
 * Replies of a Redis Cluster for which the command did not run: the slot is elsewhere (`MOVED`,
 * `ASK`: a cluster client follows them, so it sees them only from a single client pointed at one
 * node), half-moved with the keys split (`TRYAGAIN`), or the cluster is down (`CLUSTERDOWN`).
 */
export const NOT_RUN = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * A script that touched a key the node no longer holds: the slot is being migrated and the key
 * (one the script did not declare in `KEYS`, as it learnt its name from what it read) has moved
 * or does not exist here. Redis stopped the script there; every script reads such a key before
 * its first write (`discover`, checked by the test build), so nothing was written (but the write
 * counter, raised once more): the runner sends it again, as for `TRYAGAIN`.
 */
export const STOPPED_BEFORE_WRITING = /^ERR Script attempted to access a non local key/;

/** A command that got no answer in time; it may still run in Redis. */
export class CommandTimeout extends Error {
  override readonly name = 'CommandTimeout';
}

/**
 * Maps an error from node-redis to `SupervisorError` `UNAVAILABLE` when Redis could not be
 * reached or refused to run the command; anything else (a bug: a script error, a wrong type) is
 * returned as it is.
 */
export function toUnavailable(error: unknown, what: string): unknown {
  if (!(error instanceof Error)) return error;
  const name = error.constructor?.name ?? error.name;
  const code = (error as { code?: unknown }).code;
  const unreachable =
    error instanceof CommandTimeout ||
    UNREACHABLE.has(name) ||
    (typeof code === 'string' && /^E[A-Z]+$/.test(code)) ||
    REFUSED.test(error.message) ||
    NOT_RUN.test(error.message) ||
    STOPPED_BEFORE_WRITING.test(error.message) ||
    error.message === 'The queue is full';
  if (!unreachable) return error;
  if (STOPPED_BEFORE_WRITING.test(error.message)) {
    return new SupervisorError(
      'UNAVAILABLE',
      `socket.io-supervisor/cluster: Redis is unavailable (${what}: its slot is being migrated; the script stopped before writing, and was sent again until commandTimeout)`,
      { cause: error },
    );
  }
  const mayHaveRun = error instanceof CommandTimeout || name === 'SocketClosedUnexpectedlyError';
  return new SupervisorError(
    'UNAVAILABLE',
    `socket.io-supervisor/cluster: Redis is unavailable (${what}: ${error.message})${mayHaveRun ? '; the command may still have run' : ''}`,
    { cause: error },
  );
}

/** Replies by which Redis refuses the connection's credentials: a configuration error, not an outage. */
const AUTH_REFUSED = /^(NOAUTH|WRONGPASS)\b|^ERR AUTH\b|^ERR invalid password\b/;

/**
 * Whether `error` is Redis refusing the credentials (`NOAUTH`: a password is required and none was
 * given; `WRONGPASS`: a wrong user or password).
 */
export function isAuthRefused(error: unknown): boolean {
  return error instanceof Error && AUTH_REFUSED.test(error.message);
}

/** The configuration error for credentials Redis refused. */
export function authError(error: unknown): SupervisorError {
  const reply = error instanceof Error ? error.message : String(error);
  return new SupervisorError(
    'REDIS_AUTH',
    `socket.io-supervisor/cluster: Redis refused the credentials (${reply}): set the user and password in the \`redis\` URL (redis://user:password@host:port) or on the client you pass`,
    { cause: error },
  );
}

/**
 * Connects, or destroys the client and rejects `UNAVAILABLE` after `ms` (node-redis would retry
 * forever), or `REDIS_AUTH` at once when Redis refuses the credentials (`NOAUTH`, `WRONGPASS`).
 */
export async function connectWithin(client: NodeRedisClient, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onError: ((error: unknown) => void) | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`could not connect within ${ms} ms`)), ms);
        // node-redis reports a refused AUTH (or HELLO) as an error event and keeps retrying
        onError = (error) => {
          if (isAuthRefused(error)) reject(error);
        };
        client.on('error', onError);
      }),
    ]);
  } catch (error) {
    client.destroy();
    if (isAuthRefused(error)) throw authError(error);
    throw new SupervisorError('UNAVAILABLE', 'socket.io-supervisor/cluster: Redis is unavailable (connect)', {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
    if (onError) client.off?.('error', onError);
  }
}

/** Closes gracefully (pending replies first), falling back to destroy. */
export async function closeClient(client: NodeRedisClient): Promise<void> {
  if (!client.isOpen) return;
  try {
    if (client.close) await client.close();
    else client.destroy();
  } catch {
    client.destroy();
  }
}
