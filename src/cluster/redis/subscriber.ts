import type { Logger } from '../../core/types.js';
import { clientKind, closeClient, connectWithin, type NodeRedisClient } from './connection.js';
import { backoff } from './retry.js';

/** Published on `{prefix}:notice:<node>` to the owner of a client another node took or deleted. */
export type ClusterNotice =
  | {
      type: 'replaced';
      clientId: string;
      /** The incarnation that owned it (ignore notices for an earlier one). */
      incarnation: number;
      /** The new fence. */
      fence: number;
      /** The socket to close with reason `replaced`, if it was connected. */
      socketId: string | null;
    }
  | { type: 'deleted'; clientId: string; incarnation: number; fence: number; socketId: string | null; reason: string }
  /**
   * The claim of `socketId` on another node went unanswered and made `onConnect` due; the client
   * has moved on to this node, which runs it (DESIGN.md: a due hook is never lost with a reply).
   */
  | { type: 'hook-due'; clientId: string; incarnation: number; fence: number; socketId: string; reconnect: boolean }
  /** A message queued for a connected client by another node: the owner sends it on `socketId`. */
  | { type: 'message'; clientId: string; incarnation: number; socketId: string | null; seq: number; member: string };

/** What `connected()` hears on `{prefix}:watch:<clientId>` (the `announce` fragment). */
export type ClientAnnouncement = 'connected' | 'deleted';

/** A notice as the scripts publish it (`notify`: cjson, with `inc` for the incarnation and `m` for a member). */
export function decodeNotice(message: string): ClusterNotice {
  const raw = JSON.parse(message) as Record<string, string>;
  if (raw.type === 'message') {
    return {
      type: 'message',
      clientId: raw.clientId ?? '',
      incarnation: Number(raw.inc),
      socketId: raw.socketId || null,
      seq: Number(raw.seq),
      member: raw.m ?? '',
    };
  }
  if (raw.type === 'hook-due') {
    return {
      type: 'hook-due',
      clientId: raw.clientId ?? '',
      incarnation: Number(raw.inc),
      fence: Number(raw.fence),
      socketId: raw.socketId ?? '',
      reconnect: raw.reconnect === '1',
    };
  }
  const common = {
    clientId: raw.clientId ?? '',
    incarnation: Number(raw.inc),
    fence: Number(raw.fence),
    socketId: raw.socketId || null,
  };
  return raw.type === 'deleted'
    ? { type: 'deleted', ...common, reason: raw.reason ?? '' }
    : { type: 'replaced', ...common };
}

/** How long the subscriber's connection to a cluster master reconnects before node-redis looks for the slot's new master (ms). */
const SUBSCRIBER_TOPOLOGY_REFRESH = 500;

/** node-redis's cluster client's event for a shard channel it could not follow to a new master. */
interface MovedErrors {
  on(event: 'sharded-channel-moved-error', listener: (error: unknown, channel: string) => void): unknown;
}

/**
 * The store's pub/sub connection (pub/sub needs one of its own): opened at the first listener,
 * shared by every channel the node listens on, closed with the store.
 *
 * Sharded pub/sub (Redis 7): the scripts `SPUBLISH` (the `notify` and `announce` fragments), so
 * this listens with `SSUBSCRIBE`. On a Redis Cluster node-redis subscribes at the master of the
 * channel's slot, and subscribes again at the new master when the slot moves (Redis ends the
 * subscription with `SUNSUBSCRIBE`); a notice published in between is lost, as one published while
 * this connection reconnects is: the node's re-check of what it holds catches up on both.
 */
export class Subscriber {
  private connection: Promise<NodeRedisClient> | null = null;
  private closed = false;
  /** The handlers listening on each channel (several `connected()` may watch one client). */
  private readonly handlers = new Map<string, Set<(message: string) => void>>();

  constructor(
    private readonly client: NodeRedisClient,
    private readonly commandTimeout: number,
    private readonly logger: Logger,
  ) {}

  private open(): Promise<NodeRedisClient> {
    this.connection ??= (async () => {
      // on a Redis Cluster, node-redis moves shard channels off a master that stopped answering at
      // its next topology refresh, by default 5 s after it began reconnecting: sooner here, as a
      // notice published on the promoted replica before then is lost
      const cluster = clientKind(this.client) === 'cluster';
      const subscriber = cluster
        ? this.client.duplicate({ topologyRefreshOnReconnectionAttemptStrategy: SUBSCRIBER_TOPOLOGY_REFRESH })
        : this.client.duplicate();
      subscriber.on('error', (error) => this.logger.debug({ err: error }, 'socket.io-supervisor/cluster: pub/sub'));
      if (cluster) {
        // node-redis moves a shard channel's listeners to the slot's new master when Redis ends the
        // subscription (SUNSUBSCRIBE, the slot moved); when that subscribe fails (asked before the
        // new master knows it owns the slot: MOVED), it drops them and says so here
        (subscriber as unknown as MovedErrors).on('sharded-channel-moved-error', (error, channel) =>
          this.resubscribe(subscriber, channel, error, 0),
        );
      }
      await connectWithin(subscriber, this.commandTimeout);
      return subscriber;
    })();
    this.connection.catch(() => {
      this.connection = null;
    });
    return this.connection;
  }

  /**
   * Calls `listener` with each message on `channel` from when this resolves (so nothing published
   * after it is missed); returns the function that stops listening.
   */
  async listen(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('socket.io-supervisor/cluster: the store is closed');
    const subscriber = await this.open();
    const handler = (message: string) => listener(message);
    await subscriber.sSubscribe(channel, handler);
    const handlers = this.handlers.get(channel) ?? new Set<(message: string) => void>();
    this.handlers.set(channel, handlers);
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
      if (handlers.size === 0 && this.handlers.get(channel) === handlers) this.handlers.delete(channel);
      if (!this.closed && subscriber.isOpen) await subscriber.sUnsubscribe(channel, handler);
    };
  }

  /**
   * Subscribes `channel`'s handlers again after node-redis failed to follow its slot to the new
   * master (and dropped them), with backoff until they are subscribed, no longer listened to, or
   * the store closed.
   */
  private resubscribe(subscriber: NodeRedisClient, channel: string, error: unknown, attempt: number): void {
    this.logger.debug({ err: error, channel, attempt }, 'socket.io-supervisor/cluster: pub/sub channel moved');
    const timer = setTimeout(
      () => {
        const handlers = [...(this.handlers.get(channel) ?? [])];
        if (this.closed || handlers.length === 0) return;
        // node-redis may have kept the listeners at the new master's connection without a
        // subscription there: the channel's listeners are dropped first, then subscribed again
        subscriber
          .sUnsubscribe(channel)
          .then(() => Promise.all(handlers.map((handler) => subscriber.sSubscribe(channel, handler))))
          .catch((again: unknown) => {
            this.resubscribe(subscriber, channel, again, attempt + 1);
          });
      },
      backoff(attempt, { first: 50, max: 1000 }),
    );
    timer.unref?.();
  }

  /** Closes the connection (every listener with it). */
  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = null;
    const subscriber = await connection?.catch(() => null);
    if (subscriber) await closeClient(subscriber);
  }
}
