import { Subject } from 'rxjs';
import { createActor } from 'xstate';
import {
  type SupervisorMachineEvent,
  type SupervisorPorts,
  supervisorMachine,
} from '../machines/supervisor.machine.js';
import type { ClientRecord, ClientStore } from '../store/clientStore.js';
import { MemoryStore } from '../store/memoryStore.js';
import { authenticate } from './authenticate.js';
import { createClientHost } from './clientHost.js';
import type { Clock } from './clock.js';
import { waitForConnected } from './connected.js';
import {
  type ClientChannel,
  createDelivery,
  type DeliveryDeps,
  type DeliveryPort,
  type OutboxLimits,
} from './delivery.js';
import { describeThrown } from './describe.js';
import { SupervisorError } from './errors.js';
import { createCountStream, createEventStream } from './eventStreams.js';
import { createHookDispatch } from './hookDispatch.js';
import { healthOf } from './health.js';
import {
  type AbandonedHook,
  createHookRunner,
  type HookFailure,
  HookTimeoutError,
  type HookTiming,
} from './hookRunner.js';
import { randomId } from './ids.js';
import { registerInspectable } from './inspectable.js';
import { bindInternals, type SupervisorInternals, type SupervisorSeams } from './internals.js';
import { createLifecycleRelay } from './lifecycleRelay.js';
import { createSaturationProbe } from './loopLoad.js';
import { type ResolvedOptions, resolveOptions, type SupervisorOptions } from './options.js';
import type { SocketBridge } from './socketBridge.js';
import { createStats } from './stats.js';
import type { RegisterOptions, Registration, SupervisorCore } from './supervisor.js';
import { createTimerControl } from './timerControl.js';
import type { ClientView, DeleteReason, LifecycleEvent, SupervisorEvent } from './types.js';
import { eventProblem, tabIdProblem } from './validate.js';
import { viewOf } from './view.js';

/**
 * The supervisor without its socket.io adapter, on the given timers: every client's actor, the
 * store, deadlines, hooks, delivery and the public API but `attach()`. `src/createSupervisor.ts`
 * composes it with the adapter; the adapter, the inspector and the metrics reach it through
 * `internalsOf()`. The testing kit passes a fake clock (with a matching `now` option), so
 * deadlines, passivation, prune ticks and hook timeouts all follow it. Cluster mode passes
 * `seams`: its own store and an asynchronous admission.
 */
