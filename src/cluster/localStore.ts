import type { LifecycleEvent, LiveState } from '../core/types.js';
import { snapshotFields } from '../machines/clientSnapshot.js';
import type { ClientRecord, ClientSnapshot, Commit } from '../store/clientStore.js';
import { MemoryStore } from '../store/memoryStore.js';
import type { LostWhy } from './clusterEvents.js';
import type { ClusterClientRecord, OutboxCounters } from './redis/records.js';

/** A transition Redis has already committed, which the client's machine is about to decide too. */
export interface Expected {
  state: LiveState;
  socketId: string | null;
}

/** The deletion a record's `onDelete` runs for (filled when Redis answers a delete this node started). */
export interface DeletionTicket {
  deletionId: string;
  fence: number;
  redelivered: boolean;
}

/** What a node keeps about a client besides its snapshot. */
export interface ClusterPart {
  /** The fence Redis gave this node's ownership (constant while this incarnation owns it). */
  fence: number;
  /** SHA-256 of the token: what `restore()` writes back after Redis lost its data. */
  tokenHash: string;
  /**
   * Transitions Redis committed (claims, a register) that the machine has not decided yet, in
   * Redis order. A transition the machine decides that matches the first is already durable.
   */
  expected: Expected[];
  /** Set when the node let it go; `deleted`: queued hooks must not run (its onDelete runs elsewhere). */
  lost: LostWhy | null;
  deletion: DeletionTicket | null;
  /** The outbox counters the last claim here answered, until the new socket is flushed (how much waits for it). */
  outbox: OutboxCounters | null;
}

/** A record of the local mirror. */
export interface ClusterRecord<TData = unknown> extends ClientRecord<TData> {
  readonly cluster: ClusterPart;
}

/** What the mirror asks of the node: the Redis side of its commits, and the hooks' third argument. */
export interface LocalStoreOptions<TData> {
  tombstoneTtl: number;
  /**
   * Makes a transition the machine decided durable in Redis, unless it is already (`expected`).
   * `previousSocketId` is the socket the client had before it.
   */
  commitRemote(record: ClusterRecord<TData>, previousSocketId: string | null, snapshot: ClientSnapshot | null): Commit;
  /** The third argument of the transition's hooks. */
  hookContext(record: ClusterRecord<TData>, event: LifecycleEvent): unknown;
}

/**
 * A node's mirror of the clients it owns (cluster mode): the memory store's records, counts and
 * tombstones, but no deadlines (Redis holds them and every node sweeps them), and every
 * transition committed to Redis before its hooks run.
 */
export class ClusterLocalStore<TData = unknown> extends MemoryStore<TData, ClusterRecord<TData>> {
  constructor(private readonly options: LocalStoreOptions<TData>) {
    // tombstones bounded by their time only: Redis keeps the cluster's
    super(options.tombstoneTtl, Number.POSITIVE_INFINITY);
  }

  override commit(record: ClientRecord<TData>, snapshot: ClientSnapshot | null): Commit {
    const clusterRecord = record as ClusterRecord<TData>;
    const previousSocketId = record.socketId;
    this.apply(clusterRecord, snapshot, this.holds(clusterRecord));
    return this.options.commitRemote(clusterRecord, previousSocketId, snapshot);
  }

  /** Sets a record to what Redis holds (a resync), without any transition of its machine. */
  overwrite(record: ClusterRecord<TData>, snapshot: ClientSnapshot): void {
    this.apply(record, snapshot, this.holds(record));
  }

  /** Whether this very record is the one held for its client (not one let go, or replaced by a newer one). */
  private holds(record: ClusterRecord<TData>): boolean {
    return this.held.get(record.clientId) === record;
  }

  /** Forgets a deleted client (the supervisor, once its actor is done), keeping a tombstone. */
  override remove(clientId: string, now: number): void {
    // a newer record of the same client (it came back to this node meanwhile) stays
    if (this.held.get(clientId)?.state !== 'deleted') return;
    super.remove(clientId, now);
  }

  /** Forgets a client this node let go (no tombstone: it lives on elsewhere, or Redis has one). */
  drop(record: ClusterRecord<TData>): void {
    if (this.held.get(record.clientId) !== record) return;
    this.held.delete(record.clientId);
    if (record.state !== 'deleted') this.byState[record.state] -= 1;
  }

  hookContext(record: ClientRecord<TData>, event: LifecycleEvent): unknown {
    return this.options.hookContext(record as ClusterRecord<TData>, event);
  }

  /** Redis holds every deadline and every node sweeps them: the core arms no deadline timer on a node. */
  protected override setDeadline(): void {}
}

/** A new record of the mirror for a client as Redis holds it. `token` is '' for a client only being deleted here. */
export function recordFrom<TData>(
  redis: ClusterClientRecord<TData>,
  token: string,
  tokenHash: string,
): ClusterRecord<TData> {
  return {
    clientId: redis.clientId,
    ...snapshotFields(redis),
    token,
    data: redis.data,
    address: null,
    actor: null,
    deadlineSlot: -1,
    idle: null,
    cluster: { fence: redis.fence, tokenHash, expected: [], lost: null, deletion: null, outbox: null },
  };
}
