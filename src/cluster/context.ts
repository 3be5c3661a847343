import type { SupervisorInternals } from '../core/internals.js';
import type { Logger } from '../core/types.js';
import { viewOf } from '../core/view.js';
import type { ClientSnapshot } from '../machines/clientSnapshot.js';
import { snapshotFields } from '../machines/clientSnapshot.js';
import type { ClusterClientView, ClusterEvent } from './clusterTypes.js';
import type { ClusterDelivery } from './delivery.js';
import type { ClusterLocalStore, ClusterRecord } from './localStore.js';
import type { RedisClusterStore } from './RedisClusterStore.js';
import type { ClusterClientRecord, OutboxSummary } from './types.js';

/** What the parts of a cluster node share: the Redis store, the local mirror, the core, its state. */
export interface ClusterContext<TData> {
  readonly store: RedisClusterStore<TData>;
  readonly local: ClusterLocalStore<TData>;
  /** The node's core supervisor (set once it exists). */
  core(): SupervisorInternals<TData>;
  /** The node's delivery (set with the core). */
  delivery(): ClusterDelivery<TData>;
  emit(event: ClusterEvent): void;
  readonly logger: Logger;
  readonly hasOnDelete: boolean;
  readonly state: {
    /**
     * Rises each time this node is fenced (its incarnation declared dead): hooks queued before
     * must not run, and work begun before must not be finished.
     */
    lossEpoch: number;
    /** `close()` began: no new handshake or registration. */
    closing: boolean;
    /** Joined and not in the middle of rejoining. */
    ready: boolean;
    /** A delete, sweep or reap went unanswered: ask Redis for this node's pending deletions. */
    needPending: boolean;
    /** The last call to Redis failed as unreachable. */
    unavailable: boolean;
  };
}

/** The snapshot fields of a Redis record. */
export function snapshotOf(record: ClusterClientRecord<unknown>): ClientSnapshot {
  return snapshotFields(record);
}

/** A new local record for a client as Redis holds it. `token` is '' for a client only being deleted here. */
export function recordFrom<TData>(
  redis: ClusterClientRecord<TData>,
  token: string,
  tokenHash: string,
): ClusterRecord<TData> {
  return {
    clientId: redis.clientId,
    ...snapshotOf(redis),
    token,
    data: redis.data,
    address: null,
    actor: null,
    cluster: { fence: redis.fence, tokenHash, expected: [], lost: null, deletion: null, outbox: null },
  };
}

const EMPTY_OUTBOX: OutboxSummary = { depth: 0, oldestAt: null };

/** What `get()` and `list()` return: the record and its outbox, as Redis holds them. */
export function toClusterView<TData>(
  record: ClusterClientRecord<TData>,
  outbox: OutboxSummary = EMPTY_OUTBOX,
): ClusterClientView<TData> {
  return { ...viewOf(record, { ...outbox }), node: record.node, fence: record.fence };
}

/** Stops a record's actor without any transition: its record keeps the snapshot (like passivation). */
export function stopActor<TData>(ctx: ClusterContext<TData>, record: ClusterRecord<TData>): void {
  if (record.actor === null) return;
  const core = ctx.core();
  core.host.release(record);
  // the supervisor (the actor's parent) stops it in this step
  core.send({ type: 'clients.passivate' });
}