export function createSupervisorCore<TData = unknown>(
  options: SupervisorOptions<TData> | undefined,
  clock: Clock,
  seams: SupervisorSeams<TData> = {},
): SupervisorCore<TData> {
  const resolved = resolveOptions(options) as ResolvedOptions<TData, unknown>;
  const { hooks, now } = resolved;
  const store = seams.store ?? new MemoryStore<TData>(resolved.tombstoneTtl, resolved.maxTombstones);
  const stats = createStats();
  const cleanups = new Set<() => void>();
  const bridge: SocketBridge = {
    resolve: () => undefined,
    disconnect: () => {},
    send: () => {},
    resume: () => {},
    askAck: () => {},
  };
  // with an inspector watching, every client keeps its actor, so inspection sees every one
  const passivateAfter = resolved.inspect ? false : resolved.passivateAfter;
  let closing: Promise<void> | null = null;

  // every lifecycle event, from the supervisor actor and from the clients (via the relay)
  const lifecycle = new Subject<LifecycleEvent>();
  function publish(event: LifecycleEvent): void {
    stats.count(event);
    lifecycle.next(event);
  }

  const hookListeners = new Set<(timing: HookTiming) => void>();
  const hookRunner = createHookRunner({
    hookTimeout: resolved.hookTimeout,
    clock,
    onSettled: (timing) => {
      for (const listener of hookListeners) listener(timing);
    },
    report: reportHook,
  });

  function reportHook(failure: HookFailure): void {
    const { clientId, hook, timedOut, error } = failure;
    resolved.logger.error({ err: error, clientId, hook, timedOut }, `socket.io-supervisor: hook ${hook} failed`);
    send({ type: 'hook.error', ...failure });
  }

  /** Waits for the hooks to settle, at most `within` ms; returns those it stopped waiting for. */
  async function drainWithin(within: number): Promise<AbandonedHook[]> {
    let timer: unknown;
    const expired = new Promise<'expired'>((resolve) => {
      timer = clock.setTimeout(() => resolve('expired'), within);
    });
    const outcome = await Promise.race([hookRunner.drain().then(() => 'drained' as const), expired]);
    clock.clearTimeout(timer);
    return outcome === 'drained' ? [] : hookRunner.abandon();
  }

  const { wantsView, runHooks, ownership } = createHookDispatch(
    hooks,
    hookRunner,
    (socketId) => bridge.resolve(socketId),
    seams.ownershipContext,
  );

  const { armTimer, onIdle } = createTimerControl({
    store: store as ClientStore<unknown>,
    now,
    passivateAfter,
    nextPassivation: () => host.nextPassivation(),
    // the timer actor lives only while the supervisor is `running`
    timer: () => actor.getSnapshot().children.hostTimer,
    passivate: () => send({ type: 'clients.passivate' }),
  });

  const deliveryDeps: DeliveryDeps<TData> = {
    store,
    now,
    bridge,
    limits: resolved.outbox as OutboxLimits,
    publish,
    deleteClient: (clientId, reason) => host.dispatch({ type: 'client.delete', clientId, reason }),
  };
  // one or the other, chosen once: a single node's to() is the in-memory delivery's own
  const inMemory = seams.delivery ? null : createDelivery<TData>(deliveryDeps);
  const delivery: DeliveryPort<TData> = inMemory ?? seams.delivery!(deliveryDeps);
  const to: (clientId: string) => ClientChannel =
    inMemory?.to ??
    (() => {
      throw new SupervisorError('INVALID_ARGUMENT', 'to(): this supervisor delivers through its cluster node');
    });
  const toView = (record: ClientRecord<TData>) => viewOf(record, delivery.outboxOf(record.clientId));

  const relay = createLifecycleRelay<TData>({
    store,
    armTimer,
    touch: (record) => host.touch(record),
    disconnectSocket: (socketId, why, reason) => bridge.disconnect(socketId, why, reason),
    runHooks,
    wantsView,
    publish,
    toView,
    flushOutbox: delivery.flush,
    dropOutbox: delivery.drop,
  });

  const host = createClientHost<TData>({
    store,
    now,
    timeouts: { handshakeTimeout: resolved.handshakeTimeout, reconnectTimeout: resolved.reconnectTimeout },
    passivateAfter,
    passivateAbove: resolved.passivateAbove,
    parent: () => actor,
    relay,
    onIdle,
    saturated: createSaturationProbe(),
    ...(seams.hostedActors === undefined ? {} : { hosted: seams.hostedActors }),
    // an inspector may copy snapshots by spreading them (@statelyai/inspect's sanitizeContext)
    plainSnapshots: resolved.inspect !== undefined,
  });

  const ports: SupervisorPorts = {
    now,
    clock: () => clock,
    pruneInterval: () => resolved.pruneInterval,
    status: (clientId) => store.status(clientId, now()),
    activate: (clientId) => host.activate(store.get(clientId)!),
    takeDue: (at, limit) => store.deadlines.take(at, limit),
    dueForPrune: (at, limit) => store.deadlines.due(at, limit),
    pendingDeadlines: () => store.deadlines.size,
    expireTombstones: (at) => void store.expireTombstones(at),
    hasIdle: () => host.hasIdle(),
    passivateIdle: (limit) => host.passivateIdle(limit),
    forget: (clientId) => store.remove(clientId, now()),
    nextToClose: (limit) => host.nextToClose(limit),
    armTimer,
  };

  const actor = createActor(supervisorMachine, {
    input: ports,
    ...(resolved.inspect ? { inspect: resolved.inspect } : {}),
  });
  actor.on('*', publish);
  actor.subscribe({ complete: () => lifecycle.complete() });
  actor.start();

  /** Sends to the supervisor unless it has closed: nothing is ever sent to a stopped actor. */
  function send(event: SupervisorMachineEvent): void {
    if (actor.getSnapshot().status === 'active') actor.send(event);
  }

  // a subscriber of events$ that throws is reported as a hook-error (hook `events$`), delivered
  // after the event it failed on has reached every subscriber; one that throws again on that
  // report is not reported again, so a broken subscriber cannot loop
  const events$ = createEventStream(lifecycle, (error, event) => {
    if (event.type === 'hook-error' && event.hook === 'events$') return;
    const report: LifecycleEvent = {
      type: 'hook-error',
      clientId: event.clientId,
      at: now(),
      hook: 'events$',
      message: `an events$ subscriber threw on a ${event.type} event: ${describeThrown(error)}`,
      timedOut: false,
      error,
    };
    // a promise job rather than queueMicrotask, which fake-timer libraries replace
    void Promise.resolve().then(() => {
      if (!lifecycle.closed && !lifecycle.isStopped) publish(report);
    });
  });
  const counts$ = createCountStream(events$, () => store.counts());

  function get(clientId: string): ClientView<TData> | undefined {
    const record = store.get(clientId);
    return record === undefined || record.state === 'deleted' ? undefined : toView(record);
  }

  function register(registerOptions: RegisterOptions<TData> = {}): Registration {
    if (closing) throw new SupervisorError('CLOSED', 'register(): the supervisor is closed');
    const tabId = registerOptions.tabId;
    const problem = tabId === undefined ? null : tabIdProblem(tabId, 'register(): tabId');
    if (problem) throw new SupervisorError('INVALID_ARGUMENT', problem);
    // the one maxClients check (the adapter's autoRegister comes through here too)
    if (store.counts().total >= resolved.maxClients) {
      const message = `register(): maxClients (${resolved.maxClients}) reached; delete clients or raise maxClients`;
      send({ type: 'handshake.rejected', clientId: null, code: 'CLIENT_LIMIT', message });
      throw new SupervisorError('CLIENT_LIMIT', message);
    }
    const createdAt = now();
    const record: ClientRecord<TData> = {
      clientId: randomId(),
      state: 'handshaking',
      token: randomId(),
      data: registerOptions.data as TData,
      address: null,
      actor: null,
      socketId: null,
      tabId: tabId ?? null,
      createdAt,
      connectedAt: null,
      disconnectedAt: null,
      expiresAt: createdAt + resolved.handshakeTimeout,
      generation: 0,
      deadlineSlot: -1,
      idle: null,
    };
    store.add(record);
    // the supervisor's child from here: a direct call, so a register() from a hook or an events$
    // subscriber (while an actor is mid-step) is complete when it returns
    host.spawn(record);
    return { clientId: record.clientId, token: record.token };
  }

  function deleteClient(clientId: string, reason: DeleteReason = 'manual'): boolean {
    if (typeof reason !== 'string') {
      throw new SupervisorError('INVALID_ARGUMENT', `delete(): reason must be a string, not ${typeof reason}`);
    }
    // one look-up: a record held and not deleted is live (the store's status() says the same)
    if (host.deliver(store.get(clientId), { type: 'client.delete', reason, at: now() })) return true;
    // sent even when the client is gone: the supervisor reports it as ignored (already-deleted
    // or unknown-client), so a repeated delete is visible rather than silently dropped
    host.dispatch({ type: 'client.delete', clientId, reason });
    return false;
  }

  /** A sweep straight to the due clients (not a supervisor step, so its count is known on return). */
  function prune(): number {
    const before = stats.deletedFor('pruned');
    const at = now();
    for (const clientId of store.deadlines.due(at)) host.dispatch({ type: 'client.prune', clientId, now: at });
    store.expireTombstones(at);
    return stats.deletedFor('pruned') - before;
  }

  function dispatch(event: SupervisorEvent): void {
    const problem = eventProblem(event);
    if (problem) throw new SupervisorError('INVALID_ARGUMENT', `send(): ${problem}`);
    if (event.type === 'client.prune' && event.clientId === undefined) {
      send(event);
      return;
    }
    host.dispatch(event);
  }

  function close(within: number = resolved.closeTimeout): Promise<void> {
    closing ??= (async () => {
      // this node lets every client go before they are deleted (cluster mode: handed off)
      ownership.releaseAll('leaving', get);
      const deletedBefore = stats.deletedFor('shutdown');
      send({ type: 'supervisor.close' });
      // bounded (closeTimeout): a hook that never settles must not hold a SIGTERM'd process
      const abandoned = await drainWithin(within);
      for (const { clientId, hook, started } of abandoned) {
        const what = started ? 'still running' : 'still queued';
        const error = new HookTimeoutError(
          `${hook} of client ${clientId} was abandoned: ${what} when close() reached closeTimeout (${within} ms)`,
        );
        reportHook({ clientId, hook, error, timedOut: true });
      }
      // adapters stay attached until here so that sockets arriving meanwhile are told
      // SHUTTING_DOWN instead of connecting unsupervised
      for (const cleanup of [...cleanups]) cleanup();
      cleanups.clear();
      send({ type: 'supervisor.closed' });
      store.clearTombstones();
      const deleted = stats.deletedFor('shutdown') - deletedBefore;
      resolved.logger.info({ deleted, abandonedHooks: abandoned.length }, 'socket.io-supervisor: closed');
    })();
    return closing;
  }

  const supervisor: SupervisorCore<TData> = {
    register,
    get,
    list: () => {
      const views: ClientView<TData>[] = [];
      for (const record of store.records()) if (record.state !== 'deleted') views.push(toView(record));
      return views;
    },
    delete: deleteClient,
    prune,
    connected: (clientId, waitOptions) =>
      waitForConnected({ events$, status: (id) => store.status(id, now()), view: get }, clientId, waitOptions),
    send: dispatch,
    events$,
    counts$,
    counts: () => store.counts(),
    stats: () => ({ ...stats.snapshot(), delivery: delivery.stats() }),
    to,
    actor,
    actorOf: (clientId) => {
      const record = store.get(clientId);
      if (record === undefined || record.state === 'deleted') return undefined;
      const clientActor = host.activate(record);
      host.touch(record);
      return clientActor;
    },
    health: () =>
      healthOf({
        status: actor.getSnapshot().status,
        closing: closing !== null,
        clients: store.counts(),
        pendingHooks: hookRunner.pending(),
      }),
    close: () => close(),
  };

  const internals: SupervisorInternals<TData> = {
    options: resolved,
    store,
    host,
    bridge,
    dispatch: host.dispatch,
    send,
    authenticate: (clientId, token) => authenticate(store, now, clientId, token),
    ...(seams.admitRemote ? { admitRemote: seams.admitRemote } : {}),
    ...(seams.serving ? { serving: seams.serving } : {}),
    isClosing: () => closing !== null,
    closeWithin: close,
    onClose: (cleanup) => {
      cleanups.add(cleanup);
      return () => cleanups.delete(cleanup);
    },
    register,
    get,
    acknowledge: delivery.acknowledge,
    closeHooks: () => cleanups.size,
    eventSubscribers: () => lifecycle.observers.length,
    pendingHooks: () => hookRunner.pending(),
    ownership,
    runHooks,
    onHookSettled: (listener) => {
      hookListeners.add(listener);
      return () => hookListeners.delete(listener);
    },
  };
  bindInternals(supervisor, internals);
  registerInspectable(supervisor, {
    cluster: false,
    nodeId: null,
    now,
    settings: {
      reconnectTimeout: resolved.reconnectTimeout,
      handshakeTimeout: resolved.handshakeTimeout,
      tombstoneTtl: resolved.tombstoneTtl,
    },
    logger: resolved.logger,
    events$,
    list: supervisor.list,
    get,
    counts: () => store.counts(),
    localCounts: () => store.counts(),
    nodes: () => [],
    stats: supervisor.stats,
    delete: deleteClient,
    prune,
    onHookSettled: internals.onHookSettled,
  });
  return supervisor;
}
