import { describeThrown } from '../core/describe.js';
import { type ClientSnapshot, snapshotFields } from '../machines/clientSnapshot.js';
import type { ClusterContext } from './context.js';
import type { Deletions } from './deletions.js';
import type { ClusterRecord } from './localStore.js';
import type { Ownership } from './ownership.js';
import { isUnavailable, sleep, untilAnswered } from './retry.js';
import type { HeartbeatResult, RestoreInput } from './types.js';

/**
 * The node's life in the cluster: it joins, heartbeats, sweeps the deadlines, reaps dead nodes,
 * and reacts when Redis says it was fenced (declared dead: every client it held is gone, it
 * rejoins as a new incarnation) or reset (Redis lost its data: it rejoins and writes back what it
 * holds). Each task runs on its own timer, re-armed when it finishes, so a slow Redis never
 * stacks calls.
 */
export function createMembership<TData>(
  ctx: ClusterContext<TData>,
  ownership: Ownership<TData>,
  deletions: Deletions<TData>,
  intervals: { heartbeat: number; sweep: number; reconcileEvery: number },
) {
  const { store, local, state } = ctx;
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let fencing: Promise<void> | null = null;
  const now = () => ctx.core().options.now();

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
        ctx.emit({ type: 'redis-unavailable', at: now(), message: describeThrown(error) });
      }
      return;
    }
    ctx.logger.warn({ err: error }, 'socket.io-supervisor/cluster: a periodic task failed');
  }

  /** Joins as a new incarnation, retrying while Redis is unreachable. */
  async function join(why: 'start' | 'fenced' | 'reset'): Promise<void> {
    state.ready = false;
    // at start, an unreachable Redis fails createClusterSupervisor(); later, the node waits for it
    const joined = await untilAnswered(
      () => store.join(),
      () => why !== 'start' && !stopped,
    );
    state.ready = true;
    ctx.emit({ type: 'joined', at: now(), node: store.nodeId, incarnation: joined.incarnation, why });
  }

  async function onFenced(): Promise<void> {
    const incarnation = store.incarnation ?? 0;
    state.lossEpoch += 1;
    ctx.emit({ type: 'fenced', at: now(), node: store.nodeId, incarnation });
    deletions.forgetAll();
    await join('fenced');
    // synchronously after the join's reply: every record held now belongs to the ended incarnation
    for (const record of [...local.records()]) ownership.lose(record as ClusterRecord<TData>, 'fenced');
  }

  async function onReset(): Promise<void> {
    ctx.emit({ type: 'reset', at: now() });
    await join('reset');
    const held = [...local.records()].filter((record) => record.state !== 'deleted' && record.token !== '');
    const inputs: Array<RestoreInput<TData>> = held.map((record) => ({
      clientId: record.clientId,
      tokenHash: record.cluster.tokenHash,
      data: record.data,
      fence: record.cluster.fence,
      ...(snapshotFields(record) as Pick<RestoreInput<TData>, keyof ClientSnapshot>),
      seq: ctx.delivery().knownSeq(record.clientId, record.cluster.outbox?.seq ?? 0),
    }));
    const outcomes = await untilAnswered(
      () => store.restore(inputs),
      () => !stopped,
    );
    const tally = { restored: 0, kept: 0, deleted: 0 };
    outcomes.forEach((outcome, i) => {
      const record = held[i]!;
      if (outcome === 'restored') {
        tally.restored += 1;
        ctx.delivery().restored(record.clientId, inputs[i]!.seq ?? 0);
      } else if (outcome === 'kept') {
        tally.kept += 1;
        ownership.lose(record, 'replaced');
      } else if (outcome === 'deleted') {
        tally.deleted += 1;
        ownership.lose(record, 'deleted');
      } else checkFenced();
    });
    ctx.emit({ type: 'restored', at: now(), ...tally });
  }

  async function onHeartbeat(result: HeartbeatResult): Promise<void> {
    if (result.outcome === 'node-fenced') return onFenced();
    if (result.outcome === 'reset') return onReset();
    if (state.unavailable || result.outage) {
      state.unavailable = false;
      ctx.emit({ type: 'redis-available', at: now(), outage: result.outage });
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
    ownership.forgetOldNotices();
    // right after a heartbeat that found this incarnation alive: what it holds and no longer owns
    // was lost through a missed notice, not by fencing
    beats += 1;
    if (beats % intervals.reconcileEvery === 0 && state.ready && !state.closing) {
      await ownership.reconcile(store.options.batchSize);
    }
  }

  /** After a `node-fenced` answer to any write: a heartbeat tells a dead incarnation from a reset. */
  function checkFenced(): void {
    if (fencing || stopped) return;
    heartbeat().catch(unreachable);
  }

  async function sweep(): Promise<number> {
    let deleted = 0;
    for (;;) {
      if (!state.ready || state.closing) return deleted;
      let result: Awaited<ReturnType<typeof store.sweep>>;
      try {
        result = await store.sweep();
      } catch (error) {
        // a sweep that got no answer may have deleted (and journaled) clients for this node
        if (isUnavailable(error)) state.needPending = true;
        throw error;
      }
      if (result.outcome === 'node-fenced') {
        checkFenced();
        return deleted;
      }
      if (result.outcome === 'swept') {
        for (const deletion of result.deletions) deletions.runDeletion(deletion);
        deleted += result.deletions.length;
      }
      if (!result.more) return deleted;
    }
  }

  async function reap(): Promise<void> {
    for (;;) {
      if (!state.ready || state.closing) return;
      let result: Awaited<ReturnType<typeof store.reap>>;
      try {
        result = await store.reap();
      } catch (error) {
        if (isUnavailable(error)) state.needPending = true;
        throw error;
      }
      if (result.outcome === 'node-fenced') {
        checkFenced();
        return;
      }
      if (result.declaredDead.length > 0) ctx.emit({ type: 'nodes-dead', at: now(), nodes: result.declaredDead });
      for (const deletion of result.redelivered) deletions.runDeletion(deletion);
      if (!result.more) return;
    }
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
    const deadline = Date.now() + within;
    for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
      try {
        const result = await store.leave();
        return result.outcome === 'left' ? result.released : null;
      } catch (error) {
        if (!isUnavailable(error) || Date.now() + delay > deadline) return null;
        await sleep(delay);
      }
    }
  }

  return { join, start, stop, sweep, leave, checkFenced, fencing: () => fencing };
}
