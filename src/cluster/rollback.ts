import type { ClusterEvent } from './clusterEvents.js';
import type { NodeContext } from './nodeState.js';
import { retry } from './redis/retry.js';

/** A deletion this node ran, as its journal keeps it. */
interface Ran {
  clientId: string;
  reason: string;
  /** When this node started it (the node's clock). */
  at: number;
}

/**
 * What a node writes back, besides the clients it holds, after Redis lost its data or went back to
 * an older copy of it (a snapshot restored, an AOF tail lost, a lagging replica promoted): the
 * deletions it ran within `tombstoneTtl`. It keeps them in a journal of its own (deletion id,
 * client, reason, when), fed by its `deletion-started` reports and bounded by `tombstoneTtl`; after
 * the rejoin and the restore of its clients (`membership`'s reset path), {@link WriteBack.writeBack}
 * sends them in batches, so Redis gets each tombstone back, drops the record it went back to
 * without a hook, and never redelivers an `onDelete` that already ran here. The last batch marks
 * this incarnation written back: a recovery after a rollback drops what no node holds only once
 * every live node is (see the `recoverStep` fragment).
 */
export function createWriteBack<TData>(node: NodeContext<TData>) {
  const { store, state } = node;
  const ttl = store.options.tombstoneTtl;
  /** By deletion id, in the order they started (so the oldest are first to go). */
  const journal = new Map<string, Ran>();

  function prune(now: number): void {
    for (const [deletionId, ran] of journal) {
      if (now - ran.at < ttl) return;
      journal.delete(deletionId);
    }
  }

  /**
   * Marks this incarnation written back with nothing to write: a node that joins at its start, or
   * after it was fenced, holds no client Redis could have lost (its journal, after a fencing,
   * is for the node that takes its deletions over), and a recovery must not wait for it.
   */
  function markJoined(): void {
    retry(() => store.writeBack([], true), { while: () => !state.closing }).catch((error: unknown) =>
      node.logger.debug({ err: error }, 'socket.io-supervisor/cluster: a join was not marked written back'),
    );
  }

  /**
   * Reads this node's `cluster$` reports: each deletion it starts is journaled; a join that is not
   * a reset's is marked written back at once (a reset's is marked by {@link writeBack}).
   */
  function observe(event: ClusterEvent): void {
    if (event.type === 'joined' && event.why !== 'reset') {
      markJoined();
      return;
    }
    if (event.type !== 'deletion-started' || journal.has(event.deletionId)) return;
    const now = node.now();
    prune(now);
    journal.set(event.deletionId, { clientId: event.clientId, reason: event.reason, at: now });
  }

  /**
   * After a reset or a rollback, once this node has rejoined and restored its clients: writes back
   * the journal, then marks the incarnation written back. Retries while Redis is unreachable, until
   * the node closes.
   */
  async function writeBack(): Promise<void> {
    const now = node.now();
    prune(now);
    const deletions = [...journal].map(([deletionId, ran]) => ({
      deletionId,
      clientId: ran.clientId,
      reason: ran.reason,
      ttl: Math.max(1, Math.ceil(ttl - (now - ran.at))),
    }));
    const size = Math.max(1, store.options.batchSize);
    let removed = 0;
    for (let start = 0; start === 0 || start < deletions.length; start += size) {
      const batch = deletions.slice(start, start + size);
      const done = start + size >= deletions.length;
      const outcome = await retry(() => store.writeBack(batch, done), { while: () => !state.closing });
      // fenced meanwhile: the next heartbeat rejoins, and a reset writes back again
      if (outcome === 'node-fenced') return;
      removed += outcome;
    }
    const why = store.resetKind === 'rolled-back' ? 'rollback' : 'reset';
    node.emit({ type: 'written-back', at: node.now(), why, deletions: deletions.length, removed });
  }

  return { observe, writeBack, journaled: () => journal.size };
}

/** What a node writes back after Redis lost or rolled back its data. */
export type WriteBack = ReturnType<typeof createWriteBack>;
