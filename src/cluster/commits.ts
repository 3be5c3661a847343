import { randomId } from '../core/ids.js';
import type { ClientSnapshot } from '../machines/clientSnapshot.js';
import type { Commit } from '../store/clientStore.js';
import type { ClusterRecord, DeletionTicket } from './localStore.js';
import type { Mirror } from './mirror.js';
import type { NodeContext } from './nodeState.js';
import type { Deletion } from './redis/records.js';
import type { DisconnectResult } from './redis/results.js';
import { retry } from './redis/retry.js';

/** A transition Redis refused: the hooks of the transition are skipped (the hook runner's contract). */
export class RefusedCommit extends Error {
  override readonly name = 'RefusedCommit';
}

/** The promise a hook waits on; marked handled, since a transition without a hook has nobody awaiting it. */
function handled(promise: Promise<void>): Commit {
  promise.catch(() => {});
  return promise;
}

/**
 * The Redis side of the mirror's commits (the local store's `commitRemote`): a transition the
 * client's machine decided on this node is made durable in Redis before its hooks run, unless
 * Redis committed it already (a claim, a registration: `expected`). A write Redis refuses skips the
 * hooks and sets the mirror to what Redis holds, or lets the client go.
 */
export function createCommits<TData>(
  node: NodeContext<TData>,
  parts: {
    mirror: Mirror<TData>;
    /** Follows a deletion this node's machine decided and Redis committed: its completion once onDelete settled. */
    trackDeletion(deletion: Deletion<TData>): void;
    /** Asks Redis whether this incarnation is still alive (after a `node-fenced` answer). */
    checkFenced(): void;
  },
) {
  const { store, state } = node;
  const { mirror } = parts;

  function refused(record: ClusterRecord<TData>, result: DisconnectResult<TData>): never {
    switch (result.outcome) {
      case 'already-deleted':
        mirror.lose(record, 'deleted');
        break;
      case 'node-fenced':
        parts.checkFenced();
        break;
      default:
        if ('client' in result) mirror.resync(record, result.client);
    }
    throw new RefusedCommit(`disconnect refused: ${result.outcome}`);
  }

  /**
   * Redis has no record and no tombstone of a client this node holds, or holds it at a lower fence
   * than this node ({@link Mirror.isBehind}): it lost it or went back to an older copy of it (a
   * snapshot restored, a lagging replica promoted), and no heartbeat has said so yet. Not a
   * deletion, nor another node's newer record: the client
   * keeps its transition here (its hooks run), with its grace period counted from now, and a
   * heartbeat now finds the rollback or reset, after which this node writes it back. Were nothing
   * found, the next reconcile lets it go.
   */
  function lostInRedis(record: ClusterRecord<TData>): void {
    if (mirror.isCurrent(record)) record.expiresAt = node.now() + store.options.reconnectTimeout;
    parts.checkFenced();
  }

  function disconnectInRedis(record: ClusterRecord<TData>, socketId: string): Commit {
    const epoch = state.lossEpoch;
    const fence = record.cluster.fence;
    // the disconnects Redis had counted before this one (the machine's count, less this one's)
    const known = record.generation - 1;
    const call = () => store.disconnect({ clientId: record.clientId, socketId, fence });
    return handled(
      retry(call, { while: () => epoch === state.lossEpoch && !state.closing }).then((result) => {
        if (result.outcome === 'disconnected') {
          if (mirror.isCurrent(record)) record.expiresAt = result.client.expiresAt;
          return;
        }
        if (result.outcome === 'replay') return;
        if (result.outcome === 'unknown-client') return lostInRedis(record);
        if ('client' in result && mirror.isBehind(record, result.client, known)) return lostInRedis(record);
        refused(record, result);
      }),
    );
  }

  /** A socket that reached the machine without a claim (connection state recovery skips middlewares). */
  function claimInRedis(record: ClusterRecord<TData>, socketId: string): Commit {
    const { clientId, token, tabId } = record;
    return handled(
      store.claim({ clientId, token, socketId, tabId }).then(
        (result) => {
          if ('client' in result && result.client.socketId === socketId && mirror.ownedHere(result.client)) {
            record.cluster.fence = result.client.fence;
            return;
          }
          if (result.outcome === 'node-fenced') parts.checkFenced();
          // recovering: Redis did not give it to this node (a recovery settles); the browser reconnects and retries
          const why =
            result.outcome === 'rejected' ? 'deleted' : result.outcome === 'recovering' ? 'released' : 'replaced';
          mirror.lose(record, why);
          throw new RefusedCommit(`claim refused: ${result.outcome}`);
        },
        (error) => {
          // never retried: the store releases an unanswered claim's socket by itself
          mirror.lose(record, 'fenced');
          throw error;
        },
      ),
    );
  }

  /** A deletion the machine decided on this node (not one Redis assigned): committed in Redis first. */
  function deleteInRedis(record: ClusterRecord<TData>): Commit {
    // the deleted actor's output: it has just reached `deleted`, whose event is being committed
    const reason = record.actor?.getSnapshot().output?.reason ?? 'manual';
    const ticket: DeletionTicket = { deletionId: randomId(), fence: record.cluster.fence, redelivered: false };
    record.cluster.deletion = ticket;
    const epoch = state.lossEpoch;
    const { clientId } = record;
    const call = () => store.delete({ clientId, reason, deletionId: ticket.deletionId });
    return handled(
      retry(call, { while: () => epoch === state.lossEpoch }).then((result) => {
        if ((result.outcome === 'deleted' || result.outcome === 'replay') && result.deletion) {
          ticket.fence = result.deletion.fence;
          parts.trackDeletion(result.deletion);
          return;
        }
        if (result.outcome === 'node-fenced') parts.checkFenced();
        throw new RefusedCommit(`delete refused: ${result.outcome}`);
      }),
    );
  }

  /** The local store's commit: nothing to do for what Redis committed already, else one script. */
  function commit(
    record: ClusterRecord<TData>,
    previousSocketId: string | null,
    snapshot: ClientSnapshot | null,
  ): Commit {
    const part = record.cluster;
    if (snapshot === null) return part.deletion ? undefined : deleteInRedis(record);
    const head = part.expected[0];
    if (head && head.state === snapshot.state && head.socketId === snapshot.socketId) {
      part.expected.shift();
      return undefined;
    }
    if (snapshot.state === 'disconnected' && previousSocketId !== null) {
      return disconnectInRedis(record, previousSocketId);
    }
    if (snapshot.state === 'connected' && snapshot.socketId !== null) return claimInRedis(record, snapshot.socketId);
    return undefined;
  }

  return { commit };
}
