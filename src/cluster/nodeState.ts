import type { Logger } from '../core/types.js';
import type { ClusterEvent } from './clusterEvents.js';
import type { ClusterLocalStore } from './localStore.js';
import { type NodeActor, type NodeLifeState, nodeLifeState } from './nodeMachine.js';
import type { RedisClusterStore } from './redis/RedisClusterStore.js';

/**
 * What the parts of a node decide by: one object, so every part sees a change at once. The node's
 * lifecycle fields are read off its machine (nodeMachine.ts); the two flags below them are the
 * Redis layer's bookkeeping.
 */
export interface NodeState {
  /** The node machine's state (`joining` until the machine starts). */
  readonly life: NodeLifeState;
  /**
   * Rises each time this node loses its incarnation (fenced, or its lease ran out): hooks queued
   * before must not run, and work begun before must not be finished.
   */
  readonly lossEpoch: number;
  /**
   * `close()` began: no new handshake or registration. Setting it (`close()` does) sends the node
   * machine to `leaving`.
   */
  closing: boolean;
  /** Joined, within its lease, and not in the middle of rejoining: it serves (also while `close()` leaves). */
  readonly ready: boolean;
  /** A delete, sweep or reap went unanswered: ask Redis for this node's pending deletions. */
  needPending: boolean;
  /** The last call to Redis failed as unreachable. */
  unavailable: boolean;
}

/** The node state, and the machine it reads once the machine runs. */
export interface NodeStateHandle extends NodeState {
  /** Reads the lifecycle fields off `actor` from now on. */
  attach(actor: NodeActor): void;
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

/** A node that has not joined yet: its lifecycle fields follow its machine once it is attached. */
export function initialState(): NodeStateHandle {
  let actor: NodeActor | null = null;
  return {
    needPending: false,
    unavailable: false,
    attach(machine) {
      actor = machine;
    },
    get life(): NodeLifeState {
      return actor === null ? 'joining' : nodeLifeState(actor);
    },
    get lossEpoch() {
      return actor?.getSnapshot().context.lossEpoch ?? 0;
    },
    get closing() {
      const life = this.life;
      return life === 'leaving' || life === 'closed';
    },
    set closing(value: boolean) {
      if (value) actor?.send({ type: 'close' });
    },
    get ready() {
      const life = this.life;
      return life === 'serving' || life === 'suspect' || life === 'leaving';
    },
  };
}
