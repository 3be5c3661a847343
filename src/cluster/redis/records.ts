import type { ClientSnapshot, ClientView, LiveState } from '../../core/types.js';

/** A node incarnation: the node id, and which of its runs (a node that rejoins gets a new one). */
export interface NodeIncarnation {
  node: string;
  incarnation: number;
}

/**
 * A client as Redis holds it: its snapshot (the one {@link ClientSnapshot}, kept as the same
 * fields in its hash: docs/design.md, "Virtual client actors"), data, owner and fence. Never the
 * token (Redis holds only its SHA-256).
 */
export interface ClusterClientRecord<TData = unknown> extends ClientSnapshot {
  clientId: string;
  data: TData;
  /** The owning node, or `null` while nobody owns it (its node died or left). */
  node: string | null;
  /** The owning node's incarnation, or `null` while unowned. */
  incarnation: number | null;
  /** The fencing counter: rises with every change of owner and every deletion, never falls. */
  fence: number;
}

/** A client as `get()` and `list()` show it, from any node: the single-node view plus its owner and fence. */
export interface ClusterClientView<TData = unknown> extends ClientView<TData> {
  /** The owning node, or `null` while nobody owns it (its node died or left: it waits for a reconnect). */
  node: string | null;
  /** The client's fence (see `ClusterHookContext.fence`). */
  fence: number;
}

/** A deletion journal entry: what the node that runs onDelete needs, and how to complete it. */
export interface Deletion<TData = unknown> {
  deletionId: string;
  clientId: string;
  reason: string;
  /** The fence of the deletion itself, above every fence the client had. */
  fence: number;
  /** When the client was deleted (Redis TIME, ms). */
  at: number;
  /** True when another node was assigned this deletion first and died (or left) before completing it. */
  redelivered: boolean;
  /** How many nodes were assigned it, this one included. */
  attempts: number;
  /** Who owned the client when it was deleted (to close its socket there), or `null`. */
  previousOwner: NodeIncarnation | null;
  /** The client as it was just before its deletion (its fence there is the previous one). */
  client: ClusterClientRecord<TData>;
  /** Messages of `to(clientId).emit()` its page never acknowledged, dropped with it. */
  undelivered: number;
}

/** What a node rewrites after Redis lost its data: a record it holds and its token's hash. */
export interface RestoreInput<TData = unknown> extends ClientSnapshot {
  clientId: string;
  tokenHash: string;
  data: TData;
  fence: number;
  /** The last sequence number of its outbox the node knows of (the outbox itself is lost). @default 0 */
  seq?: number;
}

/** `counts()` and `counts$` in cluster mode: clients by live state, cluster-wide, plus the live nodes. */
export interface ClusterCounts {
  handshaking: number;
  connected: number;
  disconnected: number;
  total: number;
  /** Live nodes (alive or leaving). */
  nodes: number;
}

/** A live node of the cluster, as `nodes()` lists it. */
export interface ClusterNode {
  /** Its node id. */
  node: string;
  /** Its current incarnation. */
  incarnation: number;
  /** `leaving`: its `close()` is releasing its clients. */
  state: 'alive' | 'leaving';
  /** Its last heartbeat (Redis TIME, ms). */
  heartbeatAt: number;
  /** When this incarnation joined (Redis TIME, ms). */
  joinedAt: number;
  /** Clients this incarnation owns. */
  clients: number;
}

/** Which clients `list()` reads: by state and/or owning node. */
export interface ClusterListFilter {
  state?: LiveState;
  /** Only the clients this node id owns (its current incarnation). */
  node?: string;
  /** `list()`: at most this many (in no particular order). `listPage()`: about this many per page. */
  limit?: number;
}

/** What `listPage()` reads: a filter, and where the previous page ended. */
export interface ClusterListOptions extends ClusterListFilter {
  /** About this many per page. @default 100 */
  limit?: number;
  /** The previous page's `cursor`. */
  cursor?: string;
}

/** One page of `listPage()`: its clients and the cursor of the next one. */
export interface ClusterListPage<TData = unknown> {
  clients: Array<ClusterClientView<TData>>;
  /** Pass it back for the next page; `null` at the end. */
  cursor: string | null;
}

/** A client this incarnation owns, as Redis holds it (the reconcile compares it with the mirror). */
export interface OwnedClient {
  clientId: string;
  fence: number;
  state: LiveState;
  socketId: string | null;
}

/** A client's outbox counters in Redis: the last sequence number handed out, the last one acknowledged. */
export interface OutboxCounters {
  seq: number;
  acked: number;
}

/** A client's outbox as views show it: unacknowledged messages and when the oldest was queued (Redis TIME). */
export interface OutboxSummary {
  depth: number;
  oldestAt: number | null;
}

/** One queued message as Redis keeps it: `<seq>|<at>|<emitId>|<payload>`, payload `[event, ...args]` as JSON. */
export interface QueuedMessage {
  seq: number;
  at: number;
  event: string;
  args: unknown[];
}
