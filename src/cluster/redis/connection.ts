import { SupervisorError } from '../../core/errors.js';
import { backoff } from './retry.js';

/**
 * The part of a node-redis 6 client this module uses, structurally, so a client from the
 * application's own copy of `redis` fits and node-redis's generic types stay out of ours.
 */
export interface NodeRedisClient {
  /** Sends one command (`['EVALSHA', ...]`) and resolves with Redis's reply. */
  sendCommand(args: ReadonlyArray<string>): Promise<unknown>;
  /** Connected and ready for commands. */
  readonly isReady: boolean;
  /** Opened (possibly reconnecting). */
  readonly isOpen: boolean;
  /** A new client with the same options (the subscriber connection). */
  duplicate(overrides?: Record<string, unknown>): NodeRedisClient;
  /** Opens the connection. */
  connect(): Promise<unknown>;
  /** Subscribes `listener` to a pub/sub channel (node-redis's own signature). */
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  /** Unsubscribes `listener` from a channel (the channel itself once it has no listener left). */
  unsubscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  /** Listens for connection errors (node-redis emits them while it reconnects). */
  on(event: 'error', listener: (error: unknown) => void): unknown;
  /** Stops listening for connection errors. */
  off?(event: 'error', listener: (error: unknown) => void): unknown;
  /** Closes at once, failing what is pending. */
  destroy(): void;
  /** Closes after the pending replies. */
  close?(): Promise<unknown>;
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
 */
export function clusterClientOptions(url: string, commandTimeout: number): Record<string, unknown> {
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
]);

/** Error replies for which Redis refused to run the command at all (restarting, out of memory, busy script, ...). */
const REFUSED = /^(LOADING|BUSY|OOM|MISCONF|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

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
    error.message === 'The queue is full';
  if (!unreachable) return error;
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
