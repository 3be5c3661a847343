import type { Clock } from '../core/clock.js';
import { describeThrown } from '../core/describe.js';
import { type ClientSnapshot, snapshotFields } from '../machines/clientSnapshot.js';
import type { Deletions } from './deletions.js';
import type { Mirror } from './mirror.js';
import { type JoinWhy, type NodeActor, type NodePorts, type NodeReport, startNodeMachine } from './nodeMachine.js';
import type { NodeContext, NodeStateHandle } from './nodeState.js';
import type { Notices } from './notices.js';
import type { OwnerStreams } from './ownerStreams.js';
import type { Deletion, RestoreInput } from './redis/records.js';
import { isUnavailable, retry, sleep } from './redis/retry.js';

/**
 * The node's life in the cluster, driven by its machine (nodeMachine.ts): it joins, heartbeats
 * (each acknowledged heartbeat extends its lease), sweeps the deadlines and reaps dead nodes; the
 * machine decides when it serves, when it stops serving by itself (its lease ran out), and when it
 * rejoins (fenced, lease lost, or Redis reset: once each). Each periodic task runs on its own
 * timer, re-armed when it finishes, so a slow Redis never stacks calls.
 */
export function createMembership<TData>(
  node: NodeContext<TData> & { readonly state: NodeStateHandle },
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
  clock: Clock,
  monotonic: () => number = () => performance.now(),
) {
  const { store, local, state } = node;
  const { mirror, deletions, streams } = parts;
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let actor: NodeActor | null = null;
  /** The first join's outcome (`start()` waits for it). */
  let started: { resolve(): void; reject(error: unknown): void } | null = null;

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

  /** Redis answered: after an unreachable spell (or a cluster-wide outage a heartbeat found), say so once. */
  function answered(outage: boolean): void {
    if (!state.unavailable && !outage) return;
    state.unavailable = false;
    node.emit({ type: 'redis-available', at: node.now(), outage });
  }

  function report(event: NodeReport): void {
    const at = node.now();
    if (event.type === 'reset') node.emit({ type: 'reset', at });
    else if (event.type === 'joined') {
      node.emit({ type: 'joined', at, node: store.nodeId, incarnation: event.incarnation, why: event.why });
    } else node.emit({ type: event.type, at, node: store.nodeId, incarnation: event.incarnation });
  }

  /**
   * Joins as a new incarnation: the first time once (an error fails `createClusterSupervisor()`),
   * later retrying while Redis is unreachable. The lease starts when the acknowledged join was sent.
   */
  let joins = 0;
  function join(why: JoinWhy): void {
    joins += 1;
    const mine = joins;
    const current = () => !stopped && mine === joins && state.life === 'rejoining';
    let sentAt = monotonic();
    const attempt = () => {
      sentAt = monotonic();
      return store.join();
    };
    // a rejoin joins once Redis answers a ping: joins sent into a partition would all run at the heal
    const probed = async () => {
      await store.ping();
      return attempt();
    };
    const run = async () => {
      if (why === 'start') return attempt();
      for (;;) {
        try {
          return await retry(probed, { while: current });
        } catch (error) {
          if (!current() || isUnavailable(error)) throw error;
          // e.g. another process took this node id while this one was cut off: say so, try again later
          node.logger.warn({ err: error }, 'socket.io-supervisor/cluster: the node cannot join again');
          await sleep(store.options.nodeTtl);
        }
      }
    };
    run().then(
      (joined) => {
        if (stopped || actor === null || mine !== joins) return;
        if (why === 'fenced' || why === 'lease-lost') {
          // synchronously after the join's reply: every record still held belongs to the ended incarnation
          deletions.forgetAll();
          mirror.loseAll(why);
        }
        actor.send({ type: 'joined', incarnation: joined.incarnation, sentAt, ended: joined.endedIncarnation });
        // the join's reply is Redis answering: health() must not say unavailable until the next heartbeat
        answered(false);
        started?.resolve();
        started = null;
        if (why === 'reset') restore().catch(unreachable);
      },
      (error: unknown) => {
        if (why === 'start') {
          actor?.send({ type: 'join.failed' });
          started?.reject(error);
          started = null;
        } else unreachable(error);
      },
    );
  }

  /** After a reset (or rollback) and the rejoin: writes back the clients this node holds. */
  async function restore(): Promise<void> {
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

  const ports: NodePorts = {
    monotonic,
    join,
    loseAll(why) {
      deletions.forgetAll();
      mirror.loseAll(why);
    },
    heartbeatNow() {
      if (!stopped) heartbeat().catch(unreachable);
    },
    report,
  };

  let beating: Promise<void> | null = null;
  /** Heartbeats since the last re-check of what this node holds, and the ownership version it saw. */
  let beats = 0;
  let checkedVersion: number | null = null;
  let joinsChecked = -1;
  /** With partitions the version costs a read: read every reconcileEvery-th heartbeat only. */
  const lazyVersion = store.options.partitions > 1;
  /**
   * With partitions, beside the heartbeats (never holding the lease up): the re-check on its way
   * (the versions' read, then the reconcile) and the pending deletions' read, if any.
   */
  const beside: { checking: Promise<void> | null; pending: Promise<void> | null } = { checking: null, pending: null };
  /** Runs `task` beside the heartbeats, unless the last one of its kind is still on its way. */
  function runBeside(kind: keyof typeof beside, task: () => Promise<void>): void {
    beside[kind] ??= task()
      .catch(unreachable)
      .finally(() => {
        beside[kind] = null;
      });
  }
  /** One heartbeat at a time; a call while one is on its way waits for that one. */
  function heartbeat(): Promise<void> {
    if (!state.ready) return Promise.resolve();
    beating ??= beat().finally(() => {
      beating = null;
    });
    return beating;
  }

  async function beat(): Promise<void> {
    const incarnation = store.incarnation ?? 0;
    const sentAt = monotonic();
    // with one partition the heartbeat's reply has the ownership version; with partitions it is a
    // read of its own (checkPartitions), never on the way of the lease
    const result = await store.heartbeat({ ownershipVersion: !lazyVersion });
    if (result.outcome === 'node-fenced') {
      actor?.send({ type: 'heartbeat.fenced', incarnation });
      return;
    }
    if (result.outcome === 'reset') {
      actor?.send({ type: 'reset', incarnation });
      return;
    }
    actor?.send({ type: 'heartbeat.ok', incarnation, sentAt });
    answered(result.outage);
    if (state.needPending) {
      // with partitions a heartbeat answered does not say every master does: asked beside the
      // heartbeats, so a master failing over never holds the lease up
      if (lazyVersion) runBeside('pending', deletions.reconcilePending);
      else await deletions.reconcilePending();
    }
    parts.notices.forgetOld();
    // right after a heartbeat that found this incarnation alive: what it holds and no longer owns
    // was lost through a missed notice, not by fencing. At most every reconcileEvery heartbeats,
    // and only when the ownership version moved since the last re-check (or the node joined since):
    // no notice was sent, so none was missed
    beats += 1;
    if (beats < intervals.reconcileEvery || !state.ready) return;
    if (lazyVersion) {
      beats = 0;
      runBeside('checking', checkPartitions);
      return;
    }
    const version = result.ownershipVersion;
    if (version !== checkedVersion || joinsChecked !== joins) {
      beats = 0;
      joinsChecked = joins;
      await parts.reconcile(store.options.batchSize);
      checkedVersion = version;
    }
  }

  /**
   * With partitions, every reconcileEvery-th heartbeat and beside the heartbeats (a master failing
   * over can hold the read for commandTimeout; the lease must not wait for it): reads the
   * partitions' ownership versions, one call per master. The read may find a partition gone back
   * (a write counter below this node's own, a restarted master or a promoted replica): a heartbeat
   * reports the rollback at once. Else, when the version moved, a heartbeat that finds this
   * incarnation alive, then the reconcile.
   */
  async function checkPartitions(): Promise<void> {
    const incarnation = store.incarnation;
    const version = await store.ownershipVersion();
    const current = () => !stopped && state.ready && store.incarnation === incarnation;
    if (!current()) return;
    if (store.behind) {
      await heartbeat();
      return;
    }
    if (version === checkedVersion && joinsChecked === joins) return;
    await heartbeat();
    if (!current()) return;
    joinsChecked = joins;
    await parts.reconcile(store.options.batchSize);
    checkedVersion = version;
  }

  /** After a `node-fenced` answer to any write: a heartbeat tells a dead incarnation from a reset. */
  function checkFenced(): void {
    if (stopped || !state.ready) return;
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
      if (!state.ready) return ran;
      const since = state.lossEpoch;
      const result = await batch().catch((error: unknown) => {
        if (isUnavailable(error)) state.needPending = true;
        throw error;
      });
      if ('outcome' in result) {
        checkFenced();
        return ran;
      }
      for (const deletion of result.deletions) deletions.runDeletion(deletion, since);
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
      if (result.declaredDead.length > 0) {
        node.emit({
          type: 'nodes-dead',
          at: node.now(),
          nodes: result.declaredDead,
          incarnations: result.declaredIncarnations,
        });
      }
      return { deletions: result.redelivered, more: result.more };
    });
  }

  /**
   * Starts the node's machine, which joins (resolves once joined; rejects with the join's error,
   * e.g. `NODE_ID_IN_USE`), then arms the heartbeat, the reap and the sweep.
   */
  async function start(): Promise<NodeActor> {
    const joined = new Promise<void>((resolve, reject) => {
      started = { resolve, reject };
    });
    actor = startNodeMachine({ nodeTtl: store.options.nodeTtl, ports }, clock);
    state.attach(actor);
    await joined;
    every(intervals.heartbeat, heartbeat);
    every(intervals.heartbeat, reap);
    every(intervals.sweep, async () => {
      await sweep();
    });
    return actor;
  }

  /** `close()` began: the machine goes to `leaving` (no handshake, registration or periodic task). */
  function stop(): void {
    // a join refused (NODE_ID_IN_USE, KEY_LAYOUT_MISMATCH) already ended the machine in `closed`
    if (actor?.getSnapshot().status === 'active') actor.send({ type: 'close' });
    stopped = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  }

  /** `close()` ended. */
  function closed(): void {
    actor?.send({ type: 'closed' });
    actor?.stop();
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

  return {
    start,
    stop,
    closed,
    sweep,
    leave,
    checkFenced,
    /** The node's machine (once started). */
    get actor(): NodeActor | null {
      return actor;
    },
  };
}

/** The node's membership. */
export type Membership = ReturnType<typeof createMembership>;
