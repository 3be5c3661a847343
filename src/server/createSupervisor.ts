import { filter, firstValueFrom, map, type Observable, timeout as rxTimeout, Subject, take, throwError } from 'rxjs';
import { createActor } from 'xstate';
import { createCountStream, createEventStream } from '../actors/eventStreams.js';
import { createHookRunner, type HookTiming } from '../actors/hookRunner.js';
import { countEvent, createLifecycleRelay } from '../actors/lifecycleRelay.js';
import { SupervisorError } from '../errors.js';
import { newClientId, newToken, tokensEqual } from '../ids.js';
import {
  liveRecord,
  type SocketBridge,
  type SupervisorActor,
  type SupervisorEvent,
  type SupervisorRuntime,
  supervisorMachine,
  toView,
} from '../machines/supervisor.machine.js';
import { type ResolvedOptions, resolveOptions, type SupervisorOptions } from '../options.js';
import { MemoryStore } from '../store/memoryStore.js';
import type { ClientCounts, ClientView, DeleteReason, LifecycleEvent, RejectCode, SupervisorStats } from '../types.js';
import { type AttachTarget, attach } from './attach.js';
import { tabIdProblem } from './validate.js';

/** What `register()` returns: the public id and the private token the browser resumes with. */
export interface Registration {
  clientId: string;
  /** Give it only to the browser that owns the client (in the page or `supervisor:client`). */
  token: string;
}

export interface RegisterOptions<TData> {
  tabId?: string;
  data?: TData;
}

/** The result of checking a handshake's credentials. */
export type Authentication = { ok: true } | { ok: false; code: RejectCode; message: string };

/** Internal surface the socket.io adapter builds on; not part of the public API. */
export interface SupervisorInternals<TData> {
  options: ResolvedOptions<TData, unknown>;
  store: MemoryStore<TData>;
  bridge: SocketBridge;
  send(event: SupervisorEvent): void;
  authenticate(clientId: string, token: string): Authentication;
  isClosing(): boolean;
  onClose(cleanup: () => void): void;
  register(options?: RegisterOptions<TData>): Registration;
  get(clientId: string): ClientView<TData> | undefined;
  /** How many subscriptions `events$` has right now (leak checks). */
  eventSubscribers(): number;
  /** How many clients have hooks queued or running (leak checks). */
  pendingHooks(): number;
  /** Listens to hook durations (metrics); returns the unsubscribe function. */
  onHookSettled(listener: (timing: HookTiming) => void): () => void;
}

export interface Supervisor<TData = unknown> {
  /** Creates a client in `handshaking` (for a page the server renders) and returns its credentials. */
  register(options?: RegisterOptions<TData>): Registration;
  /** The client's current view, or `undefined` if it is unknown or deleted. */
  get(clientId: string): ClientView<TData> | undefined;
  /** Every live client's view. */
  list(): ClientView<TData>[];
  /** Deletes a client (`onDelete` runs with `reason`); `false` if it was not alive. Idempotent. */
  delete(clientId: string, reason?: DeleteReason): boolean;
  /** Runs a prune sweep now; returns how many clients it deleted. */
  prune(): number;
  /** Resolves with the client's view once it is connected (at once if it already is). */
  connected(clientId: string, options?: { timeout?: number }): Promise<ClientView<TData>>;
  /** Every lifecycle event; completes after `close()`. */
  readonly events$: Observable<LifecycleEvent>;
  /** Client counts by state, on subscribe and on every change. */
  readonly counts$: Observable<ClientCounts>;
  /** Counters of ignored events by `why`, deletes by reason, rejections by code, hook errors. */
  stats(): SupervisorStats;
  /** The supervisor's XState actor, for inspection and `system.get(clientId)`. */
  readonly actor: SupervisorActor;
  /**
   * Attaches the supervisor to a socket.io `Server` or `Namespace` (several may be attached);
   * returns `detach()`.
   */
  attach(target: AttachTarget): () => void;
  /** Deletes every client with reason `shutdown`, awaits their hooks, stops every timer. */
  close(): Promise<void>;
  /** @internal for the socket.io adapter */
  readonly internals: SupervisorInternals<TData>;
}

