import { inspectableOf, registerInspectable } from '../core/inspectable.js';
import type { Supervisor } from '../createSupervisor.js';
import type { ClusterSupervisor } from './clusterSupervisor.js';
import type { ClusterLocalStore } from './localStore.js';
import { type NodeLifeState, nodeMachine } from './nodeMachine.js';
import type { OwnerStreams } from './ownerStreams.js';
import type { RedisClusterStore } from './redis/RedisClusterStore.js';

/** What the tests and the benchmarks reach beyond the public API of a cluster node. */
export interface ClusterInternals<TData = unknown> {
  /** The node's core supervisor: the clients it holds (its internals through `internalsOf`). */
  core: Supervisor<TData>;
  store: RedisClusterStore<TData>;
  local: ClusterLocalStore<TData>;
  /** The owner's streams of the clients it holds (`outboxOf(id)`, `size()`). */
  delivery: OwnerStreams<TData>;
  /** The node's own lifecycle: its machine's state (`serving`, `suspect`, `rejoining`, ...). */
  life(): NodeLifeState;
}

const clusterInternals = new WeakMap<object, ClusterInternals<never>>();

/**
 * Binds a node to its internals, and registers what the inspector and the metrics read of it: the
 * core's inspectable (this node's events, counters, settings, hook timings) with the cluster's
 * answers in place of the single node's (the API's own methods, of the same names) and the
 * cluster-only extras (its node id, its own share, the live nodes).
 */
export function bindNode<TData>(node: ClusterSupervisor<TData>, inside: ClusterInternals<TData>): void {
  clusterInternals.set(node, inside as unknown as ClusterInternals<never>);
  registerInspectable(node, {
    ...inspectableOf(inside.core),
    get: node.get,
    counts: node.counts,
    delete: node.delete,
    prune: node.prune,
    list: undefined,
    listPage: node.listPage,
    cluster: true,
    nodeId: node.nodeId,
    localCounts: node.localCounts,
    nodes: node.nodes,
    nodeMachine: { machine: nodeMachine, state: inside.life },
  });
}

/** The internals of a node made by `createClusterSupervisor()` (module-internal, not in the published types). */
export function clusterInternalsOf<TData>(supervisor: ClusterSupervisor<TData>): ClusterInternals<TData> {
  const inside = clusterInternals.get(supervisor);
  if (!inside) throw new TypeError('socket.io-supervisor/cluster: not a node made by createClusterSupervisor()');
  return inside as unknown as ClusterInternals<TData>;
}
