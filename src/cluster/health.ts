import type { SupervisorHealth } from '../core/health.js';
import type { SupervisorCore } from '../core/supervisor.js';
import type { NodeContext } from './nodeState.js';

/**
 * This node in the cluster, as `health()` reports it. More fields may be added (the node's lease,
 * when it has one); none will be removed.
 */
export interface ClusterNodeHealth {
  /** This process's node id. */
  nodeId: string;
  /** Its current incarnation (a new one after each rejoin). */
  incarnation: number;
  /** Joined, and not in the middle of a rejoin (after being fenced or a Redis reset). */
  joined: boolean;
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
): () => ClusterHealth {
  const { state, store } = node;
  return function health() {
    const own = core.health();
    const closing = own.closing || state.closing;
    const redis = state.unavailable ? 'unavailable' : 'ok';
    return {
      ...own,
      ready: own.ready && !closing && state.ready && redis === 'ok',
      closing,
      node: { nodeId: store.nodeId, incarnation: incarnation(), joined: state.ready, redis },
    };
  };
}
