import type { ClientCounts, ClientSnapshot, ClientState, LifecycleEvent } from '../core/types.js';
import type { IdleEntry } from '../core/idleQueue.js';
import type { ClientActor } from '../machines/client.machine.js';
import type { DeadlineIndex } from './deadlineIndex.js';

export type { ClientSnapshot };

/** What a node holds for a client: its snapshot fields, its private parts, and its actor while active. */
export interface ClientRecord<TData = unknown> extends Omit<ClientSnapshot, 'state'> {
  readonly clientId: string;
  /** `deleted` from the moment the machine reaches it until the supervisor forgets the record. */
  state: ClientState;
  /** The private resume token. Never logged, never in a view, never reachable from inspection. */
  readonly token: string;
  data: unknown & TData;
  /** The remote address of the client's latest socket (set by the socket.io adapter). */
  address: string | null;
  /** The live XState actor, or `null` while the client is passivated. */
  actor: ClientActor | null;
  /** Where the client's deadline sits in its store's {@link DeadlineIndex} (`-1`: none); the index's own field. */
  deadlineSlot: number;
  /** The client's place in its host's idle queues while its actor is live (`null`: none); the queues' own field. */
  idle: IdleEntry<ClientRecord<TData>> | null;
}

/** What the one deleted-or-unknown check answers for an id. */
export type ClientStatus = 'live' | 'deleted' | 'unknown';

/**
 * A commit's outcome: `undefined` once applied (the memory store), or a promise that settles when
 * the transition is durable (a shared store). Hooks of the transition run only after it resolves;
 * a rejection (a write refused as fenced, in cluster mode) means the transition never happened
 * here and its hooks must not run.
 */
export type Commit = undefined | PromiseLike<void>;

/**
 * Where client records, deadlines and tombstones live. The memory store implements it; cluster
 * mode's Redis store is the second implementation. Reads the supervisor makes while deciding are
 * synchronous (a node answers from the records it holds); a transition the machine has decided
 * is committed through {@link ClientStore.commit}, which may be asynchronous, and the hooks of
 * that transition wait for it.
 */
export interface ClientStore<TData = unknown> {
  /** The record of a client this store holds and that has not been forgotten. */
  get(clientId: string): ClientRecord<TData> | undefined;
  /**
   * The one deleted-or-unknown check: `live` for a client in a non-final state, `deleted` for
   * one that reached `deleted` (still held, or tombstoned less than `tombstoneTtl` ago), else
   * `unknown`. Pure: it never expires anything.
   */
  status(clientId: string, now: number): ClientStatus;
  /** How many clients are held (including any that reached `deleted` and are not yet forgotten). */
  readonly size: number;
  /** Live clients by state. */
  counts(): ClientCounts;
  /** Every held record, in registration order. */
  records(): IterableIterator<ClientRecord<TData>>;
  add(record: ClientRecord<TData>): void;
  /**
   * Commits what the client's machine decided: `snapshot` for a live state, `null` for `deleted`.
   * Keeps the counts and the deadline index in step with it.
   */
  commit(record: ClientRecord<TData>, snapshot: ClientSnapshot | null): Commit;
  /** Forgets a deleted client and remembers its id as deleted for `tombstoneTtl`. */
  remove(clientId: string, now: number): void;
  /** Every pending deadline, earliest first. */
  readonly deadlines: DeadlineIndex;
  /** Drops every expired tombstone (and any past `maxTombstones`); O(expired). */
  expireTombstones(now: number): number;
  clearTombstones(): void;
  readonly tombstoneCount: number;
  /**
   * What the hooks of this transition get as their third argument, taken when the machine
   * decided it (cluster mode: `{ fence, deletionId?, redelivered? }`). Absent on the memory store,
   * whose hooks get two arguments.
   */
  hookContext?(record: ClientRecord<TData>, event: LifecycleEvent): unknown;
}
