import { describeThrown } from '../core/describe.js';
import { type ClientSnapshot, snapshotFields } from '../machines/clientSnapshot.js';
import type { Deletions } from './deletions.js';
import type { Mirror } from './mirror.js';
import type { NodeContext } from './nodeState.js';
import type { Notices } from './notices.js';
import type { OwnerStreams } from './ownerStreams.js';
import type { Deletion, RestoreInput } from './redis/records.js';
import type { HeartbeatResult } from './redis/results.js';
import { isUnavailable, retry } from './redis/retry.js';

/**
 * The node's life in the cluster: it joins, heartbeats, sweeps the deadlines, reaps dead nodes,
 * and reacts when Redis says it was fenced (declared dead: every client it held is gone, it
 * rejoins as a new incarnation) or reset (Redis lost its data: it rejoins and writes back what it
 * holds). Each task runs on its own timer, re-armed when it finishes, so a slow Redis never
 * stacks calls.
 */
export function createMembership<TData>(
  node: NodeContext<TData>,
  parts: {
    mirror: Mirror<TData>;
    deletions: Deletions<TData>;
    notices: Notices;
    streams: OwnerStreams<TData>;
    reconcile(batchSize: number): Promise<void>;
    /** After a reset's restore: the deletions this node ran, written back (`rollback.ts`). */
    writeBack(): Promise<void>;
  },
  intervals: { heartbeat: number; sweep: number; reconcileEvery: number },
) {
  const { store, local, state } = node;
  const { mirror, deletions, streams } = parts;
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let fencing: Promise<void> | null = null;

  /** Runs `task` every `ms` (after it finished), until stopped. */
  function every(ms: number, task: () => Promise<void>): void {
    if (ms <= 0) return;
    const arm = () => {
      if (stopped) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        task().then(arm, (error) => {
          unreachable(error);
          arm();
        });
      }, ms);
      timer.unref();
      timers.add(timer);
    };
    arm();
  }

  function unreachable(error: unknown): void {
    if (isUnavailable(error)) {
      if (!state.unavailable) {
        state.unavailable = true;
        node.emit({ type: 'redis-unavailable', at: node.now(), message: describeThrown(error) });
      }
      return;
    }
    node.logger.warn({ err: error }, 'socket.io-supervisor/cluster: a periodic task failed');
  }

  /** Joins as a new incarnation, retrying while Redis is unreachable. */
  async function join(why: 'start' | 'fenced' | 'reset'): Promise<void> {
    state.ready = false;
    // at start, an unreachable Redis fails createClusterSupervisor(); later, the node waits for it
    const joined = await retry(() => store.join(), { while: () => why !== 'start' && !stopped });
    state.ready = true;
    node.emit({ type: 'joined', at: node.now(), node: store.nodeId, incarnation: joined.incarnation, why });
  }

  async function onFenced(): Promise<void> {
    const incarnation = store.incarnation ?? 0;
    state.lossEpoch += 1;
    node.emit({ type: 'fenced', at: node.now(), node: store.nodeId, incarnation });
    deletions.forgetAll();
    await join('fenced');
    // synchronously after the join's reply: every record held now belongs to the ended incarnation
    mirror.loseAll('fenced');
  }

  async function onReset(): Promise<void> {
    node.emit({ type: 'reset', at: node.now() });
    await join('reset');
    const held = [...local.records()].filter((record) => record.state !== 'deleted' && record.token !== '');
    const inputs: Array<RestoreInput<TData>> = held.map((record) => ({
      clientId: record.clientId,
      tokenHash: record.cluster.tokenHash,
      data: record.data,
      fence: record.cluster.fence,
      ...(snapshotFields(record) as Pick<RestoreInput<TData>, keyof ClientSnapshot>),
      seq: streams.knownSeq(record.clientId, record.cluster.outbox?.seq ?? 0),
    }));
    const outcomes = await retry(() => store.restore(inputs), { while: () => !stopped });
    const tally = { restored: 0, kept: 0, deleted: 0 };
    outcomes.forEach((outcome, i) => {
      const record = held[i]!;
      if (outcome === 'restored') {
        tally.restored += 1;
        streams.restored(record.clientId, inputs[i]!.seq ?? 0);
      } else if (outcome === 'kept') {
        tally.kept += 1;
        mirror.lose(record, 'replaced');
      } else if (outcome === 'deleted') {
        tally.deleted += 1;
        mirror.lose(record, 'deleted');
      } else checkFenced();
    });
    node.emit({ type: 'restored', at: node.now(), ...tally });
    await parts.writeBack();
  }

  async function onHeartbeat(result: HeartbeatResult): Promise<void> {
    if (result.outcome === 'node-fenced') return onFenced();
    if (result.outcome === 'reset') return onReset();
    if (state.unavailable || result.outage) {
      state.unavailable = false;
      node.emit({ type: 'redis-available', at: node.now(), outage: result.outage });
    }
    if (state.needPending) await deletions.reconcilePending();
  }

  let beats = 0;
  async function heartbeat(): Promise<void> {
    if (fencing) return fencing;
    const result = await store.heartbeat();
    if (result.outcome !== 'ok') {
      fencing = onHeartbeat(result).finally(() => {
        fencing = null;
      });
      return fencing;
    }
    await onHeartbeat(result);
    parts.notices.forgetOld();
    // right after a heartbeat that found this incarnation alive: what it holds and no longer owns
    // was lost through a missed notice, not by fencing
    beats += 1;
    if (beats % intervals.reconcileEvery === 0 && state.ready && !state.closing) {
      await parts.reconcile(store.options.batchSize);
    }
  }

  /** After a `node-fenced` answer to any write: a heartbeat tells a dead incarnation from a reset. */
  function checkFenced(): void {
    if (fencing || stopped) return;
    heartbeat().catch(unreachable);
  }

  /**
   * Calls a batch of the sweep or the reap until it says no more is left, running the deletions
   * each batch assigned to this node. A batch that got no answer may have deleted (and journaled)
   * clients for this node: its pending deletions are asked for once Redis answers.
   */
  async function inBatches(
    batch: () => Promise<{ outcome: 'node-fenced' } | { deletions: Array<Deletion<TData>>; more: boolean }>,
  ): Promise<number> {
    let ran = 0;
    for (;;) {
      if (!state.ready || state.closing) return ran;
      const result = await batch().catch((error: unknown) => {
        if (isUnavailable(error)) state.needPending = true;
        throw error;
      });
      if ('outcome' in result) {
        checkFenced();
        return ran;
      }
      for (const deletion of result.deletions) deletions.runDeletion(deletion);
      ran += result.deletions.length;
      if (!result.more) return ran;
    }
  }

  /** This node's deadline sweep; how many clients it deleted. */
  function sweep(): Promise<number> {
    return inBatches(async () => {
      const result = await store.sweep();
      if (result.outcome === 'node-fenced') return result;
      return { deletions: result.outcome === 'swept' ? result.deletions : [], more: result.more };
    });
  }

  async function reap(): Promise<void> {
    await inBatches(async () => {
      const result = await store.reap();
      if (result.outcome === 'node-fenced') return result;
      if (result.declaredDead.length > 0) node.emit({ type: 'nodes-dead', at: node.now(), nodes: result.declaredDead });
      return { deletions: result.redelivered, more: result.more };
    });
  }

  function start(): void {
    every(intervals.heartbeat, heartbeat);
    every(intervals.heartbeat, reap);
    every(intervals.sweep, async () => {
      await sweep();
    });
  }

  function stop(): void {
    stopped = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  }

  /** Leaves the cluster (a rolling deploy), retrying while Redis is unreachable, for at most `within` ms. */
  async function leave(within: number): Promise<number | null> {
    try {
      const result = await retry(() => store.leave(), { within });
      return result.outcome === 'left' ? result.released : null;
    } catch {
      return null;
    }
  }

  return { join, start, stop, sweep, leave, checkFenced };
}
