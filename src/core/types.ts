import type { DisconnectReason as SocketIoDisconnectReason } from 'socket.io';
import type { RejectCode } from '../protocol.js';

export type { RejectCode };

/** The four states of a client's lifecycle (docs/design.md, "The lifecycle contract"). */
export type ClientState = 'handshaking' | 'connected' | 'disconnected' | 'deleted';

/** The states a client can be in while it exists. */
export type LiveState = Exclude<ClientState, 'deleted'>;

/** Why an event was ignored. Every ignored event is reported with one of these. */
export type IgnoredWhy = 'stale-socket' | 'replay' | 'not-connected' | 'not-due' | 'already-deleted' | 'unknown-client';

/**
 * Why a client was deleted. The built-in reasons come from the lifecycle; `delete(id, reason)`
 * may pass any other string.
 */
export type DeleteReason = 'pruned' | 'handshake-timeout' | 'reconnect-timeout' | 'shutdown' | 'manual' | (string & {});

/**
 * The reasons the supervisor adds to socket.io's own: `replaced`, for a socket the server closed
 * because another socket of the same client took over, and `supervisor detached`, for the sockets
 * of a `detach()` (they stay open but unsupervised).
 */
export type SupervisorDisconnectReason = 'replaced' | 'supervisor detached';

/**
 * Why a socket disconnected: socket.io's own `DisconnectReason` (`transport close`,
 * `ping timeout`, `server namespace disconnect`, ...) or one of the supervisor's additions.
 */
export type DisconnectReason = SocketIoDisconnectReason | SupervisorDisconnectReason;

/**
 * Codes of {@link SupervisorError}: a rejection's code, `CLOSED` (after `close()`), `TIMEOUT`
 * (`connected()`), or `INVALID_ARGUMENT` (an API call given a bad argument; the message names it).
 */
export type SupervisorErrorCode =
  | RejectCode
  | 'CLOSED'
  | 'TIMEOUT'
  | 'INVALID_ARGUMENT'
  /** Cluster mode: another live process heartbeats under this `nodeId` (each process needs its own). */
  | 'NODE_ID_IN_USE'
  /** Cluster mode: Redis refused the connection's credentials (`NOAUTH`, `WRONGPASS`): fix the `redis` option. */
  | 'REDIS_AUTH'
  /**
   * Cluster mode: Redis holds keys of another key layout or partition count under this
   * `keyPrefix` (`{prefix}:schema`): nodes of different layouts cannot share it. Also a join that
   * would upgrade a Redis of the previous layout while one of its nodes is live: stop the old
   * nodes first (docs/cluster-redis.md, "Compact records").
   */
  | 'KEY_LAYOUT_MISMATCH';

/**
 * A client's lifecycle in compact form: the state its machine is in and the fields of its
 * context that change, minus its id (the key) and what every client of a supervisor shares (the
 * timeouts). The one definition of these fields: a passivated client is kept as this and its
 * actor re-created from it, a node's record holds it, cluster mode stores it in Redis, and a
 * {@link ClientView} shows it. Its keys are listed once, in `SNAPSHOT_KEYS`
 * (`src/machines/clientSnapshot.ts`), which every copy and Redis script follows. Absent values
 * are `null`, so it survives `JSON.stringify` unchanged.
 */
export interface ClientSnapshot {
  state: LiveState;
  /**
   * The current socket's id while `connected`, `null` while `handshaking` or `disconnected`. In
   * the view `onDelete` gets, the socket the client still had when it was deleted from
   * `connected` (the server closes it), else `null`.
   */
  socketId: string | null;
  tabId: string | null;
  createdAt: number;
  /** When the current (or last) socket connected; a socket swap does not change it. */
  connectedAt: number | null;
  /** When the client last lost its socket. */
  disconnectedAt: number | null;
  /**
   * When the client will be deleted unless something happens: `createdAt + handshakeTimeout`
   * while `handshaking`, `disconnectedAt + reconnectTimeout` while `disconnected` (or later in
   * cluster mode, after an outage's fresh grace period), otherwise `null`. In a view, an addition
   * to docs/design.md's list, used by the inspector's countdown.
   */
  expiresAt: number | null;
  /**
   * Bumped each time a reconnect deadline is armed (or pushed back after an outage); a timeout
   * must carry the current one. Not in a view.
   */
  generation: number;
}

