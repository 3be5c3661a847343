import type { ClientCounts, LiveState } from '../core/types.js';
import type { ClientRecord, ClientSnapshot, ClientStatus, ClientStore, Commit } from './clientStore.js';
import { DeadlineIndex } from './deadlineIndex.js';
import { Tombstones } from './tombstones.js';

/**
 * The in-memory client store: one process's records, deadlines and tombstones. Cluster mode's
 * node mirror extends it (its records carry more, its deadlines live in Redis).
 */
export class MemoryStore<TData = unknown, R extends ClientRecord<TData> = ClientRecord<TData>>
  implements ClientStore<TData>
{
  protected readonly held = new Map<string, R>();
  /** Deleted ids, until their tombstone expires (every one at `now + tombstoneTtl`). */
  protected readonly tombstones = new Tombstones();
  readonly deadlines = new DeadlineIndex<ClientRecord<TData>>();
  protected readonly byState: Record<LiveState, number> = { handshaking: 0, connected: 0, disconnected: 0 };

  constructor(
    private readonly tombstoneTtl: number,
    private readonly maxTombstones: number,
  ) {}

  get size(): number {
    return this.held.size;
  }

  get(clientId: string): R | undefined {
    return this.held.get(clientId);
  }

  status(clientId: string, now: number): ClientStatus {
    const record = this.held.get(clientId);
    if (record) return record.state === 'deleted' ? 'deleted' : 'live';
    return this.tombstones.holds(clientId, now) ? 'deleted' : 'unknown';
  }

  counts(): ClientCounts {
    const { handshaking, connected, disconnected } = this.byState;
    return { handshaking, connected, disconnected, total: handshaking + connected + disconnected };
  }

  records(): IterableIterator<R> {
    return this.held.values();
  }

  add(record: ClientRecord<TData>): void {
    // a record of the same id replaced (cluster mode: a client back on this node) stops counting
    const existing = this.held.get(record.clientId);
    if (existing && existing.state !== 'deleted') this.byState[existing.state] -= 1;
    this.held.set(record.clientId, record as R);
    this.tombstones.delete(record.clientId);
    if (record.state !== 'deleted') this.byState[record.state] += 1;
    this.setDeadline(record);
  }

  commit(record: ClientRecord<TData>, snapshot: ClientSnapshot | null): Commit {
    // a record committed here is held: only cluster mode lets a record go or holds a newer one of
    // the same client, and its store checks (so a transition is one look-up, the caller's)
    this.apply(record, snapshot, true);
    this.setDeadline(record);
    return undefined;
  }

  remove(clientId: string, now: number): void {
    const record = this.held.get(clientId);
    if (!record) return;
    if (record.state !== 'deleted') this.byState[record.state] -= 1;
    this.held.delete(clientId);
    this.deadlines.delete(record);
    if (this.tombstoneTtl > 0 && this.maxTombstones > 0) {
      this.tombstones.add(clientId, now + this.tombstoneTtl);
    }
    this.expireTombstones(now);
  }

  expireTombstones(now: number): number {
    // bounded: a flood of deletes forgets the oldest tombstones first
    return this.tombstones.expire(now, this.maxTombstones);
  }

  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  clearTombstones(): void {
    this.tombstones.clear();
  }

  /**
   * Writes what the machine decided into the record (`null`: deleted), keeping the counts right.
   * `held`: whether this store holds this very record (one no longer held, in cluster mode a
   * client this node let go, is not counted).
   */
  protected apply(record: ClientRecord<TData>, snapshot: ClientSnapshot | null, held: boolean): void {
    if (held && record.state !== 'deleted') this.byState[record.state] -= 1;
    if (snapshot === null) {
      // the view onDelete gets keeps the socket the client had (ClientView.socketId)
      record.state = 'deleted';
      record.expiresAt = null;
      return;
    }
    // one assignment per key of ClientSnapshot rather than a loop over SNAPSHOT_KEYS: this runs on
    // every transition, and a loop costs ~170 ns where these cost ~8 (measured on node 20); the
    // property tests check after every command that the record holds the machine's snapshot
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

  /** The deadline follows the snapshot: set while handshaking or disconnected, gone otherwise. */
  protected setDeadline(record: ClientRecord<TData>): void {
    if (record.expiresAt === null || record.state === 'connected' || record.state === 'deleted') {
      this.deadlines.delete(record);
    } else {
      this.deadlines.set(record, record.expiresAt, record.generation);
    }
  }
}
