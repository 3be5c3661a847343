import type { Observable } from 'rxjs';
import type { AnyStateMachine } from 'xstate';
import type { HookTiming } from './hookRunner.js';
import type {
  ClientCounts,
  ClientView,
  DeleteReason,
  LifecycleEvent,
  LiveState,
  Logger,
  SupervisorStats,
} from './types.js';

/** A client as the inspector shows it: the view, plus its node in cluster mode. */
export type InspectedClient = ClientView & { node?: string | null; fence?: number };

/** A node of a cluster, as the inspector shows it. */
export interface InspectedNode {
  node: string;
  incarnation: number;
  state: string;
  clients: number;
  heartbeatAt: number;
}

/**
 * What the inspector and the metrics read of a supervisor, whatever its kind: a single process's
 * (everything in memory, answered at once) or a cluster node's (the whole cluster read from Redis,
 * answered by promises). Each kind registers its own with {@link registerInspectable}, so the
 * inspector imports neither the cluster code nor node-redis.
 */
export interface Inspectable {
  /** `true` for a cluster node: its list covers every node and is refreshed from Redis. */
  cluster: boolean;
  /** This node's id (cluster mode), else `null`. */
  nodeId: string | null;
  now(): number;
  settings: { reconnectTimeout: number; handshakeTimeout: number; tombstoneTtl: number };
  logger: Logger;
  /** This process's lifecycle events. */
  events$: Observable<LifecycleEvent>;
  /** Single node: every client, from memory. Cluster mode: not given (see {@link listPage}). */
  list?(): InspectedClient[];
  /**
   * Cluster mode: one page of every node's clients, read from Redis (about `limit`, in no order;
   * `cursor` is the previous page's, `null` at the end). The inspector reads only the pages its
   * viewers show, never the whole cluster.
   */
  listPage?(query: {
    state?: LiveState;
    cursor?: string;
    limit: number;
  }): Promise<{ clients: InspectedClient[]; cursor: string | null }>;
  get(clientId: string): InspectedClient | undefined | Promise<InspectedClient | undefined>;
  /** Clients by state (cluster mode: cluster-wide, with the number of live nodes). */
  counts(): (ClientCounts & { nodes?: number }) | Promise<ClientCounts & { nodes?: number }>;
  /** The clients this process holds, by state. */
  localCounts(): ClientCounts;
  /** The live nodes (cluster mode), else an empty list. */
  nodes(): InspectedNode[] | Promise<InspectedNode[]>;
  /** Cluster mode: this node's own lifecycle machine (drawn beside the client's) and the state it is in. */
  nodeMachine?: { machine: AnyStateMachine; state(): string };
  /** This process's counters. */
  stats(): SupervisorStats;
  delete(clientId: string, reason: DeleteReason): boolean | Promise<boolean>;
  prune(): number | Promise<number>;
  /** Hook durations of this process (metrics); returns the unsubscribe function. */
  onHookSettled(listener: (timing: HookTiming) => void): () => void;
}

const inspectables = new WeakMap<object, Inspectable>();

export function registerInspectable(supervisor: object, inspectable: Inspectable): void {
  inspectables.set(supervisor, inspectable);
}

/** What the inspector and the metrics read of `supervisor` (single node or cluster node). */
export function inspectableOf(supervisor: object): Inspectable {
  const inspectable = inspectables.get(supervisor);
  if (!inspectable) {
    throw new TypeError(
      'socket.io-supervisor: not a supervisor made by createSupervisor() or createClusterSupervisor()',
    );
  }
  return inspectable;
}