/**
 * A plain, serialisable snapshot of one client: its {@link ClientSnapshot} fields but the
 * generation, its id, address, outbox and data. Never contains the token. Absent values are
 * `null` so the object survives `JSON.stringify` unchanged.
 */
export interface ClientView<TData = unknown> extends Omit<ClientSnapshot, 'state' | 'generation'> {
  clientId: string;
  /** `deleted` only in the view `onDelete` gets. */
  state: ClientState;
  /**
   * The remote address of the client's latest socket, as the rate limits count it
   * (`rateLimit.address`); `null` before its first socket. An addition to docs/design.md's list.
   */
  address: string | null;
  /**
   * Messages sent with `to(clientId).emit()` that the page has not acknowledged yet, and when the
   * oldest of them was sent (`null` when there is none).
   */
  outbox: { depth: number; oldestAt: number | null };
  data: TData;
}

/**
 * The DESIGN events the supervisor accepts, each naming its client. `supervisor.send()` delivers
 * them straight to the client's actor; `supervisor.actor.send()` routes them through a supervisor
 * step. Either way they are stamped with the supervisor's `now()`.
 */
export type SupervisorEvent =
  | { type: 'socket.handshake'; clientId: string; socketId: string; tabId?: string | null }
  | { type: 'socket.disconnect'; clientId: string; socketId: string; reason: DisconnectReason }
  | { type: 'client.delete'; clientId: string; reason?: DeleteReason }
  /**
   * With a `clientId`: that client is asked to prune itself (deleted if its deadline passed,
   * else `ignored` `not-due`). Without: a sweep of every due client. At `now` (default: the
   * supervisor's clock).
   */
  | { type: 'client.prune'; clientId?: string; now?: number };

export interface EventBase {
  clientId: string;
  /** The supervisor's clock (`now()`) when the event happened. */
  at: number;
}

/** Everything that happens to clients, discriminated by `type`. Never carries a token. */
export type LifecycleEvent =
  | (EventBase & { type: 'registered'; tabId: string | null; expiresAt: number })
  | (EventBase & { type: 'connected'; socketId: string; tabId: string | null })
  | (EventBase & { type: 'reconnected'; socketId: string; tabId: string | null; downtime: number })
  | (EventBase & { type: 'socket-replaced'; socketId: string; previousSocketId: string })
  | (EventBase & {
      type: 'disconnected';
      socketId: string;
      reason: DisconnectReason;
      expiresAt: number;
    })
  | (EventBase & {
      type: 'deleted';
      reason: DeleteReason;
      from: LiveState;
      /** The socket the client still had when deleted from `connected`; the adapter closes it. */
      socketId: string | null;
    })
  | (EventBase & {
      type: 'ignored';
      why: IgnoredWhy;
      /** The type of the event that was ignored. */
      event: string;
      socketId: string | null;
      state: ClientState | null;
    })
  | (EventBase & { type: 'rejected'; code: RejectCode; message: string })
  | (EventBase & {
      type: 'undelivered';
      /** How many messages sent with `to(clientId).emit()` were dropped. */
      count: number;
      /**
       * Why: the client's delete reason (its outbox is dropped with it; `outbox-overflow` when it
       * was deleted for that), or `already-deleted` / `unknown-client` for a message sent to a
       * client that was gone.
       */
      reason: string;
    })
  | (EventBase & {
      type: 'hook-error';
      hook: HookName;
      message: string;
      timedOut: boolean;
      error: unknown;
    });

/** The `type` of a {@link LifecycleEvent}: `registered`, `connected`, ... */
export type LifecycleEventType = LifecycleEvent['type'];

/** Client counts by state; `total` is their sum. */
export interface ClientCounts {
  handshaking: number;
  connected: number;
  disconnected: number;
  total: number;
}

/**
 * Where user code failed: one of the hooks, or `events$` for a subscriber of `events$` that threw
 * (its `clientId` is that of the event it was handling).
 */
export type HookName = 'onConnect' | 'onDisconnect' | 'onDelete' | 'onAcquire' | 'onRelease' | 'events$';

/**
 * Why this node stopped owning a client (`onRelease`'s third argument):
 * - `handoff`: another node took the client (its page reconnected there);
 * - `leaving`: this node is closing (`close()`);
 * - `fenced`: this node's incarnation was declared dead (cut off from Redis too long);
 * - `lease-lost`: this node stopped serving by itself, its lease with Redis ran out;
 * - `deleted`: the client was deleted (by any node, for any reason).
 *
 * A single node gives only `deleted` and `leaving`.
 */
