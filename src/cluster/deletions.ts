import type { HookTiming } from '../core/hookRunner.js';
import type { SupervisorInternals } from '../core/internals.js';
import { recordFrom } from './localStore.js';
import type { NodeContext } from './nodeState.js';
import type { OwnerStreams } from './ownerStreams.js';
import type { Deletion } from './redis/records.js';
import { retry } from './redis/retry.js';

/**
 * The deletions this node runs: those Redis assigned to it (a kick from here, a sweep, a
 * redelivery after another node died) and those its own machines decided. Each runs its onDelete
 * once through the client's machine and the hook runner, then is completed in Redis; if this
 * node dies before, another node runs it again (`redelivered`).
 */
export function createDeletions<TData>(
  node: NodeContext<TData>,
  core: SupervisorInternals<TData>,
  streams: OwnerStreams<TData>,
) {
  const { store, local, state } = node;
  /** Whether the user has an onDelete: without one, a deletion is complete as soon as it runs. */
  const hasOnDelete = typeof core.options.hooks.onDelete === 'function';
  /** Deletion ids this node is running, by client (one deletion per client at a time). */
  const running = new Map<string, string>();
  const byClient = new Map<string, string>();
  /**
   * The pending deletions' reads on their way, and the deletions completed meanwhile: a read sent
   * before a completion ran in Redis may still list it when its reply comes after the completion's.
   */
  const pendingReads = { inFlight: 0, completed: new Set<string>() };

  function track(deletion: Deletion<TData>): boolean {
    if (running.has(deletion.deletionId)) return false;
    running.set(deletion.deletionId, deletion.clientId);
    byClient.set(deletion.clientId, deletion.deletionId);
    node.emit({
      type: 'deletion-started',
      at: node.now(),
      clientId: deletion.clientId,
      deletionId: deletion.deletionId,
      fence: deletion.fence,
      reason: deletion.reason,
      redelivered: deletion.redelivered,
    });
    return true;
  }

  /** After its onDelete settled (or at once without one): this node's run is recorded in Redis. */
  function complete(deletionId: string, clientId: string): void {
    const epoch = state.lossEpoch;
    retry(() => store.completeDeletion(deletionId, clientId), { while: () => epoch === state.lossEpoch }).then(
      (outcome) => {
        if (pendingReads.inFlight > 0) pendingReads.completed.add(deletionId);
        running.delete(deletionId);
        if (byClient.get(clientId) === deletionId) byClient.delete(clientId);
        node.emit({ type: 'deletion-completed', at: node.now(), clientId, deletionId, outcome });
      },
      (error) => {
        running.delete(deletionId);
        if (byClient.get(clientId) === deletionId) byClient.delete(clientId);
        node.logger.debug({ err: error, clientId }, 'socket.io-supervisor/cluster: a deletion was not completed');
      },
    );
  }

  /** A deletion this node's own machine decided, committed in Redis: completed once its onDelete settled. */
  function trackDeletion(deletion: Deletion<TData>): void {
    if (!track(deletion)) return;
    // the machine published `deleted` already; the outbox dropped with it is known now
    streams.reportDeletion(deletion);
    if (!hasOnDelete) complete(deletion.deletionId, deletion.clientId);
  }

  /**
   * A deletion Redis assigned to this node: the client's machine (re-created from the snapshot
   * the deletion carries, if this node did not hold it) goes to `deleted`, so `deleted` is on
   * events$ and onDelete runs through the hook runner, after the client's earlier hooks here.
   */
  function runDeletion(deletion: Deletion<TData>, since: number = state.lossEpoch): void {
    // asked for before this node lost its incarnation: Redis hands it to another node (an orphan of
    // the ended incarnation); running it here too would run onDelete twice
    if (since !== state.lossEpoch) return;
    if (!track(deletion)) return;
    const { clientId } = deletion;
    let record = local.get(clientId);
    if (!record || record.state === 'deleted') {
      record = recordFrom(deletion.client, '', '');
      local.add(record);
    }
    record.cluster.deletion = {
      deletionId: deletion.deletionId,
      fence: deletion.fence,
      redelivered: deletion.redelivered,
    };
    record.cluster.expected = [];
    core.dispatch({ type: 'client.delete', clientId, reason: deletion.reason });
    // after `deleted`, as on a single node
    streams.reportDeletion(deletion);
    if (!hasOnDelete) complete(deletion.deletionId, clientId);
  }

  /** The hook runner's report: an onDelete settled (done, failed or timed out). */
  function onHookSettled(timing: HookTiming): void {
    if (timing.hook !== 'onDelete') return;
    const deletionId = byClient.get(timing.clientId);
    if (deletionId !== undefined) complete(deletionId, timing.clientId);
  }

  /** After lost replies: the deletions Redis assigned to this node that it is not running. */
  async function reconcilePending(): Promise<void> {
    state.needPending = false;
    const since = state.lossEpoch;
    pendingReads.inFlight += 1;
    try {
      for (const deletion of await store.pendingDeletions()) {
        if (!pendingReads.completed.has(deletion.deletionId)) runDeletion(deletion, since);
      }
    } catch (error) {
      state.needPending = true;
      throw error;
    } finally {
      pendingReads.inFlight -= 1;
      if (pendingReads.inFlight === 0) pendingReads.completed.clear();
    }
  }

  /** This node was fenced: its deletions are redelivered to others; it forgets them. */
  function forgetAll(): void {
    running.clear();
    byClient.clear();
  }

  return {
    runDeletion,
    trackDeletion,
    onHookSettled,
    reconcilePending,
    forgetAll,
    running: () => running.size,
  };
}

/** The deletions a node runs. */
export type Deletions<TData> = ReturnType<typeof createDeletions<TData>>;
