import type { Observable } from 'rxjs';
import type { RegisterOptions, Registration } from '../core/supervisor.js';
import type { ClientCounts, DeleteReason, LifecycleEvent, SupervisorEvent, SupervisorStats } from '../core/types.js';
import type { ClientActor } from '../machines/client.machine.js';
import type { SupervisorActor } from '../machines/supervisor.machine.js';
import type { AttachOptions, AttachTarget } from '../server/attach.js';
import type { ClusterEvent } from './clusterEvents.js';
import type { ClusterHealth } from './health.js';
import type {
  ClusterClientView,
  ClusterCounts,
  ClusterListFilter,
  ClusterListOptions,
  ClusterListPage,
  ClusterNode,
} from './redis/records.js';

/** What a cluster node's `to(clientId)` returns. */
export interface ClusterChannel {
  /**
   * Queues `event` with `args` in the client's outbox in Redis, from any node; its owner sends it
   * on the client's socket (at once while connected, on its next socket otherwise), once and in
   * order across reconnects, socket swaps, handoffs and the owner's death. `true` once queued;
   * `false` (and an `undelivered` event here) when the client is deleted or unknown, or when this
   * message overflowed its outbox (the client is then deleted `outbox-overflow`, here).
   * Rejects `INVALID_ARGUMENT` for what JSON cannot carry faithfully (binary data included:
   * encode it first), `UNAVAILABLE` when Redis did not answer (the message is then not confirmed:
   * if an attempt reached Redis it is queued, once), `CLOSED` once this node's `close()` began.
   */
  emit(event: string, ...args: unknown[]): Promise<boolean>;
}

/**
 * The API of a cluster node (docs/design.md, "Cluster mode"): every name of the single-node
 * `Supervisor`, asynchronous where Redis is involved (so code written for one node runs on many
 * with `await`), plus the cluster's own (`nodeId`, `incarnation`, `listPage`, `cluster$`,
 * `localCounts`, `nodes`).
 */
export interface ClusterSupervisor<TData = unknown> {
  /** This process's node id. */
  readonly nodeId: string;
  /** The current incarnation (a node gets a new one when it rejoins after being fenced or a Redis reset). */
  readonly incarnation: number;
  /** Creates a client in `handshaking`, owned by this node until its socket connects (anywhere). `data` must be JSON. */
  register(options?: RegisterOptions<TData>): Promise<Registration>;
  /** The client's record from Redis, wherever it lives; `undefined` if unknown or deleted. */
  get(clientId: string): Promise<ClusterClientView<TData> | undefined>;
  /**
   * Every live client, cluster-wide (or those of `filter`), read from Redis page by page, in no
   * particular order. A client present for the whole listing is in it once; one that changed
   * state meanwhile may be missing or twice. For large clusters, read {@link listPage}s instead.
   */
  list(filter?: ClusterListFilter): Promise<Array<ClusterClientView<TData>>>;
  /** One page of clients, cluster-wide: pass its `cursor` back for the next one. */
  listPage(options?: ClusterListOptions): Promise<ClusterListPage<TData>>;
  /** Deletes a client wherever it lives; `true` exactly once cluster-wide. Its `onDelete` runs on this node. */
  delete(clientId: string, reason?: DeleteReason): Promise<boolean>;
  /** Runs this node's deadline sweep now; returns how many clients it deleted. */
  prune(): Promise<number>;
  /**
   * Resolves with the client's view once it is connected on any node (at once if it is). Rejects
   * `CLIENT_DELETED` (deleted before or while waiting), `UNKNOWN_CLIENT`, `TIMEOUT` after
   * `timeout` ms, as on a single node; `CLOSED` when this node closes meanwhile (its clients live
   * on), `UNAVAILABLE` when Redis cannot be read.
   */
  connected(clientId: string, options?: { timeout?: number }): Promise<ClusterClientView<TData>>;
  /**
   * Delivers a DESIGN event as a single node does, where it belongs in a cluster:
   * - `socket.handshake`, `socket.disconnect`: about a socket of this node, so to the actor of a
   *   client this node holds (its transition is committed to Redis before its hooks run, as for
   *   the adapter's events). A client this node does not hold (held elsewhere, unknown, deleted)
   *   is answered by this node as a single node answers an id it does not know: an `ignored`
   *   event (`unknown-client`, or `already-deleted` within `tombstoneTtl` of a deletion it ran).
   * - `client.delete`: {@link delete}, from any node.
   * - `client.prune`: {@link prune}, this node's sweep: deadlines live in Redis, so a `clientId`
   *   does not narrow it (a due client is deleted `handshake-timeout` or `reconnect-timeout`).
   * Rejects `INVALID_ARGUMENT` for a malformed event.
   */
  send(event: SupervisorEvent): Promise<void>;
  /** This node's lifecycle events (the clients it holds, the deletions it runs). */
  readonly events$: Observable<LifecycleEvent>;
  /** What happens to this node in the cluster. */
  readonly cluster$: Observable<ClusterEvent>;
  /** Cluster-wide counts on subscribe, after this node's changes and every `heartbeatInterval`. */
  readonly counts$: Observable<ClusterCounts>;
  /** Cluster-wide counts and live nodes, from Redis. */
  counts(): Promise<ClusterCounts>;
  /** The clients this node holds (its share of the cluster), by state. */
  localCounts(): ClientCounts;
  /** The live nodes with their heartbeat and client count. */
  nodes(): Promise<ClusterNode[]>;
  /**
   * This node's counters (the single-node ones). `delivery`: `sent` counts the emits this node
   * queued, `undelivered` what it reported (its emits to gone clients, the outboxes of the
   * deletions it ran), `resent`, `acked` and `ignoredAcks` what it did as an owner.
   */
  stats(): SupervisorStats;
  /**
   * Messages to a client wherever it is connected: `await to(clientId).emit(event, ...args)` queues
   * the message in the client's outbox in Redis (one round-trip) and its owner sends it, once and
   * in order across reconnects, socket swaps, handoffs and the death of its node. Arguments must
   * be JSON (binary data is refused `INVALID_ARGUMENT`: encode it first).
   */
  to(clientId: string): ClusterChannel;
  /** This node's supervisor actor (inspection of the clients it holds). */
  readonly actor: SupervisorActor;
  /** The actor of a client this node holds; `undefined` for a client held elsewhere. */
  actorOf(clientId: string): ClientActor | undefined;
  /** Drives this node from socket.io (a Server or a Namespace, each once); returns `detach()`. */
  attach(target: AttachTarget, options?: AttachOptions): () => void;
  /**
   * Readiness and liveness of this node, from memory (no Redis call): see {@link ClusterHealth}.
   * `ready` is `false` while closing, not joined, or when Redis did not answer the last call.
   */
  health(): ClusterHealth;
  /**
   * A rolling-deploy leave: stops taking handshakes, lets running hooks settle, releases every
   * client this node owns in Redis (connected ones become disconnected with their grace period;
   * nodes, and closes the Redis connections it opened. Bounded by `closeTimeout`: hooks still
   * running then are abandoned and reported, as on a single node.
   */
  close(): Promise<void>;
}
