import type { ClientCounts, LifecycleEvent, LiveState } from '../core/types.js';
import type { ClientRecord, ClientSnapshot, ClientStatus, ClientStore, Commit } from '../store/clientStore.js';
import { DeadlineIndex } from '../store/deadlineIndex.js';
import { ExpiryQueue } from '../store/expiryQueue.js';
import type { LostWhy } from './clusterTypes.js';
import type { OutboxCounters } from './types.js';

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
 * A node's mirror of the clients it owns (cluster mode): the records its client actors run on,
 * the same as the memory store's, but with no deadlines (Redis holds them and every node sweeps
 * them) and with every transition committed to Redis before its hooks run.
 */
export class ClusterLocalStore<TData = unknown> implements ClientStore<TData> {
  private readonly held = new Map<string, ClusterRecord<TData>>();
  private readonly tombstones = new ExpiryQueue();
  /** Always empty: the core arms no deadline timer on a node. */
  readonly deadlines = new DeadlineIndex();
  private readonly byState: Record<LiveState, number> = { handshaking: 0, connected: 0, disconnected: 0 };

  constructor(private readonly options: LocalStoreOptions<TData>) {}

  get size(): number {
    return this.held.size;
  }

  get(clientId: string): ClusterRecord<TData> | undefined {
    return this.held.get(clientId);
  }

  status(clientId: string, now: number): ClientStatus {
    const record = this.held.get(clientId);
    if (record) return record.state === 'deleted' ? 'deleted' : 'live';
    const expiresAt = this.tombstones.get(clientId)?.at;
    return expiresAt !== undefined && expiresAt > now ? 'deleted' : 'unknown';
  }

  counts(): ClientCounts {
    const { handshaking, connected, disconnected } = this.byState;
    return { handshaking, connected, disconnected, total: handshaking + connected + disconnected };
  }

  records(): IterableIterator<ClusterRecord<TData>> {
    return this.held.values();
  }

  add(record: ClientRecord<TData>): void {
    const clusterRecord = record as ClusterRecord<TData>;
    const existing = this.held.get(record.clientId);
    if (existing && existing.state !== 'deleted') this.byState[existing.state] -= 1;
    this.held.set(record.clientId, clusterRecord);
    this.tombstones.delete(record.clientId);
    if (record.state !== 'deleted') this.byState[record.state] += 1;
  }

  commit(record: ClientRecord<TData>, snapshot: ClientSnapshot | null): Commit {
    const clusterRecord = record as ClusterRecord<TData>;
    const previousSocketId = record.socketId;
    this.apply(clusterRecord, snapshot);
    return this.options.commitRemote(clusterRecord, previousSocketId, snapshot);
  }

  /** Sets a record to what Redis holds (a resync), without any transition of its machine. */
  overwrite(record: ClusterRecord<TData>, snapshot: ClientSnapshot): void {
    this.apply(record, snapshot);
  }

  /** Forgets a deleted client (the supervisor, once its actor is done), keeping a tombstone. */
  remove(clientId: string, now: number): void {
    const record = this.held.get(clientId);
    // a newer record of the same client (it came back to this node meanwhile) stays
    if (record?.state !== 'deleted') return;
    this.held.delete(clientId);
    if (this.options.tombstoneTtl > 0) this.tombstones.set(clientId, now + this.options.tombstoneTtl, undefined);
    this.expireTombstones(now);
  }

  /** Forgets a client this node let go (no tombstone: it lives on elsewhere, or Redis has one). */
  drop(record: ClusterRecord<TData>): void {
    if (this.held.get(record.clientId) !== record) return;
    this.held.delete(record.clientId);
    if (record.state !== 'deleted') this.byState[record.state] -= 1;
  }

  expireTombstones(now: number): number {
    let expired = 0;
    while ((this.tombstones.peek()?.at ?? Number.POSITIVE_INFINITY) <= now) {
      this.tombstones.shift();
      expired += 1;
    }
    return expired;
  }

  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  clearTombstones(): void {
    this.tombstones.clear();
  }

  hookContext(record: ClientRecord<TData>, event: LifecycleEvent): unknown {
    return this.options.hookContext(record as ClusterRecord<TData>, event);
  }

  private apply(record: ClusterRecord<TData>, snapshot: ClientSnapshot | null): void {
    const held = this.held.get(record.clientId) === record;
    if (held && record.state !== 'deleted') this.byState[record.state] -= 1;
    if (snapshot === null) {
      record.state = 'deleted';
      record.expiresAt = null;
      return;
    }
    record.state = snapshot.state;
    record.socketId = snapshot.socketId;
    record.tabId = snapshot.tabId;
    record.createdAt = snapshot.createdAt;
    record.connectedAt = snapshot.connectedAt;
    record.disconnectedAt = snapshot.disconnectedAt;
    record.expiresAt = snapshot.expiresAt;
    record.generation = snapshot.generation;
    if (held) this.byState[snapshot.state] += 1;
  }
}
