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
import { SupervisorError } from '../core/errors.js';
import { hashToken, isId, randomId } from '../core/ids.js';
import type { SupervisorInternals } from '../core/internals.js';
import type { RegisterOptions, Registration } from '../core/supervisor.js';
import type { SupervisorEvent } from '../core/types.js';
import { eventProblem } from '../core/validate.js';
import type { Supervisor } from '../createSupervisor.js';
import type { ClusterEvent } from './clusterEvents.js';
import type { ClusterChannel, ClusterSupervisor } from './clusterSupervisor.js';
import { createConnectedAnywhere } from './connectedAnywhere.js';
import type { Deletions } from './deletions.js';
import { createHealth } from './health.js';
import type { NodeActor } from './nodeMachine.js';
import { recordFrom } from './localStore.js';
import type { Mirror } from './mirror.js';
import type { NodeContext } from './nodeState.js';
import { toClusterView } from './redis/parse.js';
import type { ClusterClientView, ClusterCounts, ClusterListFilter, ClusterListOptions } from './redis/records.js';
import { retry } from './redis/retry.js';

const COUNTED = new Set(['registered', 'connected', 'reconnected', 'disconnected', 'deleted']);

/** The page size `list()` reads Redis by. */
const LIST_PAGE = 500;

function unavailable(what: string): SupervisorError {
  return new SupervisorError('UNAVAILABLE', `${what}: the cluster store (Redis) is unreachable; retry in a moment`);
}

/**
 * `register()` on a node: the client is created in Redis owned by this node (one round-trip), and
 * held here in `handshaking` until its socket connects, here or on another node.
 */
export function createRegister<TData>(
  node: NodeContext<TData>,
  core: SupervisorInternals<TData>,
  checkFenced: () => void,
): (options?: RegisterOptions<TData>) => Promise<Registration> {
  const { store, local, state } = node;
  return async function register(registerOptions = {}) {
    if (state.closing) throw new SupervisorError('CLOSED', 'register(): the supervisor is closed');
    if (!state.ready) throw unavailable('register()');
    const result = await store.register({ tabId: registerOptions.tabId ?? null, data: registerOptions.data });
    if (result.outcome === 'node-fenced') {
      checkFenced();
      throw unavailable('register()');
    }
    if (result.outcome === 'id-taken') throw new Error('socket.io-supervisor/cluster: a random client id was taken');
    const { clientId, token } = result;
    // leaving meanwhile: leave() releases it in Redis, and its page connects to another node
    if (state.closing) return { clientId, token };
    const record = recordFrom(result.client, token, hashToken(token));
    record.cluster.expected.push({ state: 'handshaking', socketId: null });
    local.add(record);
    core.host.spawn(record);
    return { clientId, token };
  };
}

/** What the API of a node is made of: the parts `createClusterSupervisor()` made before it. */
export interface NodeApiParts<TData> {
  /** The node's core supervisor (the public object, with `attach()`), and its internals. */
  core: Supervisor<TData>;
  inside: SupervisorInternals<TData>;
  mirror: Mirror<TData>;
  deletions: Deletions<TData>;
  membership: {
    sweep(): Promise<number>;
    stop(): void;
    /** `close()` ended: the node machine reaches `closed`. */
    closed(): void;
    leave(within: number): Promise<number | null>;
    checkFenced(): void;
    /** The node's machine (once started). */
    readonly actor: NodeActor | null;
  };
  register(options?: RegisterOptions<TData>): Promise<Registration>;
  to(clientId: string): ClusterChannel;
  /** `cluster$`'s subject: completed when the node has closed. */
  clusterEvents: Subject<ClusterEvent>;
  /** Stops listening for notices. */
  unsubscribe(): Promise<void>;
}

/**
 * The public API of a node (`ClusterSupervisor`): the single node's names, answered from Redis
 * where the whole cluster is concerned and by the node's core for what it holds.
 */
