import {
  catchError,
  defer,
  distinctUntilChanged,
  EMPTY,
  exhaustMap,
  filter,
  from,
  interval,
  merge,
  type Observable,
  of,
  Subject,
  takeUntil,
  throttleTime,
} from 'rxjs';
import { realClock } from '../core/clock.js';
import { SupervisorError } from '../core/errors.js';
import { hashToken, isId, randomId } from '../core/ids.js';
import { internalsOf, type SupervisorInternals } from '../core/internals.js';
import type { RegisterOptions, Registration } from '../core/supervisor.js';
import type { SupervisorHooks } from '../core/types.js';
import { createSupervisorOn } from '../createSupervisor.js';
import { type ClusterSupervisorOptions, splitClusterOptions } from './clusterOptions.js';
import type {
  ClusterClientView,
  ClusterEvent,
  ClusterHooks,
  ClusterListOptions,
  ClusterSupervisor,
} from './clusterTypes.js';
import { type ClusterContext, recordFrom, toClusterView } from './context.js';
import { createDeletions } from './deletions.js';
import { type ClusterDelivery, createClusterDelivery } from './delivery.js';
import { registerClusterInspectable } from './inspectable.js';
import { ClusterLocalStore } from './localStore.js';
import { createMembership } from './membership.js';
import { createOwnership, type Ownership } from './ownership.js';
import { RedisClusterStore } from './RedisClusterStore.js';
import { isUnavailable, sleep } from './retry.js';
import type { ClusterCounts, DeleteResult } from './types.js';

const COUNTED = new Set(['registered', 'connected', 'reconnected', 'disconnected', 'deleted']);

function unavailable(what: string): SupervisorError {
  return new SupervisorError('UNAVAILABLE', `${what}: the cluster store (Redis) is unreachable; retry in a moment`);
}

/** The user's hooks, called with `{ fence, deletionId?, redelivered? }` unless the node lost the client since. */
function wrapHooks<TData>(hooks: ClusterHooks<TData>, ownership: Ownership<TData>): SupervisorHooks<TData> {
  const wrapped: SupervisorHooks<TData> = {};
  const { onConnect, onDisconnect, onDelete } = hooks;
  type Third = [ticket?: unknown];
  if (onConnect) {
    wrapped.onConnect = (client, ctx, ...[ticket]: Third) =>
      ownership.hookAllowed(ticket) ? onConnect(client, ctx, ownership.publicContext(ticket)) : undefined;
  }
  if (onDisconnect) {
    wrapped.onDisconnect = (client, reason, ...[ticket]: Third) =>
      ownership.hookAllowed(ticket) ? onDisconnect(client, reason, ownership.publicContext(ticket)) : undefined;
  }
  if (onDelete) {
    wrapped.onDelete = (client, reason, ...[ticket]: Third) =>
      ownership.hookAllowed(ticket) ? onDelete(client, reason, ownership.publicContext(ticket)) : undefined;
  }
  return wrapped;
}

async function until(condition: () => boolean, within: number): Promise<void> {
  const deadline = Date.now() + within;
  while (!condition() && Date.now() < deadline) await sleep(20);
}

