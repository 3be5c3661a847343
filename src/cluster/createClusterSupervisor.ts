import { Subject } from 'rxjs';
import { realClock } from '../core/clock.js';
import type { OutboxLimits } from '../core/delivery.js';
import { internalsOf, type RemoteVerdict } from '../core/internals.js';
import { createSupervisorOn, type Supervisor } from '../createSupervisor.js';
import type { Commit } from '../store/clientStore.js';
import { createNodeApi, createRegister } from './api.js';
import { bindNode } from './bindings.js';
import type { ClusterEvent } from './clusterEvents.js';
import { type ClusterSupervisorOptions, resolveClusterOptions } from './clusterOptions.js';
import type { ClusterSupervisor } from './clusterSupervisor.js';
import { createCommits } from './commits.js';
import { createDeletions } from './deletions.js';
import { createDueHooks } from './dueHooks.js';
import { createHookGate } from './hookGate.js';
import { ClusterLocalStore } from './localStore.js';
import { logClusterEvents } from './logClusterEvents.js';
import { createMembership } from './membership.js';
import { leaseLeft } from './nodeMachine.js';
import { createMirror } from './mirror.js';
import { initialState, type NodeContext, type NodeStateHandle } from './nodeState.js';
import { createNotices } from './notices.js';
import { createOwnerStreams, type OwnerStreams } from './ownerStreams.js';
import { createReconcile } from './reconcile.js';
import { RedisClusterStore } from './redis/RedisClusterStore.js';
import { createRemoteAdmission } from './remoteAdmission.js';
import { createWriteBack } from './rollback.js';
import { createToClient } from './toClient.js';

/** How many heartbeats apart the node asks Redis which of its clients it still owns (missed notices). */
const RECONCILE_EVERY = 5;

/**
 * Creates one node of a cluster that shares its clients through Redis (docs/design.md, "Cluster
 * mode"): connects, joins as a new incarnation, subscribes to its notices, and starts its
 * heartbeat, sweep and reap. Rejects with a `TypeError` naming a bad option, and `UNAVAILABLE` when
 * Redis cannot be reached.
 *
 * The parts are made in order, each from those before it (docs/cluster-supervisor.md, "Parts"):
 * the Redis layer, the node's context (state, mirror, `cluster$`), the hook gate, the core
 * supervisor (which makes the owner streams through its delivery seam), then the parts that act
 * on the core: the mirror's moves, deletions, notices, reconcile, membership, registration,
 * commits, admission, `to()`, the API. The core calls back into two parts made after it, the
 * commits (through the mirror's store) and the admission; it calls them only for a transition or a
 * handshake, which cannot happen before this function returns.
 *
 * @example
 * ```ts
 * const supervisor = await createClusterSupervisor({ redis: 'redis://127.0.0.1:6379', nodeId: 'web-1' });
 * supervisor.attach(io);
 * const { clientId, token } = await supervisor.register({ data: { user: 1 } });
 * ```
 */
export async function createClusterSupervisor<TData = unknown>(
  options: ClusterSupervisorOptions<TData>,
): Promise<ClusterSupervisor<TData>> {
  const resolved = resolveClusterOptions(options);
  const store = await RedisClusterStore.connect<TData>(resolved.store);
  const clusterEvents = new Subject<ClusterEvent>();
  const state = initialState();
  const gate = createHookGate(state, {
    nodeId: store.nodeId,
    connectRan: (clientId, socketId) => store.connectHookRan(clientId, socketId),
  });
  const local: ClusterLocalStore<TData> = new ClusterLocalStore<TData>({
    tombstoneTtl: store.options.tombstoneTtl,
    // made below, after the core: the mirror commits only once the core runs transitions
    commitRemote: (record, previousSocketId, snapshot): Commit => commits.commit(record, previousSocketId, snapshot),
    hookContext: (record, event) => gate.ticketOf(record, event),
  });
  const node: NodeContext<TData> & { readonly state: NodeStateHandle } = {
    store,
    local,
    state,
    logger: store.options.logger,
    now: resolved.resolvedCore.now,
    emit: (event) => clusterEvents.next(event),
  };
  // completes with cluster$ (at close)
  logClusterEvents(clusterEvents, node.logger);

  // the core makes the owner streams (its delivery port) while it is made, with its socket bridge
  let made: OwnerStreams<TData> | undefined;
  const core: Supervisor<TData> = createSupervisorOn<TData>(
    { ...resolved.core, hooks: gate.wrap(resolved.hooks) },
    realClock,
    {
      store: local,
      // made below, after the core: a handshake reaches it only once a namespace is attached
      admitRemote: (request): Promise<RemoteVerdict> => admitRemote(request),
      ownershipContext: (ticket) => gate.ownershipContext(ticket),
      // made below, after the core; no socket is served before the node joined
      serving: () => servingNow(),
      delivery: (deps) => {
        made = createOwnerStreams(deps, node);
        return made;
      },
    },
  );
  if (made === undefined) throw new Error('socket.io-supervisor/cluster: the core did not make its delivery');
  const streams: OwnerStreams<TData> = made;
  const inside = internalsOf(core);

  const mirror = createMirror(node, inside, streams);
  const deletions = createDeletions(node, inside, streams);
  inside.onHookSettled((timing) => deletions.onHookSettled(timing));
  const due = createDueHooks(node, { core: inside, gate, mirror });
  const notices = createNotices(node, mirror, streams, due);
  const reconcile = createReconcile(node, mirror, streams);
  const writeBack = createWriteBack(node);
  clusterEvents.subscribe(writeBack.observe);
  const membership = createMembership(
    node,
    { mirror, deletions, notices, streams, reconcile, writeBack: writeBack.writeBack },
    { heartbeat: store.options.heartbeatInterval, sweep: resolved.pruneInterval, reconcileEvery: RECONCILE_EVERY },
    realClock,
  );
  const { checkFenced } = membership;
  function servingNow(): boolean {
    const actor = membership.actor;
    // the lease alone: a rejoin after a Redis reset keeps its clients and its lease
    return actor !== null && leaseLeft(actor) > 0;
  }
  const register = createRegister(node, inside, checkFenced);
  const commits = createCommits(node, { mirror, trackDeletion: deletions.trackDeletion, checkFenced });
  const admitRemote = createRemoteAdmission(node, {
    mirror,
    register: (tabId) => register(tabId === null ? {} : { tabId }),
    checkFenced,
    applyPendingNotice: notices.applyPending,
    runDueConnect: due.runConnect,
  });
  const to = createToClient(node, {
    streams,
    limits: inside.options.outbox as OutboxLimits,
    runDeletion: deletions.runDeletion,
    checkFenced,
  });

  let unsubscribe: () => Promise<void>;
  try {
    unsubscribe = await store.subscribe(notices.onNotice);
    await membership.start();
  } catch (error) {
    membership.stop();
    await core.close();
    await store.close();
    throw error;
  }

  const supervisor = createNodeApi(node, {
    core,
    inside,
    mirror,
    deletions,
    membership,
    register,
    to,
    clusterEvents,
    unsubscribe: () => unsubscribe(),
  });
  bindNode(supervisor, { core, store, local, delivery: streams, life: () => state.life });
  return supervisor;
}