export function createNodeApi<TData>(node: NodeContext<TData>, parts: NodeApiParts<TData>): ClusterSupervisor<TData> {
  const { store, state } = node;
  const { core, inside, membership } = parts;
  const closeListeners = new Set<() => void>();
  let closing: Promise<void> | null = null;

  async function get(clientId: string): Promise<ClusterClientView<TData> | undefined> {
    if (!isId(clientId)) return undefined;
    const view = await store.view(clientId);
    return view === undefined ? undefined : toClusterView(view.client, view.outbox);
  }

  async function listPage(listOptions: ClusterListOptions = {}) {
    const page = await store.listViews(listOptions);
    return { clients: page.clients.map((view) => toClusterView(view.client, view.outbox)), cursor: page.cursor };
  }

  async function list(listFilter: ClusterListFilter = {}): Promise<Array<ClusterClientView<TData>>> {
    const { limit = Number.POSITIVE_INFINITY, ...which } = listFilter;
    if (limit !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(limit) || limit < 1)) {
      throw new SupervisorError('INVALID_ARGUMENT', 'list(): `limit` must be a positive integer');
    }
    const clients: Array<ClusterClientView<TData>> = [];
    let cursor: string | undefined;
    do {
      const page = await listPage({ ...which, limit: LIST_PAGE, ...(cursor === undefined ? {} : { cursor }) });
      clients.push(...page.clients);
      cursor = page.cursor ?? undefined;
    } while (cursor !== undefined && clients.length < limit);
    return clients.length > limit ? clients.slice(0, limit) : clients;
  }

  async function deleteClient(clientId: string, reason = 'manual'): Promise<boolean> {
    if (typeof reason !== 'string') {
      throw new SupervisorError('INVALID_ARGUMENT', `delete(): reason must be a string, not ${typeof reason}`);
    }
    if (!isId(clientId)) return false;
    if (!state.ready) throw unavailable('delete()');
    // one deletion id for every attempt: a retry of an attempt that ran answers `replay`
    const deletionId = randomId();
    const since = state.lossEpoch;
    const result = await retry(() => store.delete({ clientId, reason, deletionId }), {
      attempts: 3,
      first: 200,
      max: 400,
      // a delete that got no answer may have run: its deletion is asked for once Redis answers
      onUnavailable: () => {
        state.needPending = true;
      },
    });
    if (result.outcome === 'node-fenced') {
      membership.checkFenced();
      throw unavailable('delete()');
    }
    if (result.outcome === 'deleted' || result.outcome === 'replay') {
      if (result.deletion) parts.deletions.runDeletion(result.deletion, since);
      return true;
    }
    return false;
  }

  async function send(event: SupervisorEvent): Promise<void> {
    const problem = eventProblem(event);
    if (problem) throw new SupervisorError('INVALID_ARGUMENT', `send(): ${problem}`);
    if (event.type === 'client.delete') {
      await deleteClient(event.clientId, event.reason);
      return;
    }
    if (event.type === 'client.prune') {
      await membership.sweep();
      return;
    }
    // about a socket of this node: the actor of a client held here, else answered as an unknown id
    core.send(event);
  }

  const connected = createConnectedAnywhere({
    store,
    events$: core.events$,
    get,
    closing: () => state.closing,
    onClose: (listener) => {
      closeListeners.add(listener);
      return () => closeListeners.delete(listener);
    },
  });

  const closed$ = new Subject<void>();
  const counts$: Observable<ClusterCounts> = defer(() =>
    merge(
      of(0),
      core.events$.pipe(filter((event) => COUNTED.has(event.type))),
      interval(store.options.heartbeatInterval),
    ).pipe(
      throttleTime(50, undefined, { leading: true, trailing: true }),
      exhaustMap(() => from(store.counts()).pipe(catchError(() => EMPTY))),
      distinctUntilChanged(
        (a, b) =>
          a.handshaking === b.handshaking &&
          a.connected === b.connected &&
          a.disconnected === b.disconnected &&
          a.nodes === b.nodes,
      ),
      takeUntil(closed$),
    ),
  );

  /** Resolves once running hooks and the deletions this node runs have settled, or `within` ms passed. */
  async function settled(within: number): Promise<void> {
    const deadline = Date.now() + within;
    while ((inside.pendingHooks() > 0 || parts.deletions.running() > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20).unref());
    }
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      // the whole close within closeTimeout: what the core gets is what the steps before left
      const deadline = Date.now() + inside.options.closeTimeout;
      const left = () => Math.max(1, deadline - Date.now());
      state.closing = true;
      for (const listener of [...closeListeners]) listener();
      membership.stop();
      const { commandTimeout } = store.options;
      // running hooks settle here, so the deletions this node runs complete before it leaves
      await settled(Math.min(inside.options.hookTimeout + 2 * commandTimeout, left() - 3 * commandTimeout));
      const released = await membership.leave(Math.min(3 * commandTimeout, left()));
      if (released !== null) parts.clusterEvents.next({ type: 'left', at: node.now(), released });
      parts.mirror.loseAll('left');
      await inside.closeWithin(left());
      closed$.next();
      parts.clusterEvents.complete();
      await parts.unsubscribe();
      await store.close();
      membership.closed();
    })();
    return closing;
  }

  const health = createHealth(
    node,
    core,
    () => store.incarnation ?? 0,
    () => membership.actor,
  );

  return {
    nodeId: store.nodeId,
    get incarnation() {
      return store.incarnation ?? 0;
    },
    health,
    register: parts.register,
    get,
    list,
    listPage,
    delete: deleteClient,
    prune: () => membership.sweep(),
    connected,
    send,
    events$: core.events$,
    cluster$: parts.clusterEvents.asObservable(),
    counts$,
    counts: () => store.counts(),
    localCounts: () => core.counts(),
    nodes: () => store.nodes(),
    stats: () => core.stats(),
    to: parts.to,
    actor: core.actor,
    actorOf: (clientId) => core.actorOf(clientId),
    attach: (target, attachOptions) => core.attach(target, attachOptions),
    close,
  };
}
