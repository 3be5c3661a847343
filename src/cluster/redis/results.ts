import type { ClusterClientRecord, Deletion, OutboxCounters, OutboxSummary } from './records.js';

// What each script answers, as the store returns it: outcomes are values (rejections, fencing,
// replays); only an unreachable Redis or bad input throws.

/** Handshake rejections a claim can answer (the adapter forwards them as `connect_error`). */
export type ClaimRejectCode = 'UNKNOWN_CLIENT' | 'BAD_TOKEN' | 'CLIENT_DELETED';

/** What `claim` answers: authentication and the lifecycle's handshake column in one step. */
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
      /**
       * `swapped` from an owner no longer alive only: the `onConnect` its claim made due, which it
       * never ran; this node runs it (then clears the mark). Otherwise `null`.
       */
      due: DueConnect | null;
    }
  | { outcome: 'rejected'; code: ClaimRejectCode /** the deletion's reason, for CLIENT_DELETED */; reason?: string }
  /**
   * Redis went back to older data and some live node has not written back what it holds yet
   * (docs/cluster.md, "Redis loses or rolls back data"): nothing changed; the handshake is refused `UNAVAILABLE`.
   */
  | { outcome: 'recovering' }
  | { outcome: 'node-fenced' };

/** An `onConnect` due in Redis (the `hookDue` mark): the connect of `socketId`, a reconnect or not. */
export interface DueConnect {
  socketId: string;
  reconnect: boolean;
}

/** The `hookDue` mark as the scripts keep it: `<socketId> <0|1>`; `null` for none. */
export function parseDue(mark: string): DueConnect | null {
  const match = /^(\S+) ([01])$/.exec(mark);
  return match ? { socketId: match[1]!, reconnect: match[2] === '1' } : null;
}

/** What `register` answers: the new client and its token, or why there is none. */
export type RegisterResult<TData = unknown> =
  | { outcome: 'registered' | 'replay'; clientId: string; token: string; client: ClusterClientRecord<TData> }
  | { outcome: 'id-taken' }
  | { outcome: 'node-fenced' };

/** What `disconnect` answers for a socket's disconnect. */
export type DisconnectResult<TData = unknown> =
  | { outcome: 'disconnected'; client: ClusterClientRecord<TData>; previous: ClusterClientRecord<TData> }
  | {
      /** Nothing changed; `replay`: this socket's disconnect already ran. */
      outcome: 'replay' | 'not-connected' | 'stale-socket' | 'fenced';
      client: ClusterClientRecord<TData>;
    }
  | { outcome: 'already-deleted' | 'unknown-client' | 'node-fenced' };

/** What `delete` answers: the journaled deletion, or why nothing was deleted. */
export type DeleteResult<TData = unknown> =
  | { outcome: 'deleted'; deletion: Deletion<TData> }
  /** This deletion id already deleted it; `deletion` while it is not completed. */
  | { outcome: 'replay'; deletion?: Deletion<TData> }
  | { outcome: 'already-deleted' | 'unknown-client' | 'node-fenced' };

/** What one batch of the sweep answers. */
export type SweepResult<TData = unknown> =
  | { outcome: 'swept'; deletions: Array<Deletion<TData>>; more: boolean }
  /** After an outage: this many deadlines got a fresh grace period; nothing was deleted. */
  | { outcome: 'grace'; pushed: number; more: boolean }
  | { outcome: 'node-fenced' };

/** What one batch of the reap answers. */
export type ReapResult<TData = unknown> =
  | {
      outcome: 'reaped';
      /** Nodes this call declared dead. */
      declaredDead: string[];
      /** The incarnation of each of them that ended (in `declaredDead`'s order). */
      declaredIncarnations: number[];
      /** Clients of dead incarnations released by this call. */
      released: number;
      /** Deletions of dead or departed incarnations now assigned to this one (`redelivered: true`). */
      redelivered: Array<Deletion<TData>>;
      more: boolean;
      /** Clients a recovery after a rollback dropped without a hook: nobody held them. */
      dropped: number;
    }
  | { outcome: 'node-fenced' };

/** What `heartbeat` answers: alive, fenced, or Redis lost its data. */
export type HeartbeatResult =
  | {
      outcome: 'ok';
      at: number;
      /** This tick found an outage (nobody ticked for `outageGap`). */
      outage: boolean;
      /**
       * The ownership version: raised by every step that takes a client from its owner or sends
       * an owner a notice. What this node holds needs a re-check only when it moved. `NaN` when
       * the heartbeat was asked not to read it (`{ ownershipVersion: false }`: with partitions it
       * is a read of its own, one call per master).
       */
      ownershipVersion: number;
    }
  /** Declared dead or left: every client this incarnation held is lost; join again. */
  | { outcome: 'node-fenced' }
  /**
   * Redis lost its data (its epoch changed), or went back to older data (`rolledBack`: the write
   * counter fell, found by this node or another): join again, then restore the clients held here
   * and write back the deletions.
   */
  | { outcome: 'reset'; rolledBack?: true };

/** What `join` answers: the new incarnation. */
export interface JoinResult {
  incarnation: number;
  epoch: string;
  at: number;
  /** The incarnation this join ended, when the same node id was still alive (a quick restart). */
  endedIncarnation: number | null;
}

/** What `restore` answers for one client. */
export type RestoreOutcome = 'restored' | 'kept' | 'deleted' | 'node-fenced';

/** What `emit` answers for one message. */
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

/** What `ack` answers for an acknowledgement. */
export type AckResult =
  | { outcome: 'acked'; trimmed: number; acked: number; oldestAt: number | null; bytes: number }
  | { outcome: 'stale'; acked: number }
  | { outcome: 'ignored'; seq: number }
  | { outcome: 'gone' };

/** What `outbox` answers: the unacknowledged messages after a sequence number. */
export type OutboxRead = { outcome: 'ok'; acked: number; seq: number; members: string[] } | { outcome: 'gone' };

/** One page of the store's `list()`: records (without their outbox), and the cursor of the next one. */
export interface ListPage<TData = unknown> {
  clients: Array<ClusterClientRecord<TData>>;
  /** `null` at the end. */
  cursor: string | null;
}

/** One page of the store's `listViews()`: records with their outbox, and the cursor of the next one. */
export interface ListViewsPage<TData = unknown> {
  clients: Array<{ client: ClusterClientRecord<TData>; outbox: OutboxSummary }>;
  /** `null` at the end. */
  cursor: string | null;
}
