import type { SupervisorInternals } from '../core/internals.js';
import type { ReleaseWhy } from '../core/types.js';
import { snapshotFields } from '../machines/clientSnapshot.js';
import type { LostWhy } from './clusterEvents.js';
import type { ClusterRecord } from './localStore.js';
import type { NodeContext } from './nodeState.js';
import type { OwnerStreams } from './ownerStreams.js';
import type { ClusterClientRecord } from './redis/records.js';

/**
 * How the node's mirror follows what Redis decided, without a transition of the client's machine:
 * a client another node took or deleted is let go (its actor stopped, its socket here closed, no
 * hook), and a client the node still owns is set to what Redis holds.
 */
export function createMirror<TData>(
  node: NodeContext<TData>,
  core: SupervisorInternals<TData>,
  streams: OwnerStreams<TData>,
) {
  const { store, local } = node;

  /** Whether `record` is the mirror's live record of its client (not one let go or deleted since). */
  function isCurrent(record: ClusterRecord<TData>): boolean {
    return local.get(record.clientId) === record && record.state !== 'deleted';
  }

  /** Whether this incarnation owns the client Redis describes. */
  function ownedHere(redis: ClusterClientRecord<TData>): boolean {
    return redis.node === store.nodeId && redis.incarnation === store.incarnation;
  }

  /**
   * Whether Redis holds an older copy of the client than this node: Redis went back to older data
   * (a rollback no heartbeat has found yet), and the record is not another owner's newer one. Like
   * a record Redis lost, the node keeps its own, a heartbeat finds the rollback, and the node writes
   * its copy back (`restore`). A fence only rises, so a lower one is older. At the same fence, under
   * this incarnation (no owner changed since), Redis is older when it counts fewer disconnects
   * (`generation`) than the node knew before its own transition (`known`), or has the client
   * connected on a socket the node had before and no longer has (one it replaced, or that
   * disconnected since): a socket of another node, or one this node is admitting, is not that.
   */
  function isBehind(
    record: ClusterRecord<TData>,
    redis: ClusterClientRecord<TData>,
    known: number = record.generation,
  ): boolean {
    if (redis.fence !== record.cluster.fence) return redis.fence < record.cluster.fence;
    if (!ownedHere(redis)) return false;
    if (redis.generation < known) return true;
    return (
      redis.state === 'connected' &&
      redis.socketId !== null &&
      redis.socketId !== record.socketId &&
      record.cluster.expected.length === 0 &&
      core.bridge.resolve(redis.socketId) === undefined
    );
  }

  /** Stops a record's actor without any transition: its record keeps the snapshot (like passivation). */
  function stopActor(record: ClusterRecord<TData>): void {
    if (record.actor === null) return;
    core.host.release(record);
    // the supervisor (the actor's parent) stops it in this step
    core.send({ type: 'clients.passivate' });
  }

  /** Lets a client go without any hook, closing its socket here if it has one. */
  function lose(record: ClusterRecord<TData>, why: LostWhy): void {
    if (!isCurrent(record)) return;
    record.cluster.lost = why;
    // this node's onRelease, with the client as it was here
    core.ownership.release(record.clientId, releaseWhyOf(why), core.get(record.clientId));
    const socketId = record.state === 'connected' ? record.socketId : null;
    stopActor(record);
    local.drop(record);
    // its messages go out from its new owner now (or nowhere: deleted)
    streams.forget(record.clientId, why === 'deleted');
    if (socketId !== null) {
      // replaced: the client has a newer socket elsewhere, this one must not fight back; deleted:
      // the page must reload; fenced, released or left: the browser reconnects and resumes anywhere
      const close = why === 'replaced' ? 'replaced' : why === 'deleted' ? 'deleted' : 'handoff';
      core.bridge.disconnect(socketId, close);
    }
    node.emit({ type: 'client-lost', at: node.now(), clientId: record.clientId, why });
  }

  /**
   * Sets the mirror to what Redis holds, or lets the client go if another node owns it. Never to a
   * lower fence: the caller checks {@link isBehind} first, and has a heartbeat find the rollback.
   */
  function resync(record: ClusterRecord<TData>, redis: ClusterClientRecord<TData>): void {
    if (!isCurrent(record) || redis.fence < record.cluster.fence) return;
    if (!ownedHere(redis)) {
      lose(record, 'replaced');
      return;
    }
    record.cluster.fence = redis.fence;
    if (record.state === redis.state && record.socketId === redis.socketId) {
      record.expiresAt = redis.expiresAt;
      record.generation = redis.generation;
      return;
    }
    const orphan = record.state === 'connected' ? record.socketId : null;
    stopActor(record);
    record.cluster.expected = [];
    local.overwrite(record, snapshotFields(redis));
    // a socket this node still had for it, which Redis no longer counts as the client's
    if (orphan !== null && orphan !== redis.socketId) core.bridge.disconnect(orphan, 'handoff');
    // connected here on another socket than the machine knew: its messages go out on that one
    if (record.state === 'connected' && record.socketId !== orphan) streams.flush(record);
  }

  /** Lets every client this node holds go (it was fenced, or it left). */
  function loseAll(why: LostWhy): void {
    for (const record of [...local.records()]) lose(record, why);
  }

  /**
   * Runs `onRelease(why)` for every client this node acquired, at once and locally (no Redis):
   * for a node that stops serving by itself (`lease-lost`) while it cannot tell anyone. Its
   * records stay; a client that comes back here is acquired again.
   */
  function releaseAll(why: ReleaseWhy): void {
    core.ownership.releaseAll(why, core.get);
  }

  return { isCurrent, ownedHere, isBehind, stopActor, lose, resync, loseAll, releaseAll };
}

/** The `onRelease` reason of a client this node lets go. */
export function releaseWhyOf(why: LostWhy | 'lease-lost'): ReleaseWhy {
  switch (why) {
    case 'deleted':
      return 'deleted';
    case 'fenced':
      return 'fenced';
    case 'left':
      return 'leaving';
    case 'lease-lost':
      return 'lease-lost';
    default:
      // replaced (another node took it), released (this node's claim was undone, it lives on unowned)
      return 'handoff';
  }
}

/** The mirror's moves. */
export type Mirror<TData> = ReturnType<typeof createMirror<TData>>;
