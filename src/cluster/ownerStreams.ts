import {
  type AskedAck,
  createAckRequests,
  type DeliveryDeps,
  type DeliveryPort,
  type DeliveryStats,
} from '../core/delivery.js';
import { isId } from '../core/ids.js';
import { sendArguments } from '../core/socketBridge.js';
import type { Logger } from '../core/types.js';
import type { ClientRecord } from '../store/clientStore.js';
import type { ClusterLocalStore, ClusterRecord } from './localStore.js';
import { memberAt, memberSeq, parseMember } from './redis/parse.js';
import type { Deletion } from './redis/records.js';
import type { RedisClusterStore } from './redis/RedisClusterStore.js';
import { isUnavailable } from './redis/retry.js';

/** How long a stream of a client this node does not hold is kept (a notice that came before its claim's reply). */
const STRAY_STREAM_MS = 30_000;
/** How long a gap in the messages that came waits for the missing notice before they are read from Redis. */
const REPAIR_DELAY_MS = 100;
/** How long a read of the outbox that got no answer waits before it is tried again. */
const RETRY_DELAY_MS = 500;

/** The owner's side of one client's message stream on this node. */
interface Stream extends AskedAck {
  /** The socket this node feeds, once the client's outbox was flushed on it; `null` otherwise. */
  socketId: string | null;
  /** The last sequence number sent on `socketId`, in order. */
  sent: number;
  /** Messages that came (a notice, an own emit) and cannot go out yet: a gap before them, or no flushed socket. */
  held: Map<number, string>;
  /** Rises with every flush: a read of the outbox answered for an older one is dropped. */
  generation: number;
  /** The generation whose read of the outbox is running (nothing goes out meanwhile), or `null`. */
  fetching: number | null;
  timer: NodeJS.Timeout | null;
  /** The highest sequence number and acknowledgement seen here, and when the oldest unacknowledged was queued (views). */
  seq: number;
  acked: number;
  oldestAt: number | null;
  touched: number;
  /** About the size of the unacknowledged messages (Redis's `obytes` at the last acknowledgement, plus what came since). */
  bytes: number;
}

/**
 * The owner's side of delivery in cluster mode (docs/design.md, "Delivery across reconnects"):
 * outboxes live in Redis with the client records, and the client's owner sends what is queued for
 * it: its own emits from the `emit` script's reply, other nodes' from a `message` notice,
 * everything unacknowledged on each new socket (after `supervisor:resume`), and whatever a lost
 * notice left out once a gap shows (or the periodic reconcile finds it behind). The browser helper
 * drops what it already has, so a resend is harmless and a page sees each message once, in order.
 * It is the core's delivery port on a node (made by the core through its `delivery` seam, with
 * the core's socket bridge), plus what the node's other parts tell it.
 */
