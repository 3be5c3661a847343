import type { Mirror } from './mirror.js';
import type { NodeContext } from './nodeState.js';
import type { OwnerStreams } from './ownerStreams.js';

/**
 * A notice can be missed (pub/sub delivers at most once): the reconcile asks Redis which of the
 * clients held here this incarnation still owns, in batches, and lets the others go. It runs right
 * after a heartbeat that found this incarnation alive, so "not owned" means lost, not fenced.
 */
export function createReconcile<TData>(node: NodeContext<TData>, mirror: Mirror<TData>, streams: OwnerStreams<TData>) {
  const { store, local } = node;

  return async function reconcile(batchSize: number): Promise<void> {
    streams.sweepStray();
    const held = [...local.records()].filter((r) => r.state !== 'deleted' && r.cluster.expected.length === 0);
    for (let i = 0; i < held.length; i += batchSize) {
      const batch = held.slice(i, i + batchSize);
      const owned = new Map((await store.ownedWithSeq(batch.map((r) => r.clientId))).map((o) => [o.clientId, o]));
      for (const record of batch) {
        if (!mirror.isCurrent(record) || record.cluster.expected.length > 0) continue;
        const mine = owned.get(record.clientId);
        if (mine !== undefined && mine.fence <= record.cluster.fence) {
          // a message notice may have been missed too (pub/sub is at most once)
          streams.check(record.clientId, mine.seq);
          continue;
        }
        if (mine !== undefined) {
          mirror.lose(record, 'replaced');
          continue;
        }
        // owned by nobody here: deleted, taken by another socket (it must not fight back; a
        // disconnected client too: its browser came back on another node), or released (its
        // browser should reconnect and resume). Not owned here does not mean deleted
        const now = await store.get(record.clientId);
        mirror.lose(record, now === undefined ? 'deleted' : now.node === null ? 'released' : 'replaced');
      }
    }
  };
}