export type ReleaseWhy = 'handoff' | 'leaving' | 'fenced' | 'lease-lost' | 'deleted';

/** What the ownership hooks (`onAcquire`, `onRelease`) learn besides the client. */
export interface OwnershipContext {
  /** The node that acquired (or releases) the client: its `nodeId` in cluster mode, `null` on a single node. */
  nodeId: string | null;
  /**
   * Cluster mode: the client's fence when this node acquired it (the same in the matching
   * `onRelease`); it rises with every change of owner. `null` on a single node.
   */
  fence: number | null;
}

/** What `onConnect` learns besides the client. */
export interface ConnectContext<TSocket = unknown> {
  /** The live socket, when the supervisor is attached to socket.io. */
  socket?: TSocket;
  /** `true` when the client came back from `disconnected`. */
  reconnect: boolean;
}

/**
 * Lifecycle hooks. Each may return a promise. Per client they run one after another, in
 * lifecycle order; `onDelete` runs exactly once and last. A hook that throws, rejects or runs
 * past `hookTimeout` is reported as a `hook-error` event and changes nothing else.
 */
export interface SupervisorHooks<TData = unknown, TSocket = unknown> {
  /** The client connected (`ctx.reconnect: false`) or came back from `disconnected` (`true`). */
  onConnect?(client: ClientView<TData>, ctx: ConnectContext<TSocket>): unknown;
  /** The client's socket went (`reason`: socket.io's); it has `reconnectTimeout` to come back. */
  onDisconnect?(client: ClientView<TData>, reason: DisconnectReason): unknown;
  /** The client is gone: exactly once, last of its hooks, whatever raced. */
  onDelete?(client: ClientView<TData>, reason: DeleteReason): unknown;
  /**
   * Ownership, per node: this node became the client's owner (on a single node: its first
   * handshake). Set up state kept in this process's memory here (subscriptions, timers). Every
   * `onAcquire` is followed by exactly one {@link SupervisorHooks.onRelease} on the same node.
   */
  onAcquire?(client: ClientView<TData>, ctx: OwnershipContext): unknown;
  /**
   * Ownership, per node: this node stopped owning the client (`why`: {@link ReleaseWhy}). Tear
   * down what `onAcquire` set up. Runs also when Redis is unreachable (cluster mode), and when
   * `onAcquire` failed.
   */
  onRelease?(client: ClientView<TData>, ctx: OwnershipContext, why: ReleaseWhy): unknown;
}

/** Counters of everything that was ignored, deleted, rejected or failed, since start. */
export interface SupervisorStats {
  ignored: Partial<Record<IgnoredWhy, number>>;
  deleted: Record<string, number>;
  rejected: Partial<Record<RejectCode, number>>;
  hookErrors: number;
  /** Messages of `to(clientId).emit()`. */
  delivery: {
    sent: number;
    /** Sent again on a new socket (after a reconnect or a socket swap). */
    resent: number;
    acked: number;
    undelivered: number;
    /** Acknowledgements naming sequence numbers never sent to that client: ignored. */
    ignoredAcks: number;
  };
}

/**
 * A pino-compatible logger: a `pino()` instance fits as it is. The library never writes to
 * `console`; the default logger drops everything.
 * @remarks Every line carries the bindings `{ lib: 'socket.io-supervisor' }` (and `nodeId` on a
 * cluster node), through `child()` when the logger has one, else merged into each object.
 * @example
 * ```ts
 * import pino from 'pino';
 * const supervisor = createSupervisor({ logger: pino({ level: 'info' }) });
 * ```
 */
export interface Logger {
  /** Routine detail (a lost acknowledgement, a Redis reconnect). */
  debug(obj: object, msg?: string): void;
  /** What an operator wants to see in normal operation (a cluster node joined or left). */
  info(obj: object, msg?: string): void;
  /** Something went wrong and was handled (a viewer request refused, Redis unreachable, a node fenced). */
  warn(obj: object, msg?: string): void;
  /** An error of the application's code: a hook that threw, rejected or timed out (`err` is its error). */
  error(obj: object, msg?: string): void;
  /** A logger that adds `bindings` to every line (pino's `child`); optional. */
  child?(bindings: Record<string, unknown>): Logger;
}
