import type { Observable } from 'rxjs';
import type { RegisterOptions, Registration } from '../core/supervisor.js';
import type {
  ClientCounts,
  ClientView,
  ConnectContext,
  DeleteReason,
  DisconnectReason,
  LifecycleEvent,
  LiveState,
  SupervisorStats,
} from '../core/types.js';
import type { ClientActor } from '../machines/client.machine.js';
import type { SupervisorActor } from '../machines/supervisor.machine.js';
import type { AttachOptions, AttachTarget } from '../server/attach.js';
import type { ClusterChannel } from './delivery.js';
import type { ClusterCounts, ClusterNode } from './types.js';

/**
 * The third argument of every hook in cluster mode. `fence` orders the hooks of one client across
 * nodes: it rises with every change of owner and with the deletion, never falls, so hooks sorted
 * by fence are in lifecycle order and `onDelete` has the highest.
 */
export interface ClusterHookContext {
  /** The client's fence when this transition was committed (for `onDelete`: the deletion's). */
  fence: number;
  /** `onDelete` only: the same on every run of one deletion. */
  deletionId?: string;
  /**
   * `onDelete` only: `true` when the node first assigned this deletion died (or was declared
   * dead) before its `onDelete` settled, so this is at least its second run. Use `deletionId` to
   * make `onDelete` idempotent.
   */
  redelivered?: boolean;
}

/** The hooks of {@link createClusterSupervisor}: the single-node ones, with a third argument. */
export interface ClusterHooks<TData = unknown, TSocket = unknown> {
  /** The client connected (or reconnected: `ctx.reconnect`) on this node, after the claim was committed. */
  onConnect?(client: ClientView<TData>, ctx: ConnectContext<TSocket>, cluster: ClusterHookContext): unknown;
  /** The client's socket on this node went (`reason` is socket.io's), after it was committed. */
  onDisconnect?(client: ClientView<TData>, reason: DisconnectReason, cluster: ClusterHookContext): unknown;
  /** The client was deleted, once cluster-wide (again, `redelivered`, only if its node died during it). */
  onDelete?(client: ClientView<TData>, reason: DeleteReason, cluster: ClusterHookContext): unknown;
}

/** A client as Redis holds it, from any node: the single-node view plus its owner and fence. */
export interface ClusterClientView<TData = unknown> extends ClientView<TData> {
  /** The owning node, or `null` while nobody owns it (its node died or left: it waits for a reconnect). */
  node: string | null;
  fence: number;
}

/** What {@link ClusterSupervisor.list} reads: a filter and a page of it. */
export interface ClusterListOptions {
  state?: LiveState;
  /** Only the clients this node id owns (its current incarnation). */
  node?: string;
  /** About this many per page. @default 100 */
  limit?: number;
  /** The previous page's `cursor`. */
  cursor?: string;
}

/** One page of {@link ClusterSupervisor.list}: its clients and the cursor of the next page. */
export interface ClusterListPage<TData = unknown> {
  clients: Array<ClusterClientView<TData>>;
  /** Pass it back for the next page; `null` at the end. */
  cursor: string | null;
}

/**
 * Why this node let a client go without running any hook for it: another node took it
 * (`replaced`) or deleted it (`deleted`); this node was declared dead (`fenced`); it was released
 * without this node noticing (`released`: a missed notice); this node left (`left`).
 */
export type LostWhy = 'replaced' | 'deleted' | 'fenced' | 'released' | 'left';

/**
 * What happens to this node in the cluster (`supervisor.cluster$`): its incarnations, Redis
 * outages, clients it let go, deletions it ran. Lifecycle events stay on `events$`.
 */
export type ClusterEvent =
  | { type: 'joined'; at: number; node: string; incarnation: number; why: 'start' | 'fenced' | 'reset' }
  /** This incarnation was declared dead (paused or cut off past `nodeTtl`): every client it held is lost. */
  | { type: 'fenced'; at: number; node: string; incarnation: number }
  /** Redis lost its data; the clients this node held are written back (`restored`). */
  | { type: 'reset'; at: number }
  | { type: 'restored'; at: number; restored: number; kept: number; deleted: number }
  | { type: 'redis-unavailable'; at: number; message: string }
  /** Redis answers again; `outage`: nobody could reach it for `outageGap`, deadlines got a fresh grace period. */
  | { type: 'redis-available'; at: number; outage: boolean }
  /** Other nodes this node declared dead (their clients released, their deletions redelivered). */
  | { type: 'nodes-dead'; at: number; nodes: string[] }
  /** This node stopped holding a client without any hook: another node took it or deleted it, or this node was fenced or left. */
  | { type: 'client-lost'; at: number; clientId: string; why: LostWhy }
  | {
      type: 'deletion-started';
      at: number;
      clientId: string;
      deletionId: string;
      fence: number;
      reason: string;
      redelivered: boolean;
    }
  /** `completed`: this node's run is the one Redis recorded; `fenced`: it was redelivered elsewhere meanwhile. */
  | {
      type: 'deletion-completed';
      at: number;
      clientId: string;
      deletionId: string;
      outcome: 'completed' | 'gone' | 'fenced';
    }
  | { type: 'left'; at: number; released: number };

/** `counts()` and `counts$` in cluster mode: cluster-wide, plus the live nodes. */
export type { ClusterCounts };

/** The API of a cluster node (docs/design.md, "Cluster mode"): the single-node names, asynchronous where Redis is involved. */
export interface ClusterSupervisor<TData = unknown> {
  /** This process's node id. */
  readonly nodeId: string;
  /** The current incarnation (a node gets a new one when it rejoins after being fenced or a Redis reset). */
  readonly incarnation: number;
  /** Creates a client in `handshaking`, owned by this node until its socket connects (anywhere). `data` must be JSON. */
  register(options?: RegisterOptions<TData>): Promise<Registration>;
  /** The client's record from Redis, wherever it lives; `undefined` if unknown or deleted. */
  get(clientId: string): Promise<ClusterClientView<TData> | undefined>;
  /** One page of clients, cluster-wide. */
  list(options?: ClusterListOptions): Promise<ClusterListPage<TData>>;
  /** Deletes a client wherever it lives; `true` exactly once cluster-wide. Its `onDelete` runs on this node. */
  delete(clientId: string, reason?: DeleteReason): Promise<boolean>;
  /** Runs this node's deadline sweep now; returns how many clients it deleted. */
  prune(): Promise<number>;
  /** Resolves once the client is connected on any node. */
  connected(clientId: string, options?: { timeout?: number }): Promise<ClusterClientView<TData>>;
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
   * A rolling-deploy leave: stops taking handshakes, lets running hooks settle, releases every
   * client this node owns in Redis (connected ones become disconnected with their grace period;
   * nothing is deleted, no `onDelete`), closes their sockets so browsers reconnect to other
   * nodes, and closes the Redis connections it opened.
   */
  close(): Promise<void>;
}
