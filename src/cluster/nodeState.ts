import type { Logger } from '../core/types.js';
import type { ClusterEvent } from './clusterEvents.js';
import type { ClusterLocalStore } from './localStore.js';
import type { RedisClusterStore } from './redis/RedisClusterStore.js';

/** What the parts of a node decide by: one object, so every part sees a change at once. */
export interface NodeState {
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
}

/**
 * What every part of a node works with, all made before the core: the Redis layer, the mirror of
 * the clients the node holds, the node's state, its clock and logger, and its `cluster$` reports.
 * What a part needs of the core or of another part, it is given when it is made
 * (`createClusterSupervisor()` makes them in order).
 */
export interface NodeContext<TData> {
  readonly store: RedisClusterStore<TData>;
  readonly local: ClusterLocalStore<TData>;
  readonly state: NodeState;
  readonly logger: Logger;
  /** The node's clock (the core's `now` option). */
  readonly now: () => number;
  /** Reports what happens to this node on `cluster$`. */
  emit(event: ClusterEvent): void;
}

/** A node that has not joined yet. */
export function initialState(): NodeState {
  return { lossEpoch: 0, closing: false, ready: false, needPending: false, unavailable: false };
}