/**
 * Creates one node of a cluster that shares its clients through Redis (docs/design.md, "Cluster
 * mode"): connects, joins as a new incarnation, subscribes to its notices, and starts its
 * heartbeat, sweep and reap. Rejects `UNAVAILABLE` when Redis cannot be reached.
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
  const split = splitClusterOptions(options);
  const store = await RedisClusterStore.connect<TData>(split.store);
  const userHooks = options.hooks ?? {};
  const clusterEvents = new Subject<ClusterEvent>();
  const closed = new Subject<void>();
  let internals: SupervisorInternals<TData> | undefined;
  let delivery: ClusterDelivery<TData> | undefined;

  const local = new ClusterLocalStore<TData>({
    tombstoneTtl: store.options.tombstoneTtl,
    commitRemote: (record, previousSocketId, snapshot) => ownership.commitRemote(record, previousSocketId, snapshot),
    hookContext: (record, event) => ownership.hookContext(record, event),
  });
  const ctx: ClusterContext<TData> = {
    store,
    local,
    core: () => internals!,
    delivery: () => delivery!,
    emit: (event) => clusterEvents.next(event),
    logger: store.options.logger,
    hasOnDelete: typeof userHooks.onDelete === 'function',
    state: { lossEpoch: 0, closing: false, ready: false, needPending: false, unavailable: false },
  };
  const { state } = ctx;
  const deletions = createDeletions(ctx);
  const ownership: Ownership<TData> = createOwnership(ctx, {
    trackDeletion: (deletion) => deletions.trackDeletion(deletion),
    checkFenced: () => membership.checkFenced(),
    register: (tabId) => register(tabId === null ? {} : { tabId }),
  });
  const { heartbeatInterval, commandTimeout } = store.options;
  const membership = createMembership(ctx, ownership, deletions, {
    heartbeat: heartbeatInterval,
    sweep: split.pruneInterval,
    reconcileEvery: 5,
  });

  const core = createSupervisorOn<TData>({ ...split.core, hooks: wrapHooks(userHooks, ownership) }, realClock, {
    store: local,
    admitRemote: (request) => ownership.admitRemote(request),
    // outboxes live in Redis: emit from any node, sent by the owner
    delivery: (deps) => {
      delivery = createClusterDelivery(ctx, deps, {
        runDeletion: (deletion) => deletions.runDeletion(deletion),
        checkFenced: () => membership.checkFenced(),
      });
      return delivery;
    },
  });
  internals = internalsOf(core);
  const inside = internals;
  inside.onHookSettled((timing) => deletions.onHookSettled(timing));

  let unsubscribe: () => Promise<void>;
  try {
    unsubscribe = await store.subscribe((notice) => ownership.onNotice(notice));
    await membership.join('start');
  } catch (error) {
    await core.close();
    await store.close();
    throw error;
  }
  membership.start();

  async function register(registerOptions: RegisterOptions<TData> = {}): Promise<Registration> {
    if (state.closing) throw new SupervisorError('CLOSED', 'register(): the supervisor is closed');
    if (!state.ready) throw unavailable('register()');
    const result = await store.register({ tabId: registerOptions.tabId ?? null, data: registerOptions.data });
    if (result.outcome === 'node-fenced') {
      membership.checkFenced();
      throw unavailable('register()');
    }
    if (result.outcome === 'id-taken') throw new Error('socket.io-supervisor/cluster: a random client id was taken');
    const { clientId, token } = result;
    // leaving meanwhile: leave() releases it in Redis, and its page connects to another node
    if (state.closing) return { clientId, token };
    const record = recordFrom(result.client, token, hashToken(token));
    record.cluster.expected.push({ state: 'handshaking', socketId: null });
    local.add(record);
    inside.host.spawn(record);
    return { clientId, token };
  }

  async function get(clientId: string): Promise<ClusterClientView<TData> | undefined> {
    if (!isId(clientId)) return undefined;
    const view = await store.view(clientId);
    return view === undefined ? undefined : toClusterView(view.client, view.outbox);
  }

  async function deleteClient(clientId: string, reason = 'manual'): Promise<boolean> {
    if (typeof reason !== 'string') {
      throw new SupervisorError('INVALID_ARGUMENT', `delete(): reason must be a string, not ${typeof reason}`);
    }
    if (!isId(clientId)) return false;
    if (!state.ready) throw unavailable('delete()');
    // one deletion id for every attempt: a retry of an attempt that ran answers `replay`
    const deletionId = randomId();
    let result: DeleteResult<TData>;
    for (let attempt = 1; ; attempt++) {
      try {
        result = await store.delete({ clientId, reason, deletionId });
        break;
      } catch (error) {
        if (!isUnavailable(error)) throw error;
        state.needPending = true;
        if (attempt === 3) throw error;
        await sleep(200 * attempt);
      }
    }
    if (result.outcome === 'node-fenced') {
      membership.checkFenced();
      throw unavailable('delete()');
    }
    if (result.outcome === 'deleted' || result.outcome === 'replay') {
      if (result.deletion) deletions.runDeletion(result.deletion);
      return true;
    }
    return false;
  }

  async function connected(clientId: string, waitOptions: { timeout?: number } = {}) {
    const deadline = waitOptions.timeout === undefined ? Number.POSITIVE_INFINITY : Date.now() + waitOptions.timeout;
    for (;;) {
      const view = await get(clientId);
      if (view?.state === 'connected') return view;
      if (!view) {
        if (isId(clientId) && (await store.isDeleted(clientId))) {
          throw new SupervisorError('CLIENT_DELETED', `connected(): client ${clientId} was deleted`);
        }
        throw new SupervisorError('UNKNOWN_CLIENT', `connected(): no client ${clientId}`);
      }
      if (Date.now() >= deadline) {
        throw new SupervisorError('TIMEOUT', `connected(): client ${clientId} did not connect in time`);
      }
      await sleep(Math.min(50, deadline - Date.now()));
    }
  }

  const counts$: Observable<ClusterCounts> = defer(() =>
    merge(of(0), core.events$.pipe(filter((event) => COUNTED.has(event.type))), interval(heartbeatInterval)).pipe(
      throttleTime(50, undefined, { leading: true, trailing: true }),
      exhaustMap(() => from(store.counts()).pipe(catchError(() => EMPTY))),
      distinctUntilChanged(
        (a, b) =>
          a.handshaking === b.handshaking &&
          a.connected === b.connected &&
          a.disconnected === b.disconnected &&
          a.nodes === b.nodes,
      ),
      takeUntil(closed),
    ),
  );

  let closing: Promise<void> | null = null;
  function close(): Promise<void> {
    closing ??= (async () => {
      state.closing = true;
      membership.stop();
      // running hooks settle here, so the deletions this node runs complete before it leaves
      await until(
        () => inside.pendingHooks() === 0 && deletions.running() === 0,
        inside.options.hookTimeout + 2 * commandTimeout,
      );
      const released = await membership.leave(3 * commandTimeout);
      if (released !== null) clusterEvents.next({ type: 'left', at: inside.options.now(), released });
      for (const record of [...local.records()]) ownership.lose(record, 'left');
      await core.close();
      closed.next();
      clusterEvents.complete();
      await unsubscribe();
      await store.close();
    })();
    return closing;
  }

  const supervisor: ClusterSupervisor<TData> = {
    nodeId: store.nodeId,
    get incarnation() {
      return store.incarnation ?? 0;
    },
    register,
    get,
    list: async (listOptions: ClusterListOptions = {}) => {
      const page = await store.listViews(listOptions);
      return { clients: page.clients.map((view) => toClusterView(view.client, view.outbox)), cursor: page.cursor };
    },
    delete: deleteClient,
    prune: () => membership.sweep(),
    connected,
    events$: core.events$,
    cluster$: clusterEvents.asObservable(),
    counts$,
    counts: () => store.counts(),
    localCounts: () => core.counts(),
    nodes: () => store.nodes(),
    stats: () => core.stats(),
    to: (clientId) => delivery!.to(clientId),
    actor: core.actor,
    actorOf: (clientId) => core.actorOf(clientId),
    attach: (target, attachOptions) => core.attach(target, attachOptions),
    close,
  };
  bindClusterInternals(supervisor, { core, store, local, delivery: delivery! });
  registerClusterInspectable(supervisor, core);
  return supervisor;
}

/** What the inspector, the metrics and the tests reach beyond the public API of a cluster node. */
export interface ClusterInternals<TData = unknown> {
  /** The node's core supervisor: the clients it holds (its internals through `internalsOf`). */
  core: ReturnType<typeof createSupervisorOn<TData>>;
  store: RedisClusterStore<TData>;
  local: ClusterLocalStore<TData>;
  delivery: ClusterDelivery<TData>;
}

const clusterInternals = new WeakMap<object, ClusterInternals<never>>();

function bindClusterInternals<TData>(supervisor: ClusterSupervisor<TData>, inside: ClusterInternals<TData>): void {
  clusterInternals.set(supervisor, inside as unknown as ClusterInternals<never>);
}

/** The internals of a node made by `createClusterSupervisor()` (module-internal, not in the published types). */
export function clusterInternalsOf<TData>(supervisor: ClusterSupervisor<TData>): ClusterInternals<TData> {
  const inside = clusterInternals.get(supervisor);
  if (!inside) throw new TypeError('socket.io-supervisor/cluster: not a node made by createClusterSupervisor()');
  return inside as unknown as ClusterInternals<TData>;
}
