import type { ClientRecord, ClientStore } from '../store/clientStore.js';
import { SupervisorError } from './errors.js';
import { argumentSize, sendableSize } from './sendable.js';
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

/** Entries per message in an outbox's ring: event, argument count, first and second argument, size, time. */
const WIDTH = 6;

/**
 * How long a request for an acknowledgement (`supervisor:ack-request`) stays the only one: another
 * is sent once an acknowledgement came, or after this long (the request or its answer was lost, or
 * the page is an older helper that acknowledges on its timer only).
 */
export const ASK_AGAIN_MS = 1000;

/** What a client's stream remembers of its requests for an acknowledgement. */
export interface AskedAck {
  /** When the page was last asked for an acknowledgement, or -1: none outstanding. */
  askedAt: number;
}

/**
 * The requests for an acknowledgement (`supervisor:ack-request`) of one node's streams, on one
 * node (the outboxes) and in cluster mode (the owner's streams): past half of either bound the
 * page is asked to acknowledge now rather than after its `ackDelay`, so a fast stream of large
 * messages does not reach the bound while the page waits (issue 21). One request is outstanding
 * per stream: the next once an acknowledgement came (the stream sets `askedAt` back to -1), or
 * after {@link ASK_AGAIN_MS}.
 */
export function createAckRequests(limits: OutboxLimits, bridge: SocketBridge) {
  const askDepth = limits.maxMessages / 2;
  const askBytes = limits.maxBytes / 2;
  /** Asks the page on `socketId` when `depth` messages or `bytes` wait past half a bound (one compare per bound). */
  return function askIfFull(stream: AskedAck, socketId: string, depth: number, bytes: number, at: number): void {
    if (depth <= askDepth && bytes <= askBytes) return;
    if (stream.askedAt >= 0 && at - stream.askedAt < ASK_AGAIN_MS) return;
    stream.askedAt = at;
    bridge.askAck(socketId);
  };
}

/** The ring of an outbox with nothing unacknowledged: shared, never written (a push grows a ring of its own first). */
const NO_RING: unknown[] = [];

/**
 * The delivery state of a client that has been sent something. Its unacknowledged messages live in
 * one array, {@link WIDTH} entries per message (event, argument count, first and second argument,
 * size, time), not an object per message, nor an array of its arguments when it has at most two
 * (issue 21): a message waits for the page's batched acknowledgement (`ackDelay`, 200 ms), long
 * enough to survive a young-generation GC, and each object that survives one costs its promotion.
 * A message of more than two arguments keeps them as an array in its first. One array, not one per
 * column, one slot at first: a client sent a message now and then, each acknowledged before the
 * next, makes its ring again for each message (an idle client keeps none), so that is one array of
 * six entries. Message `seq - depth + 1 + i` sits at `((start + i) & (capacity - 1)) * WIDTH`.
 */
class Outbox implements AskedAck {
  /** The last sequence number handed out (the first message is 1). */
  seq = 0;
  /** The highest sequence number the page acknowledged. */
  acked = 0;
  /** Unacknowledged messages, oldest at `start`. */
  depth = 0;
  start = 0;
  bytes = 0;
  /** Slots in the ring (a power of two), 0 while it has none. */
  capacity = 0;
  ring: unknown[] = NO_RING;
  /** When the ring was made: each message keeps its time from there, a small integer rather than a boxed number. */
  since = 0;
  /** The channel `to(clientId)` returns while this outbox lives: one per client, not one per call. */
  channel: Channel | null = null;
  /** Set when the client was deleted: a channel still holding it looks its client up again. */
  dropped = false;
  askedAt = -1;

  push(event: string, count: number, first: unknown, second: unknown, bytes: number, at: number): void {
    if (this.depth === this.capacity) this.grow(at);
    const i = this.at(this.depth);
    const ring = this.ring;
    ring[i] = event;
    ring[i + 1] = count;
    ring[i + 2] = first;
    ring[i + 3] = second;
    ring[i + 4] = bytes;
    ring[i + 5] = at - this.since;
    this.depth += 1;
    this.bytes += bytes;
  }

  /** Forgets the oldest message. */
  shift(): void {
    const i = this.start * WIDTH;
    this.bytes -= this.ring[i + 4] as number;
    // let the arguments go now, not when the slot is reused
    this.ring[i] = undefined;
    this.ring[i + 2] = undefined;
    this.ring[i + 3] = undefined;
    this.start = (this.start + 1) & (this.capacity - 1);
    this.depth -= 1;
  }

  /** Where the `n`th unacknowledged message (0: the oldest) starts in the ring. */
  at(n: number): number {
    return ((this.start + n) & (this.capacity - 1)) * WIDTH;
  }

  /** When the oldest unacknowledged message was sent. */
  oldestAt(): number {
    return this.since + (this.ring[this.start * WIDTH + 5] as number);
  }

  /** Doubles the ring (one slot at first: most clients have one message at a time), oldest message first again. */
  private grow(now: number): void {
    const capacity = Math.max(1, this.capacity * 2);
    const ring: unknown[] = new Array(capacity * WIDTH).fill(undefined);
    if (this.depth === 0) this.since = now;
    for (let n = 0; n < this.depth; n += 1) {
      const from = this.at(n);
      for (let k = 0; k < WIDTH; k += 1) ring[n * WIDTH + k] = this.ring[from + k];
    }
    this.ring = ring;
    this.capacity = capacity;
    this.start = 0;
  }

  /** Back to the two counters only (everything acknowledged: an idle client keeps no ring). */
  empty(): void {
    this.ring = NO_RING;
    this.capacity = 0;
    this.start = 0;
    this.depth = 0;
    this.bytes = 0;
  }
}