export function createOwnerStreams<TData>(
  deps: DeliveryDeps<TData>,
  node: { store: RedisClusterStore<TData>; local: ClusterLocalStore<TData>; logger: Logger },
) {
  const { store, local, logger } = node;
  const { bridge, publish, now, limits } = deps;
  const streams = new Map<string, Stream>();
  const stats: DeliveryStats = { sent: 0, resent: 0, acked: 0, undelivered: 0, ignoredAcks: 0 };
  // as on one node: past half of either bound the page is asked to acknowledge now (issue 21)
  const askIfFull = createAckRequests(limits, bridge);

  function undelivered(clientId: string, count: number, reason: string): void {
    stats.undelivered += count;
    publish({ type: 'undelivered', clientId, at: now(), count, reason });
  }

  function streamOf(clientId: string): Stream {
    let stream = streams.get(clientId);
    if (!stream) {
      stream = {
        socketId: null,
        sent: 0,
        held: new Map(),
        generation: 0,
        fetching: null,
        timer: null,
        seq: 0,
        acked: 0,
        oldestAt: null,
        touched: Date.now(),
        bytes: 0,
        askedAt: -1,
      };
      streams.set(clientId, stream);
    }
    stream.touched = Date.now();
    return stream;
  }

  /** The record if the client is connected here on `socketId`. */
  function connectedOn(clientId: string, socketId: string | null): ClusterRecord<TData> | undefined {
    const record = local.get(clientId);
    return socketId !== null && record?.state === 'connected' && record.socketId === socketId ? record : undefined;
  }

  function seen(stream: Stream, seq: number, at: number): void {
    if (seq <= stream.seq) return;
    if (stream.seq <= stream.acked) stream.oldestAt = at;
    stream.seq = seq;
  }

  function send(socketId: string, member: string): void {
    const message = parseMember(member);
    sendArguments(bridge, socketId, message.seq, message.event, message.args);
  }

  /** Sends what is held and next in line; a gap left there is read from Redis if it does not fill soon. */
  function pump(clientId: string, stream: Stream): void {
    if (stream.fetching !== null || !connectedOn(clientId, stream.socketId)) return;
    const socketId = stream.socketId!;
    for (let next = stream.held.get(stream.sent + 1); next !== undefined; next = stream.held.get(stream.sent + 1)) {
      stream.held.delete(stream.sent + 1);
      stream.sent += 1;
      send(socketId, next);
    }
    for (const seq of stream.held.keys()) if (seq <= stream.sent) stream.held.delete(seq);
    if (stream.held.size > 0) later(clientId, stream, REPAIR_DELAY_MS, false);
    askIfFull(stream, socketId, stream.sent - stream.acked, stream.bytes, Date.now());
  }

  /** A message for a client this node owns (its own emit, or a notice): sent in order, once the socket is flushed. */
  function receive(clientId: string, member: string): void {
    const fresh = !streams.has(clientId);
    const stream = streamOf(clientId);
    if (fresh) {
      // connected here with an outbox that was empty at its claim (so no stream was kept): from 1
      const record = local.get(clientId);
      if (record?.state === 'connected') stream.socketId = record.socketId;
    }
    const seq = memberSeq(member);
    // Redis counts the bytes of the member as queued
    if (seq > stream.seq) stream.bytes += Buffer.byteLength(member);
    seen(stream, seq, memberAt(member));
    if (stream.socketId !== null && stream.fetching === null && seq <= stream.sent) return;
    // Redis has them all: past the bound, what is held here is read again rather than kept
    if (stream.held.size >= limits.maxMessages) stream.held.clear();
    stream.held.set(seq, member);
    pump(clientId, stream);
  }

  function later(clientId: string, stream: Stream, delay: number, resume: boolean): void {
    if (stream.timer !== null) return;
    const generation = stream.generation;
    stream.timer = setTimeout(() => {
      stream.timer = null;
      if (streams.get(clientId) === stream && stream.generation === generation) run(clientId, stream, resume);
    }, delay);
    stream.timer.unref();
  }

  /**
   * Reads the unacknowledged messages from Redis and sends them in order on the stream's socket:
   * all of them after `supervisor:resume` on a new socket (`resume`), or those after the last one
   * sent (a gap). Nothing else goes out on the socket meanwhile.
   */
  async function fetch(clientId: string, stream: Stream, resume: boolean): Promise<void> {
    const generation = stream.generation;
    const socketId = stream.socketId;
    if (!connectedOn(clientId, socketId)) return;
    stream.fetching = generation;
    let read: Awaited<ReturnType<typeof store.readOutbox>>;
    try {
      read = await store.readOutbox(clientId, resume ? 0 : stream.sent);
    } catch (error) {
      if (stream.fetching === generation) stream.fetching = null;
      if (!isUnavailable(error)) throw error;
      // a new socket still has to be told where its stream resumes
      if (stream.generation === generation) later(clientId, stream, RETRY_DELAY_MS, resume);
      return;
    }
    if (stream.generation !== generation || streams.get(clientId) !== stream) return;
    stream.fetching = null;
    if (read.outcome === 'gone' || !connectedOn(clientId, socketId)) return;
    stream.acked = Math.max(stream.acked, read.acked);
    seen(stream, read.seq, read.members[0] === undefined ? Date.now() : memberAt(read.members[0]));
    if (resume) {
      // everything unacknowledged, as Redis counts it
      stream.bytes = 0;
      for (const member of read.members) stream.bytes += Buffer.byteLength(member);
    }
    if (resume || read.acked > stream.sent) {
      // every message up to acked was processed by a page of this client
      bridge.resume(socketId!, read.acked);
      stream.sent = read.acked;
    }
    for (const member of read.members) {
      if (memberSeq(member) !== stream.sent + 1) continue;
      stream.sent += 1;
      send(socketId!, member);
      if (resume) stats.resent += 1;
    }
    pump(clientId, stream);
  }

  /**
   * The client has a new socket here (connected, reconnected, a swap): everything unacknowledged
   * goes out on it after `supervisor:resume`. The claim told how much there is; only a client
   * with unacknowledged messages costs a read of its outbox.
   */
  function flush(record: ClientRecord<TData>): void {
    const { clientId, socketId } = record;
    const part = (record as ClusterRecord<TData>).cluster;
    const counters = part.outbox;
    part.outbox = null;
    // a client never sent anything costs nothing here (its first message makes its stream)
    if (counters !== null && counters.seq === 0 && !streams.has(clientId)) return;
    const stream = streamOf(clientId);
    stream.generation += 1;
    stream.fetching = null;
    if (stream.timer !== null) {
      clearTimeout(stream.timer);
      stream.timer = null;
    }
    stream.socketId = socketId;
    stream.sent = 0;
    // a request to the previous socket is void
    stream.askedAt = -1;
    if (counters !== null && counters.seq === counters.acked) {
      stream.acked = Math.max(stream.acked, counters.acked);
      seen(stream, counters.seq, Date.now());
      if (counters.seq > 0 && socketId !== null) bridge.resume(socketId, counters.acked);
      stream.sent = counters.acked;
      pump(clientId, stream);
      return;
    }
    run(clientId, stream, true);
  }

  function run(clientId: string, stream: Stream, resume: boolean): void {
    fetch(clientId, stream, resume).catch((error) =>
      logger.warn({ err: error, clientId }, 'socket.io-supervisor/cluster: could not read an outbox'),
    );
  }

  function acknowledge(clientId: string, seq: unknown): void {
    if (!Number.isSafeInteger(seq) || (seq as number) < 0 || !isId(clientId)) {
      stats.ignoredAcks += 1;
      return;
    }
    store.ack(clientId, seq as number).then(
      (result) => {
        if (result.outcome === 'ignored') stats.ignoredAcks += 1;
        if (result.outcome !== 'acked') return;
        stats.acked += result.trimmed;
        const stream = streams.get(clientId);
        if (stream && result.acked > stream.acked) {
          stream.acked = result.acked;
          stream.oldestAt = result.oldestAt;
          stream.bytes = result.bytes;
          stream.askedAt = -1;
        }
      },
      // the page acknowledges again with its next batch, or on its next socket
      (error) => logger.debug({ err: error, clientId }, 'socket.io-supervisor/cluster: an acknowledgement was lost'),
    );
  }

  /** The deletion this node runs dropped the client's outbox: reported once cluster-wide, by its first run. */
  function reportDeletion(deletion: Deletion<TData>): void {
    if (!deletion.redelivered && deletion.undelivered > 0) {
      undelivered(deletion.clientId, deletion.undelivered, deletion.reason);
    }
  }

  function forget(clientId: string, deleted: boolean): void {
    const stream = streams.get(clientId);
    if (!stream) return;
    if (stream.timer !== null) clearTimeout(stream.timer);
    stream.timer = null;
    stream.generation += 1;
    stream.fetching = null;
    stream.socketId = null;
    if (deleted) streams.delete(clientId);
  }

  const port: DeliveryPort<TData> = {
    flush,
    acknowledge,
    drop: (clientId) => forget(clientId, true),
    outboxOf(clientId) {
      const stream = streams.get(clientId);
      if (!stream || stream.seq <= stream.acked) return { depth: 0, oldestAt: null };
      return { depth: stream.seq - stream.acked, oldestAt: stream.oldestAt };
    },
    stats: () => ({ ...stats }),
  };

  return {
    ...port,
    /** A message for a client this node owns (its own emit, or a `message` notice): sent in order. */
    receive,
    /** An emit from this node was queued in Redis. */
    countSent(): void {
      stats.sent += 1;
    },
    /** Messages dropped because their client was deleted or unknown: counted, and an `undelivered` event. */
    undelivered,
    reportDeletion,
    /** This node let the client go (another node owns it now, or it was deleted): nothing more goes out from here. */
    forget,
    /** Reconcile: Redis's last sequence number for a client owned here; a stream behind it reads what it missed. */
    check(clientId: string, seq: number): void {
      const stream = streams.get(clientId);
      if (!stream || stream.socketId === null || stream.fetching !== null || seq <= stream.sent) return;
      later(clientId, stream, 0, false);
    },
    /** The last sequence number this node knows of for a client (what a restore after Redis lost its data writes back). */
    knownSeq(clientId: string, claimed: number): number {
      const stream = streams.get(clientId);
      return Math.max(claimed, stream?.seq ?? 0, stream?.sent ?? 0);
    },
    /** After a restore: the outbox was lost; the page is told its stream resumes after `seq`. */
    restored(clientId: string, seq: number): void {
      const stream = streamOf(clientId);
      stream.held.clear();
      stream.seq = Math.max(stream.seq, seq);
      stream.acked = stream.seq;
      stream.sent = stream.seq;
      stream.bytes = 0;
      stream.generation += 1;
      stream.fetching = null;
      const record = local.get(clientId);
      if (record?.state === 'connected' && record.socketId !== null) {
        stream.socketId = record.socketId;
        if (seq > 0) bridge.resume(record.socketId, seq);
      }
    },
    /** Forgets the streams of clients this node does not hold (notices that came for a claim that never came). */
    sweepStray(): void {
      const before = Date.now() - STRAY_STREAM_MS;
      for (const [clientId, stream] of streams) {
        if (stream.touched < before && local.get(clientId) === undefined) forget(clientId, true);
      }
    },
    /** Streams held (leak checks). */
    size: () => streams.size,
  };
}

/** The owner streams of a node. */
export type OwnerStreams<TData> = ReturnType<typeof createOwnerStreams<TData>>;