/** Creates a supervisor; see DESIGN.md for the lifecycle it enforces. */
export function createSupervisor<TData = unknown>(options?: SupervisorOptions<TData>): Supervisor<TData> {
  const resolved = resolveOptions(options) as ResolvedOptions<TData, unknown>;
  const { hooks, now } = resolved;
  const store = new MemoryStore<TData>(resolved.tombstoneTtl, resolved.maxTombstones);
  const cleanups = new Set<() => void>();
  let closing: Promise<void> | null = null;

  const bridge: SocketBridge = {
    resolve: () => undefined,
    disconnect: () => {},
  };

  const wantsView = new Set<LifecycleEvent['type']>();
  if (hooks.onConnect) wantsView.add('connected').add('reconnected');
  if (hooks.onDisconnect) wantsView.add('disconnected');
  if (hooks.onDelete) wantsView.add('deleted');

  const hookListeners = new Set<(timing: HookTiming) => void>();
  const hookRunner = createHookRunner({
    hookTimeout: resolved.hookTimeout,
    onSettled: (timing) => {
      for (const listener of hookListeners) listener(timing);
    },
    report: (failure) => {
      resolved.logger.warn(
        { clientId: failure.clientId, hook: failure.hook, timedOut: failure.timedOut },
        'hook failed',
      );
      send({ type: 'hook.error', ...failure });
    },
  });

  function runHooks(event: LifecycleEvent, client: ClientView<TData>): void {
    switch (event.type) {
      case 'connected':
      case 'reconnected': {
        const { onConnect } = hooks;
        if (onConnect) {
          const socket = bridge.resolve(event.socketId);
          const reconnect = event.type === 'reconnected';
          hookRunner.run(event.clientId, 'onConnect', () => onConnect(client, { socket, reconnect }));
        }
        break;
      }
      case 'disconnected': {
        const { onDisconnect } = hooks;
        if (onDisconnect) hookRunner.run(event.clientId, 'onDisconnect', () => onDisconnect(client, event.reason));
        break;
      }
      case 'deleted': {
        const { onDelete } = hooks;
        if (onDelete) hookRunner.run(event.clientId, 'onDelete', () => onDelete(client, event.reason));
        break;
      }
    }
  }

  // every lifecycle event, from the supervisor actor and from the clients (via the relay)
  const lifecycle = new Subject<LifecycleEvent>();

  let armedAt: number | null = null;
  function armTimer(fired = false): void {
    const next = store.nextDeadline() ?? null;
    if (!fired && next === armedAt) return;
    armedAt = next;
    // the timer actor lives only while the supervisor is `running`
    actor.getSnapshot().children.deadlineTimer?.send({
      type: 'timer.arm',
      delay: next === null ? null : Math.max(0, next - now()),
    });
  }

  const runtime: SupervisorRuntime<TData> = {
    store,
    now,
    handshakeTimeout: resolved.handshakeTimeout,
    reconnectTimeout: resolved.reconnectTimeout,
    pruneInterval: resolved.pruneInterval,
    maxClients: resolved.maxClients,
    onClientEvent: createLifecycleRelay<TData>({
      store,
      armTimer,
      disconnectSocket: (socketId, why) => bridge.disconnect(socketId, why),
      runHooks,
      wantsView,
      publish: (event) => lifecycle.next(event),
      toView,
    }),
    armTimer,
  };

  const actor = createActor(supervisorMachine, {
    input: runtime as SupervisorRuntime,
    ...(resolved.inspect ? { inspect: resolved.inspect } : {}),
  });
  actor.on('*', (event) => lifecycle.next(event));
  actor.subscribe({ complete: () => lifecycle.complete() });
  actor.start();

  /** Sends to the supervisor unless it has closed: nothing is ever sent to a stopped actor. */
  function send(event: SupervisorEvent): void {
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
      message: `an events$ subscriber threw on a ${event.type} event: ${error instanceof Error ? error.message : String(error)}`,
      timedOut: false,
      error,
    };
    countEvent(store as MemoryStore<unknown>, report);
    // a promise job rather than queueMicrotask, which fake-timer libraries replace
    void Promise.resolve().then(() => {
      if (!lifecycle.closed && !lifecycle.isStopped) lifecycle.next(report);
    });
  });
  const counts$ = createCountStream(events$, () => store.counts());

  function liveView(clientId: string): ClientView<TData> | undefined {
    const record = liveRecord(runtime, clientId);
    return record ? toView(record) : undefined;
  }

  function register(registerOptions: RegisterOptions<TData> = {}): Registration {
    if (closing) throw new SupervisorError('CLOSED', 'register(): the supervisor is closed');
    const tabId = registerOptions.tabId;
    const problem = tabId === undefined ? null : tabIdProblem(tabId, 'register(): tabId');
    if (problem) throw new SupervisorError('INVALID_ARGUMENT', problem);
    if (store.size >= resolved.maxClients) {
      const message = `register(): maxClients (${resolved.maxClients}) reached; delete clients or raise maxClients`;
      send({ type: 'handshake.rejected', clientId: null, code: 'CLIENT_LIMIT', message });
      throw new SupervisorError('CLIENT_LIMIT', message);
    }
    const clientId = newClientId();
    const token = newToken();
    const record = { clientId, token, data: registerOptions.data as TData, actor: null, state: 'handshaking' as const };
    store.add(record);
    send({ type: 'client.register', clientId, tabId: tabId ?? null });
    if (!store.records.get(clientId)?.actor) {
      // the machine refused it (its guard is the authority): undo the reservation
      store.remove(clientId, now());
      store.clearTombstone(clientId);
      throw new SupervisorError('CLIENT_LIMIT', `register(): the supervisor refused client ${clientId}`);
    }
    return { clientId, token };
  }

  function deleteClient(clientId: string, reason: DeleteReason = 'manual'): boolean {
    if (typeof reason !== 'string') {
      throw new SupervisorError('INVALID_ARGUMENT', `delete(): reason must be a string, not ${typeof reason}`);
    }
    const live = liveView(clientId) !== undefined;
    // sent even when the client is gone: the supervisor reports it as ignored (already-deleted
    // or unknown-client), so a repeated delete is visible rather than silently dropped
    send({ type: 'client.delete', clientId, reason });
    return live;
  }

  function prune(): number {
    const before = store.stats.deleted.pruned ?? 0;
    send({ type: 'client.prune' });
    return (store.stats.deleted.pruned ?? 0) - before;
  }

  async function connected(clientId: string, waitOptions: { timeout?: number } = {}): Promise<ClientView<TData>> {
    const current = liveView(clientId);
    if (current?.state === 'connected') return current;
    if (!current) {
      if (store.isTombstoned(clientId, now())) {
        throw new SupervisorError('CLIENT_DELETED', `connected(): client ${clientId} was deleted`);
      }
      throw new SupervisorError('UNKNOWN_CLIENT', `connected(): no client ${clientId}`);
    }
    const deletedError = () =>
      new SupervisorError('CLIENT_DELETED', `connected(): client ${clientId} was deleted before it connected`);
    const settled$ = events$.pipe(
      filter(
        (event) =>
          event.clientId === clientId &&
          (event.type === 'connected' || event.type === 'reconnected' || event.type === 'deleted'),
      ),
      take(1),
      map((event) => {
        const view = event.type === 'deleted' ? undefined : liveView(clientId);
        if (!view) throw deletedError();
        return view;
      }),
    );
    const limit = waitOptions.timeout;
    const bounded$ =
      limit === undefined
        ? settled$
        : settled$.pipe(
            rxTimeout({
              first: limit,
              with: () =>
                throwError(
                  () =>
                    new SupervisorError(
                      'TIMEOUT',
                      `connected(): client ${clientId} did not connect within ${limit} ms`,
                    ),
                ),
            }),
          );
    try {
      return await firstValueFrom(bounded$);
    } catch (error) {
      // events$ completing first means the supervisor closed, which deletes every client
      if (error instanceof SupervisorError) throw error;
      throw deletedError();
    }
  }

  function authenticate(clientId: string, token: string): Authentication {
    const record = liveRecord(runtime, clientId);
    if (!record) {
      return store.records.has(clientId) || store.isTombstoned(clientId, now())
        ? {
            ok: false,
            code: 'CLIENT_DELETED',
            message: `client ${clientId} was deleted; reload the page to get a new one`,
          }
        : { ok: false, code: 'UNKNOWN_CLIENT', message: `no client ${clientId} on this server; register a new one` };
    }
    if (record.token === null || !tokensEqual(record.token, token)) {
      return {
        ok: false,
        code: 'BAD_TOKEN',
        message: `the token presented for client ${clientId} is not the one it was issued`,
      };
    }
    return { ok: true };
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      send({ type: 'supervisor.close' });
      await hookRunner.drain();
      // adapters stay attached until here so that sockets arriving meanwhile are told
      // SHUTTING_DOWN instead of connecting unsupervised
      for (const cleanup of [...cleanups]) cleanup();
      cleanups.clear();
      send({ type: 'supervisor.closed' });
      store.clearTombstones();
    })();
    return closing;
  }

  const internals: SupervisorInternals<TData> = {
    options: resolved as ResolvedOptions<TData, unknown>,
    store,
    bridge,
    send,
    authenticate,
    isClosing: () => closing !== null,
    onClose: (cleanup) => cleanups.add(cleanup),
    register,
    get: liveView,
    eventSubscribers: () => lifecycle.observers.length,
    pendingHooks: () => hookRunner.pending(),
    onHookSettled: (listener) => {
      hookListeners.add(listener);
      return () => hookListeners.delete(listener);
    },
  };

  return {
    register,
    get: liveView,
    list: () => {
      const views: ClientView<TData>[] = [];
      for (const clientId of store.records.keys()) {
        const view = liveView(clientId);
        if (view) views.push(view);
      }
      return views;
    },
    delete: deleteClient,
    prune,
    connected,
    events$,
    counts$,
    stats: () => structuredClone(store.stats),
    actor,
    attach: (target) => attach(target, internals),
    close,
    internals,
  };
}