/** Sends what {@link Channel.emit} was given: `count` arguments, the first two or, past two, all of them in `first`. */
type Deliver = (channel: Channel, event: string, count: number, first: unknown, second: unknown) => boolean;

/** `to(clientId)`: a channel to one client, made once per client that has an outbox. */
class Channel implements ClientChannel {
  constructor(
    readonly clientId: string,
    private readonly deliver: Deliver,
    public outbox: Outbox | null,
  ) {}

  /** `emit(event, ...args)`, read from `arguments`: one or two arguments make no array (issue 21). */
  emit(event: string): boolean {
    // biome-ignore lint/complexity/noArguments: a rest parameter would be an array per message, kept until acknowledged
    const count = arguments.length - 1;
    // biome-ignore lint/complexity/noArguments: as above
    if (count <= 2) return this.deliver(this, event, count, arguments[1], arguments[2]);
    // biome-ignore lint/complexity/noArguments: as above
    return this.deliver(this, event, count, Array.prototype.slice.call(arguments, 1), undefined);
  }
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
  const askIfFull = createAckRequests(limits, bridge);

  function undelivered(clientId: string, count: number, reason: string): void {
    stats.undelivered += count;
    publish({ type: 'undelivered', clientId, at: now(), count, reason });
  }

  function emit(channel: Channel, event: string, count: number, first: unknown, second: unknown): boolean {
    const { clientId } = channel;
    if (typeof event !== 'string' || event.length === 0 || event.length > 256) {
      throw new SupervisorError(
        'INVALID_ARGUMENT',
        'to(clientId).emit(): the event name must be a string of 1 to 256 characters',
      );
    }
    let bytes: number;
    try {
      if (count <= 2) {
        bytes = event.length;
        if (count > 0) bytes += argumentSize(first, 0, true);
        if (count > 1) bytes += argumentSize(second, 1, true);
      } else bytes = sendableSize(first as unknown[]) + event.length;
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
    let outbox = channel.outbox;
    if (outbox === null || outbox.dropped) {
      outbox = outboxes.get(clientId) ?? null;
      if (outbox === null) {
        outbox = new Outbox();
        outboxes.set(clientId, outbox);
      }
      outbox.channel ??= channel;
      channel.outbox = outbox;
    }
    const at = now();
    if (outbox.depth + 1 > limits.maxMessages || outbox.bytes + bytes > limits.maxBytes) {
      // a gap would break "once, in order": the page must start over, so the client goes,
      // and this message with the others it never acknowledged (never sent: its number is spent)
      outbox.seq += 1;
      outbox.push(event, count, first, second, bytes, at);
      deps.deleteClient(clientId, 'outbox-overflow');
      return false;
    }
    outbox.seq += 1;
    outbox.push(event, count, first, second, bytes, at);
    stats.sent += 1;
    if (record.state === 'connected') {
      bridge.send(record.socketId!, outbox.seq, event, count, first, second);
      askIfFull(outbox, record.socketId!, outbox.depth, outbox.bytes, at);
    }
    return true;
  }

  /** The client has a new socket: every unacknowledged message goes out on it, oldest first. */
  function flush(record: ClientRecord<TData>): void {
    const outbox = outboxes.get(record.clientId);
    if (!outbox || record.socketId === null) return;
    // a page that takes over mid-stream (a duplicated tab) learns where the stream resumes
    bridge.resume(record.socketId, outbox.acked);
    const first = outbox.seq - outbox.depth + 1;
    for (let i = 0; i < outbox.depth; i += 1) {
      const at = outbox.at(i);
      const ring = outbox.ring;
      bridge.send(record.socketId, first + i, ring[at] as string, ring[at + 1] as number, ring[at + 2], ring[at + 3]);
      stats.resent += 1;
    }
    // a request to the previous socket is void; a long backlog is asked for at once
    outbox.askedAt = -1;
    askIfFull(outbox, record.socketId, outbox.depth, outbox.bytes, now());
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
    outbox.askedAt = -1;
    // the oldest unacknowledged message is number seq - depth + 1
    while (outbox.depth > 0 && outbox.seq - outbox.depth + 1 <= upTo) {
      outbox.shift();
      stats.acked += 1;
    }
    // all acknowledged: keep the counters only
    if (outbox.depth === 0) outbox.empty();
  }

  /** The client was deleted: what it never acknowledged is undelivered. */
  function drop(clientId: string, reason: DeleteReason): void {
    const outbox = outboxes.get(clientId);
    if (!outbox) return;
    outboxes.delete(clientId);
    outbox.dropped = true;
    outbox.channel = null;
    const left = outbox.depth;
    if (left > 0) undelivered(clientId, left, reason);
  }

  return {
    /** The client's channel: its outbox's while it has one, so a busy client's to() allocates nothing. */
    to: (clientId: string): ClientChannel => outboxes.get(clientId)?.channel ?? new Channel(clientId, emit, null),
    flush,
    acknowledge,
    drop,
    /** Depth of the client's outbox and when its oldest unacknowledged message was sent. */
    outboxOf(clientId: string): { depth: number; oldestAt: number | null } {
      const outbox = outboxes.get(clientId);
      if (!outbox || outbox.depth === 0) return { depth: 0, oldestAt: null };
      return { depth: outbox.depth, oldestAt: outbox.oldestAt() };
    },
    stats: (): DeliveryStats => ({ ...stats }),
    /** Clients with an outbox (leak checks). */
    size: () => outboxes.size,
  };
}

export type Delivery = ReturnType<typeof createDelivery>;
