import type { ClientRecord, ClientStore } from '../store/clientStore.js';
import { SupervisorError } from './errors.js';
import { sendableSize } from './sendable.js';
import type { SocketBridge } from './socketBridge.js';
import type { DeleteReason, LifecycleEvent } from './types.js';

/** Bounds of one client's outbox. */
export interface OutboxLimits {
  /** Unacknowledged messages kept for one client; one more deletes it (`outbox-overflow`). */
  maxMessages: number;
  /** Their approximate encoded size in bytes; past it the client is deleted (`outbox-overflow`). */
  maxBytes: number;
}

/** Counters of delivery, since start. */
export interface DeliveryStats {
  /** Messages handed to `to(clientId).emit()` and accepted (each once). */
  sent: number;
  /** Sends of a message again on a new socket (after a reconnect or a swap). */
  resent: number;
  /** Messages the page acknowledged (and the server forgot). */
  acked: number;
  /** Messages dropped because their client was deleted or unknown. */
  undelivered: number;
  /** Acknowledgements naming sequence numbers never sent to that client: ignored. */
  ignoredAcks: number;
}

/** One message waiting for the page's acknowledgement. */
interface Pending {
  seq: number;
  event: string;
  args: unknown[];
  bytes: number;
  at: number;
}

/** The delivery state of a client that has been sent something. */
interface Outbox {
  /** The last sequence number handed out (the first message is 1). */
  seq: number;
  /** The highest sequence number the page acknowledged. */
  acked: number;
  /** Unacknowledged messages in order, from `head` on (an index, so dropping the front is O(1)). */
  queue: Pending[];
  head: number;
  bytes: number;
}

/** What `supervisor.to(clientId)` returns. */
export interface ClientChannel {
  /**
   * Sends `event` with `args` to the client's page, once and in order, across reconnects: at once
   * while it is connected, kept in its outbox while it is handshaking or disconnected and sent
   * when it connects. `false` (and an `undelivered` event) when the client is deleted or unknown.
   * Throws `SupervisorError` `INVALID_ARGUMENT` naming what socket.io could not send.
   */
  emit(event: string, ...args: unknown[]): boolean;
}

/**
 * What the supervisor's core needs of delivery: the relay flushes and drops outboxes, the adapter
 * hands it acknowledgements, views and stats read it. {@link createDelivery} is the single-node
 * one (with `to()`); cluster mode plugs in its own, whose outboxes live in Redis.
 */
export interface DeliveryPort<TData = unknown> {
  /** The client has a new socket: every unacknowledged message goes out on it, oldest first. */
  flush(record: ClientRecord<TData>): void;
  /** The page of `clientId` (from a socket bound to it) processed every message up to `seq`. */
  acknowledge(clientId: string, seq: unknown): void;
  /** The client was deleted for `reason`. */
  drop(clientId: string, reason: DeleteReason): void;
  outboxOf(clientId: string): { depth: number; oldestAt: number | null };
  stats(): DeliveryStats;
}

export interface DeliveryDeps<TData> {
  store: ClientStore<TData>;
  now: () => number;
  bridge: SocketBridge;
  limits: OutboxLimits;
  publish(event: LifecycleEvent): void;
  /** Deletes a client whose outbox overflowed. */
  deleteClient(clientId: string, reason: DeleteReason): void;
}

/**
 * Messages addressed to clients rather than sockets. Each client that has been sent something
 * has an outbox: its messages carry a per-client sequence number and stay until the page
 * acknowledges them, so a reconnect or a socket swap re-sends exactly what the page has not
 * processed, in order (the browser helper drops what it already had). A client never sent
 * anything has no outbox at all; an outbox whose messages were all acknowledged keeps only its
 * two counters.
 */
