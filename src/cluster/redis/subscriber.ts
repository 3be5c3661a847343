import type { Logger } from '../../core/types.js';
import { closeClient, connectWithin, type NodeRedisClient } from './connection.js';

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

/**
 * The store's pub/sub connection (pub/sub needs one of its own): opened at the first listener,
 * shared by every channel the node listens on, closed with the store.
 */
export class Subscriber {
  private connection: Promise<NodeRedisClient> | null = null;
  private closed = false;

  constructor(
    private readonly client: NodeRedisClient,
    private readonly commandTimeout: number,
    private readonly logger: Logger,
  ) {}

  private open(): Promise<NodeRedisClient> {
    this.connection ??= (async () => {
      const subscriber = this.client.duplicate();
      subscriber.on('error', (error) => this.logger.debug({ err: error }, 'socket.io-supervisor/cluster: pub/sub'));
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
    await subscriber.subscribe(channel, handler);
    return async () => {
      if (!this.closed && subscriber.isOpen) await subscriber.unsubscribe(channel, handler);
    };
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
