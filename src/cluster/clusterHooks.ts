import type {
  ClientView,
  ConnectContext,
  DeleteReason,
  DisconnectReason,
  OwnershipContext,
  ReleaseWhy,
} from '../core/types.js';

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

/** The hooks of `createClusterSupervisor()`: the single-node ones, with a third argument. */
export interface ClusterHooks<TData = unknown, TSocket = unknown> {
  /** The client connected (or reconnected: `ctx.reconnect`) on this node, after the claim was committed. */
  onConnect?(client: ClientView<TData>, ctx: ConnectContext<TSocket>, cluster: ClusterHookContext): unknown;
  /** The client's socket on this node went (`reason` is socket.io's), after it was committed. */
  onDisconnect?(client: ClientView<TData>, reason: DisconnectReason, cluster: ClusterHookContext): unknown;
  /** The client was deleted, once cluster-wide (again, `redelivered`, only if its node died during it). */
  onDelete?(client: ClientView<TData>, reason: DeleteReason, cluster: ClusterHookContext): unknown;
  /**
   * Per node: this node became the client's owner (its first handshake here, a swap from another
   * node, a resume after a handoff or a node's death). `ctx`: this node's id and the fence of its
   * ownership. For state in this process's memory; not gated by Redis.
   */
  onAcquire?(client: ClientView<TData>, ctx: OwnershipContext): unknown;
  /**
   * Per node: this node stopped owning the client (`why`: {@link ReleaseWhy}), exactly once after
   * each `onAcquire`, also while Redis is unreachable.
   */
  onRelease?(client: ClientView<TData>, ctx: OwnershipContext, why: ReleaseWhy): unknown;
}
