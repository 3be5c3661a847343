import type { SupervisorHealth } from '../core/health.js';
import type { SupervisorCore } from '../core/supervisor.js';
import { type NodeActor, leaseLeft } from './nodeMachine.js';
import type { NodeContext } from './nodeState.js';

/**
 * This node in the cluster, as `health()` reports it. More fields may be added; none will be
 * removed.
 */
export interface ClusterNodeHealth {
  /** This process's node id. */
  nodeId: string;
  /** Its current incarnation (a new one after each rejoin). */
  incarnation: number;
  /** Joined, and not in the middle of a rejoin (after being fenced or a Redis reset). */
  joined: boolean;
  /** The node machine's state (docs/node-lifecycle.md): `serving` and `suspect` serve, `fenced` and `rejoining` do not. */
  state: 'joining' | 'serving' | 'suspect' | 'fenced' | 'rejoining' | 'leaving' | 'closed';
  /**
   * How long (ms) the node may still serve without another acknowledged heartbeat: its lease, which
   * ends before any other node may take its clients over. 0 once it ended.
   */
  leaseLeft: number;
  /** Whether the last call to Redis answered (`unavailable`: it timed out or the connection is down). */
  redis: 'ok' | 'unavailable';
}

/**
 * A cluster node's `health()`: the single node's answer (for what this node holds) and the node's
 * own state. `ready` also needs the node joined and Redis reachable: a node that cannot reach Redis
 * refuses handshakes `UNAVAILABLE`, so the load balancer should send them elsewhere. `live` does not
 * depend on Redis: restarting the process would not bring Redis back.
 */
export interface ClusterHealth extends SupervisorHealth {
  /** The node in the cluster. */
  node: ClusterNodeHealth;
}

/** `health()` of a node: the core's answer, narrowed by the node's state (from memory, no Redis call). */
export function createHealth<TData>(
  node: NodeContext<TData>,
  core: Pick<SupervisorCore<TData>, 'health'>,
  incarnation: () => number,
  machine: () => NodeActor | null,
): () => ClusterHealth {
  const { state, store } = node;
  return function health() {
    const own = core.health();
    const actorOrNull = machine();
    const closing = own.closing || state.closing;
    const redis = state.unavailable ? 'unavailable' : 'ok';
    return {
      ...own,
      ready: own.ready && !closing && state.ready && redis === 'ok',
      closing,
      node: {
        nodeId: store.nodeId,
        incarnation: incarnation(),
        joined: state.ready,
        state: state.life,
        leaseLeft: actorOrNull === null ? 0 : leaseLeft(actorOrNull),
        redis,
      },
    };
  };
}
