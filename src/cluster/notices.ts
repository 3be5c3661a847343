import type { DueHooks } from './dueHooks.js';
import type { Mirror } from './mirror.js';
import type { NodeContext } from './nodeState.js';
import type { OwnerStreams } from './ownerStreams.js';
import type { ClusterNotice } from './redis/subscriber.js';

/** How long a notice for a client this node does not hold (yet) is kept: its claim's reply may still be on the way. */
const PENDING_NOTICE_MS = 30_000;

/**
 * What a node does with the notices Redis publishes to it: another node took (`replaced`) or
 * deleted a client this incarnation owned (let it go, no hook), queued a `message` for a client
 * it owns (send it), or handed it an `onConnect` that is due (`hook-due`: run it). Notices come on another connection than the replies of the node's own
 * scripts, so one may arrive before the claim it is about is mirrored: it waits for it.
 */
export function createNotices<TData>(
  node: NodeContext<TData>,
  mirror: Mirror<TData>,
  streams: OwnerStreams<TData>,
  due?: DueHooks<TData>,
) {
  const { store, local } = node;
  /** Notices for clients this node did not hold when they came: applied once their claim is mirrored. */
  const pending = new Map<string, { notice: ClusterNotice; at: number }>();
  /** The same for `hook-due` notices, kept apart so that neither kind overwrites the other. */
  const pendingDue = new Map<string, { notice: ClusterNotice; at: number }>();

  function onNotice(notice: ClusterNotice): void {
    if (notice.incarnation !== store.incarnation) return;
    if (notice.type === 'message') {
      // queued by another node for a client this incarnation owned then: sent once its socket is here
      streams.receive(notice.clientId, notice.member);
      return;
    }
    const record = local.get(notice.clientId);
    if (!record || record.state === 'deleted' || record.cluster.expected.length > 0) {
      // its claim's reply may still be on the way (notices come on another connection)
      (notice.type === 'hook-due' ? pendingDue : pending).set(notice.clientId, { notice, at: Date.now() });
      return;
    }
    if (notice.type === 'hook-due') {
      // an onConnect another node's lost claim made due: this node owns the client now
      due?.runConnect(record, { socketId: notice.socketId, reconnect: notice.reconnect });
      return;
    }
    if (record.cluster.fence >= notice.fence) return;
    mirror.lose(record, notice.type === 'deleted' ? 'deleted' : 'replaced');
  }

  /** A claim of this client was mirrored: a notice that arrived before its reply is applied now. */
  function applyPending(clientId: string): void {
    for (const waitingFor of [pending, pendingDue]) {
      const waiting = waitingFor.get(clientId);
      if (!waiting) continue;
      waitingFor.delete(clientId);
      onNotice(waiting.notice);
    }
  }

  /** Forgets notices whose claim never came (after each heartbeat). */
  function forgetOld(): void {
    const before = Date.now() - PENDING_NOTICE_MS;
    for (const waitingFor of [pending, pendingDue]) {
      for (const [clientId, { at }] of waitingFor) if (at < before) waitingFor.delete(clientId);
    }
  }

  return { onNotice, applyPending, forgetOld };
}

/** A node's handling of its notices. */
export type Notices = ReturnType<typeof createNotices>;
