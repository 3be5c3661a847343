import type { ActorRefFrom } from 'xstate';
import type { clientMachine } from '../machines/client.machine.js';
import type { ClientCounts, ClientState, SupervisorStats } from '../types.js';
import { ExpiryQueue } from './expiryQueue.js';

export type ClientActor = ActorRefFrom<typeof clientMachine>;

/** What the supervisor keeps per live client besides its actor's snapshot. */
export interface ClientRecord<TData = unknown> {
  clientId: string;
  /** The private resume token; `null` for clients created without credentials. Never logged. */
  token: string | null;
  data: TData;
  actor: ClientActor | null;
  /** The state the supervisor last saw, for counts. */
  state: ClientState;
}

export interface Deadline {
  clientId: string;
  at: number;
  generation: number;
}

/** Deadlines of one kind (handshake or reconnect), in firing order. */
export class DeadlineQueue {
  private readonly queue = new ExpiryQueue<number>();

  set(deadline: Deadline): void {
    this.queue.set(deadline.clientId, deadline.at, deadline.generation);
  }

  delete(clientId: string): void {
    this.queue.delete(clientId);
  }

  get size(): number {
    return this.queue.size;
  }

  /** The earliest deadline, or `undefined` when none is pending. */
  first(): Deadline | undefined {
    const head = this.queue.peek();
    return head ? { clientId: head.key, at: head.at, generation: head.value } : undefined;
  }

  /** Deadlines with `at <= now`, earliest first. */
  due(now: number, limit?: number): Deadline[] {
    return this.queue.due(now, limit).map((node) => ({ clientId: node.key, at: node.at, generation: node.value }));
  }
}

/**
 * The in-memory client store. Everything the supervisor remembers lives behind this one class,
 * so a shared store (Redis, for cluster mode) can be a second implementation of the same shape.
 */
export class MemoryStore<TData = unknown> {
  readonly records = new Map<string, ClientRecord<TData>>();
  /** Deleted ids and when their tombstone expires. */
  private readonly tombstones = new ExpiryQueue();
  readonly handshakeDeadlines = new DeadlineQueue();
  readonly reconnectDeadlines = new DeadlineQueue();
  private readonly byState = { handshaking: 0, connected: 0, disconnected: 0 };
  readonly stats: SupervisorStats = { ignored: {}, deleted: {}, rejected: {}, hookErrors: 0 };

  constructor(
    private readonly tombstoneTtl: number,
    private readonly maxTombstones: number,
  ) {}

  get size(): number {
    return this.records.size;
  }

  counts(): ClientCounts {
    const { handshaking, connected, disconnected } = this.byState;
    return { handshaking, connected, disconnected, total: handshaking + connected + disconnected };
  }

  /** Moves a record to `state`, keeping the counts right. */
  setState(record: ClientRecord<TData>, state: ClientState): void {
    if (record.state === state) return;
    if (record.state !== 'deleted') this.byState[record.state] -= 1;
    if (state !== 'deleted') this.byState[state] += 1;
    record.state = state;
  }

  add(record: ClientRecord<TData>): void {
    this.records.set(record.clientId, record);
    if (record.state !== 'deleted') this.byState[record.state] += 1;
  }

  /** Forgets a live client and remembers its id as deleted for `tombstoneTtl`. */
  remove(clientId: string, now: number): void {
    const record = this.records.get(clientId);
    if (!record) return;
    this.setState(record, 'deleted');
    this.records.delete(clientId);
    this.handshakeDeadlines.delete(clientId);
    this.reconnectDeadlines.delete(clientId);
    if (this.tombstoneTtl > 0 && this.maxTombstones > 0) {
      this.tombstones.set(clientId, now + this.tombstoneTtl, undefined);
      // bounded: a flood of deletes forgets the oldest tombstones first
      if (this.tombstones.size > this.maxTombstones) this.tombstones.shift();
    }
  }

  /** Whether `clientId` was deleted less than `tombstoneTtl` ago; expires it lazily. */
  isTombstoned(clientId: string, now: number): boolean {
    const expiresAt = this.tombstones.get(clientId)?.at;
    if (expiresAt === undefined) return false;
    if (expiresAt <= now) {
      this.tombstones.delete(clientId);
      return false;
    }
    return true;
  }

  /** Drops every expired tombstone; O(expired). */
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

  clearTombstone(clientId: string): void {
    this.tombstones.delete(clientId);
  }

  clearTombstones(): void {
    this.tombstones.clear();
  }

  /** The earliest pending deadline of either kind. */
  nextDeadline(): number | undefined {
    const a = this.handshakeDeadlines.first()?.at;
    const b = this.reconnectDeadlines.first()?.at;
    if (a === undefined) return b;
    if (b === undefined) return a;
    return Math.min(a, b);
  }

  count<K extends 'ignored' | 'deleted' | 'rejected'>(kind: K, key: string): void {
    const table = this.stats[kind] as Record<string, number>;
    table[key] = (table[key] ?? 0) + 1;
  }
}
