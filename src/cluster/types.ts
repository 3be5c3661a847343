import type { ClientSnapshot, LiveState } from '../core/types.js';

/** A node incarnation: the node id, and which of its runs (a node that rejoins gets a new one). */
export interface NodeIncarnation {
  node: string;
  incarnation: number;
}

/**
 * A client as Redis holds it: its snapshot (the one {@link ClientSnapshot}, kept as the same
 * fields in its hash: docs/design.md, "Virtual client actors"), data, owner and fence. Never the token
 * (Redis holds only its SHA-256).
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

/** Handshake rejections a claim can answer (the adapter forwards them as `connect_error`). */
export type ClaimRejectCode = 'UNKNOWN_CLIENT' | 'BAD_TOKEN' | 'CLIENT_DELETED';

/** What the `claim` script answers for a handshake: authentication and the lifecycle's handshake column in one step. */
export type ClaimResult<TData = unknown> =
  | {
      /**
       * `connected` (was handshaking), `reconnected` (was disconnected), `swapped` (was connected
       * with another socket or on another node: that socket is closed `replaced`, no hooks), or
       * `replay` (this socket already holds it here: nothing changed).
       */
      outcome: 'connected' | 'reconnected' | 'swapped' | 'replay';
      /** The record after the claim. */
      client: ClusterClientRecord<TData>;
      /** The record before the claim. */
      previous: ClusterClientRecord<TData>;
      /** True when the owner changed (the fence rose and the previous owner was notified). */
      ownerChanged: boolean;
      /** The client's outbox counters: messages `acked + 1 .. seq` wait to be sent on the new socket. */
      outbox: OutboxCounters;
    }
  | { outcome: 'rejected'; code: ClaimRejectCode /** the deletion's reason, for CLIENT_DELETED */; reason?: string }
  | { outcome: 'node-fenced' };

/** What the `register` script answers: the new client and its token, or why there is none. */
export type RegisterResult<TData = unknown> =
  | { outcome: 'registered' | 'replay'; clientId: string; token: string; client: ClusterClientRecord<TData> }
  | { outcome: 'id-taken' }
  | { outcome: 'node-fenced' };

/** What the `disconnect` script answers for a socket's disconnect. */
export type DisconnectResult<TData = unknown> =
  | { outcome: 'disconnected'; client: ClusterClientRecord<TData>; previous: ClusterClientRecord<TData> }
  | {
      /** Nothing changed; `replay`: this socket's disconnect already ran. */
      outcome: 'replay' | 'not-connected' | 'stale-socket' | 'fenced';
      client: ClusterClientRecord<TData>;
    }
  | { outcome: 'already-deleted' | 'unknown-client' | 'node-fenced' };

/** What the `delete` script answers: the journaled deletion, or why nothing was deleted. */
export type DeleteResult<TData = unknown> =
  | { outcome: 'deleted'; deletion: Deletion<TData> }
  /** This deletion id already deleted it; `deletion` while it is not completed. */
  | { outcome: 'replay'; deletion?: Deletion<TData> }
  | { outcome: 'already-deleted' | 'unknown-client' | 'node-fenced' };

/** What one deadline sweep answers: the deletions it made, or the grace it gave after an outage. */
export type SweepResult<TData = unknown> =
  | { outcome: 'swept'; deletions: Array<Deletion<TData>>; more: boolean }
  /** After an outage: this many deadlines got a fresh grace period; nothing was deleted. */
  | { outcome: 'grace'; pushed: number; more: boolean }
  | { outcome: 'node-fenced' };

/** What the `reap` script answers: nodes declared dead, their clients released, their deletions redelivered. */
export type ReapResult<TData = unknown> =
  | {
      outcome: 'reaped';
      /** Nodes this call declared dead. */
      declaredDead: string[];
      /** Clients of dead incarnations released by this call. */
      released: number;
      /** Deletions of dead or departed incarnations now assigned to this one (`redelivered: true`). */
      redelivered: Array<Deletion<TData>>;
      more: boolean;
    }
  | { outcome: 'node-fenced' };