export function createDelivery<TData>(deps: DeliveryDeps<TData>) {
  const { store, now, bridge, limits, publish } = deps;
  const outboxes = new Map<string, Outbox>();
  const stats: DeliveryStats = { sent: 0, resent: 0, acked: 0, undelivered: 0, ignoredAcks: 0 };

  function undelivered(clientId: string, count: number, reason: string): void {
    stats.undelivered += count;
    publish({ type: 'undelivered', clientId, at: now(), count, reason });
  }

  function send(record: ClientRecord<TData>, message: Pending): void {
    bridge.send(record.socketId!, message.seq, message.event, message.args);
  }

  function emit(clientId: string, event: string, args: unknown[]): boolean {
    if (typeof event !== 'string' || event.length === 0 || event.length > 256) {
      throw new SupervisorError(
        'INVALID_ARGUMENT',
        'to(clientId).emit(): the event name must be a string of 1 to 256 characters',
      );
    }
    let bytes: number;
    try {
      bytes = sendableSize(args) + event.length;
    } catch (error) {
      throw new SupervisorError(
        'INVALID_ARGUMENT',
        `to(${clientId}).emit(${JSON.stringify(event)}): ${(error as Error).message}`,
      );
    }
    const record = store.get(clientId);
    if (record === undefined || record.state === 'deleted') {
      const status = store.status(clientId, now());
      undelivered(clientId, 1, status === 'deleted' ? 'already-deleted' : 'unknown-client');
      return false;
    }
    let outbox = outboxes.get(clientId);
    if (!outbox) {
      outbox = { seq: 0, acked: 0, queue: [], head: 0, bytes: 0 };
      outboxes.set(clientId, outbox);
    }
    const depth = outbox.queue.length - outbox.head;
    const at = now();
    if (depth + 1 > limits.maxMessages || outbox.bytes + bytes > limits.maxBytes) {
      // a gap would break "once, in order": the page must start over, so the client goes,
      // and this message with the others it never acknowledged
      outbox.bytes += bytes;
      outbox.queue.push({ seq: outbox.seq + 1, event, args, bytes, at });
      deps.deleteClient(clientId, 'outbox-overflow');
      return false;
    }
    outbox.seq += 1;
    const message: Pending = { seq: outbox.seq, event, args, bytes, at };
    outbox.queue.push(message);
    outbox.bytes += bytes;
    stats.sent += 1;
    if (record.state === 'connected') send(record, message);
    return true;
  }

  /** The client has a new socket: every unacknowledged message goes out on it, oldest first. */
  function flush(record: ClientRecord<TData>): void {
    const outbox = outboxes.get(record.clientId);
    if (!outbox || record.socketId === null) return;
    // a page that takes over mid-stream (a duplicated tab) learns where the stream resumes
    bridge.resume(record.socketId, outbox.acked);
    for (let i = outbox.head; i < outbox.queue.length; i += 1) {
      send(record, outbox.queue[i]!);
      stats.resent += 1;
    }
  }

  /**
   * The page processed every message up to `seq`. Only acknowledgements of messages this client
   * was sent count; anything else (a number it was never sent, not a number) is ignored and
   * counted.
   */
  function acknowledge(clientId: string, seq: unknown): void {
    const outbox = outboxes.get(clientId);
    if (!Number.isSafeInteger(seq) || (seq as number) < 0 || !outbox || (seq as number) > outbox.seq) {
      stats.ignoredAcks += 1;
      return;
    }
    const upTo = seq as number;
    if (upTo <= outbox.acked) return;
    outbox.acked = upTo;
    while (outbox.head < outbox.queue.length && outbox.queue[outbox.head]!.seq <= upTo) {
      outbox.bytes -= outbox.queue[outbox.head]!.bytes;
      outbox.head += 1;
      stats.acked += 1;
    }
    if (outbox.head === outbox.queue.length) {
      // all acknowledged: keep the counters only
      outbox.queue = [];
      outbox.head = 0;
      outbox.bytes = 0;
    } else if (outbox.head > 1024 && outbox.head * 2 > outbox.queue.length) {
      outbox.queue = outbox.queue.slice(outbox.head);
      outbox.head = 0;
    }
  }

  /** The client was deleted: what it never acknowledged is undelivered. */
  function drop(clientId: string, reason: DeleteReason): void {
    const outbox = outboxes.get(clientId);
    if (!outbox) return;
    outboxes.delete(clientId);
    const left = outbox.queue.length - outbox.head;
    if (left > 0) undelivered(clientId, left, reason);
  }

  return {
    to: (clientId: string): ClientChannel => ({ emit: (event, ...args) => emit(clientId, event, args) }),
    flush,
    acknowledge,
    drop,
    /** Depth of the client's outbox and when its oldest unacknowledged message was sent. */
    outboxOf(clientId: string): { depth: number; oldestAt: number | null } {
      const outbox = outboxes.get(clientId);
      if (!outbox || outbox.head === outbox.queue.length) return { depth: 0, oldestAt: null };
      return { depth: outbox.queue.length - outbox.head, oldestAt: outbox.queue[outbox.head]!.at };
    },
    stats: (): DeliveryStats => ({ ...stats }),
    /** Clients with an outbox (leak checks). */
    size: () => outboxes.size,
  };
}

export type Delivery = ReturnType<typeof createDelivery>;