/** What a node's heartbeat answers: alive, fenced, or Redis reset. */
export type HeartbeatResult =
  | { outcome: 'ok'; at: number /** this tick found an outage (nobody ticked for `outageGap`) */; outage: boolean }
  /** Declared dead or left: every client this incarnation held is lost; join again. */
  | { outcome: 'node-fenced' }
  /** Redis lost its data (its epoch changed): join again, then restore the clients held here. */
  | { outcome: 'reset' };

/** What `join` answers: the node's new incarnation, Redis's epoch and time. */
export interface JoinResult {
  incarnation: number;
  epoch: string;
  at: number;
  /** The incarnation this join ended, when the same node id was still alive (a quick restart). */
  endedIncarnation: number | null;
}

/** What became of one record a node wrote back after Redis lost its data. */
export type RestoreOutcome = 'restored' | 'kept' | 'deleted' | 'node-fenced';

/** What a node rewrites after Redis lost its data: a record it holds and its token's hash. */
export interface RestoreInput<TData = unknown> extends ClientSnapshot {
  clientId: string;
  tokenHash: string;
  data: TData;
  fence: number;
  /** The last sequence number of its outbox the node knows of (the outbox itself is lost). @default 0 */
  seq?: number;
}

/** Client counts by state across the cluster, and the live nodes. */
export interface ClusterCounts {
  handshaking: number;
  connected: number;
  disconnected: number;
  total: number;
  /** Live nodes (alive or leaving). */
  nodes: number;
}

export interface ClusterNode extends NodeIncarnation {
  state: 'alive' | 'leaving';
  heartbeatAt: number;
  joinedAt: number;
  /** Clients this incarnation owns. */
  clients: number;
}

/** Which clients a `list` reads (by state or owner node) and which page. */
export interface ListFilter {
  state?: LiveState;
  node?: string;
  /** @default 100 */
  limit?: number;
  /** From the previous page's `cursor`. */
  cursor?: string;
}

/** One page of a `list`: the records and the cursor of the next page. */
export interface ListPage<TData = unknown> {
  clients: Array<ClusterClientRecord<TData>>;
  /** `null` at the end. */
  cursor: string | null;
}

/** A client an incarnation owns, as its owned set and records say (checked every fifth heartbeat). */
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

/** What the `emit` script answers for one message of `to(clientId).emit()`. */
export type EmitResult<TData = unknown> =
  | {
      /**
       * `queued`: the message has its sequence number; `replay`: an earlier attempt of this emit id
       * queued it already. `deliver`: the caller owns the connected client and must send it on
       * `socketId` (another owner was told by a notice instead).
       */
      outcome: 'queued' | 'replay';
      seq: number | null;
      deliver: { socketId: string; member: string } | null;
    }
  /** The outbox was full: the client was deleted `outbox-overflow` by this call; the caller runs the deletion. */
  | { outcome: 'overflow'; deletion: Deletion<TData> }
  | { outcome: 'already-deleted' | 'unknown-client' | 'node-fenced' };

/** What the `ack` script answers for a page's acknowledgement. */
export type AckResult =
  | { outcome: 'acked'; trimmed: number; acked: number; oldestAt: number | null }
  | { outcome: 'stale'; acked: number }
  | { outcome: 'ignored'; seq: number }
  | { outcome: 'gone' };

/** A client's unacknowledged messages as the `outbox` script reads them, or `gone`. */
export type OutboxRead = { outcome: 'ok'; acked: number; seq: number; members: string[] } | { outcome: 'gone' };

/** Published on `{prefix}:notice:<node>` to the owner of a client another node took or deleted. */
export type ClusterNotice =
  | {
      type: 'replaced';
      clientId: string;
      /** The incarnation that owned it (ignore notices for an earlier one). */
      incarnation: number;
      /** The new fence. */
      fence: number;
      /** The socket to close with reason `replaced`, if it was connected. */
      socketId: string | null;
    }
  | { type: 'deleted'; clientId: string; incarnation: number; fence: number; socketId: string | null; reason: string }
  /** A message queued for a connected client by another node: the owner sends it on `socketId`. */
  | { type: 'message'; clientId: string; incarnation: number; socketId: string | null; seq: number; member: string };
