import { type ActorRefFrom, createActor, emit, enqueueActions, sendTo, setup } from 'xstate';
import { deadlineTimer } from '../actors/deadlineTimer.js';
import { countEvent } from '../actors/lifecycleRelay.js';
import { pruneTicker } from '../actors/pruneTicker.js';
import type { ClientActor, ClientRecord, MemoryStore } from '../store/memoryStore.js';
import type {
  ClientState,
  ClientView,
  DeleteReason,
  DisconnectReason,
  HookName,
  IgnoredWhy,
  LifecycleEvent,
  RejectCode,
} from '../types.js';
import { type ClientEvent, type ClientOutput, clientMachine } from './client.machine.js';

/**
 * The parent of every client actor. It routes the DESIGN events that carry a `clientId` to that
 * client's actor, stamping them with `now()`; reports events for unknown or deleted ids as
 * `ignored`; fires due deadlines and runs prune sweeps; and forgets a client (leaving a tombstone)
 * when XState reports that its actor reached `deleted` (`xstate.done.actor.<clientId>`). What the
 * clients emit is booked by the lifecycle relay (src/actors/lifecycleRelay.ts).
 *
 * Client actors are created with this actor as their `parent` (same actor system, so
 * `system.get(clientId)` and inspection see them) but are not entries of this machine's
 * `snapshot.children`: XState copies that object on every spawn and stop, which made a
 * supervisor with 10,000 children spawn only ~314 clients/s. Every operation here is O(1) in
 * the number of clients; a sweep is O(due).
 */

/** The `id` every client actor has under the supervisor; each one's `systemId` is its clientId. */
export const CLIENT_ACTOR_ID = 'client';

/** Where the adapter plugs in: the core never touches a socket itself. */
export interface SocketBridge {
  /** The live socket for `onConnect`'s context, if any. */
  resolve(socketId: string): unknown;
  /** Close a socket from the server side (`replaced`, or its client was deleted). */
  disconnect(socketId: string, why: 'replaced' | 'deleted'): void;
}

export interface SupervisorRuntime<TData = unknown> {
  store: MemoryStore<TData>;
  now: () => number;
  handshakeTimeout: number;
  reconnectTimeout: number;
  pruneInterval: number;
  maxClients: number;
  /** The listener attached to every client actor (the lifecycle relay). */
  onClientEvent(event: LifecycleEvent): void;
  /** Re-arms the host timer for the earliest deadline if it changed (always when `fired`). */
  armTimer(fired?: boolean): void;
}

export interface SupervisorContext<TData = unknown> {
  runtime: SupervisorRuntime<TData>;
}

export type SupervisorEvent =
  | { type: 'client.register'; clientId: string; tabId?: string | null }
  | { type: 'socket.handshake'; clientId: string; socketId: string; tabId?: string | null }
  | { type: 'socket.disconnect'; clientId: string; socketId: string; reason: DisconnectReason }
  | { type: 'client.delete'; clientId: string; reason?: DeleteReason }
  /**
   * With a `clientId`: that client is asked to prune itself (deleted if its deadline passed,
   * else `ignored` `not-due`). Without: a sweep of every due client. At `now` (default: the
   * supervisor's clock).
   */
  | {
      type: 'client.prune';
      clientId?: string;
      now?: number;
      /** Internal: set on a sweep's continuation, the number of deadlines pending when it was sent. */
      pending?: number;
    }
  | { type: 'clock.tick' }
  | { type: 'xstate.done.actor.client'; output: ClientOutput }
  | { type: 'handshake.rejected'; clientId: string | null; code: RejectCode; message: string }
  | { type: 'hook.error'; clientId: string; hook: HookName; error: unknown; timedOut: boolean }
  | { type: 'supervisor.close' }
  | { type: 'supervisor.closed' };

type RoutedEvent = Extract<
  SupervisorEvent,
  { type: 'socket.handshake' | 'socket.disconnect' | 'client.delete' | 'client.prune' }
> & { clientId: string };

function routedId(event: SupervisorEvent): string | undefined {
  return event.type === 'socket.handshake' ||
    event.type === 'socket.disconnect' ||
    event.type === 'client.delete' ||
    event.type === 'client.prune'
    ? event.clientId
    : undefined;
}

/** The client-machine event for a routed supervisor event, stamped with `at`. */
function toClientEvent(event: SupervisorEvent, at: number): ClientEvent {
  switch (event.type) {
    case 'socket.handshake':
      return { type: 'socket.handshake', socketId: event.socketId, tabId: event.tabId ?? null, at };
    case 'socket.disconnect':
      return { type: 'socket.disconnect', socketId: event.socketId, reason: event.reason, at };
    case 'client.delete':
      return { type: 'client.delete', reason: event.reason ?? 'manual', at };
    case 'client.prune':
      return { type: 'client.prune', now: event.now ?? at };
    default:
      throw new Error(`supervisor: ${event.type} is not routed to clients`);
  }
}

/** The record of a client whose actor is still running, if any. */
export function liveRecord<TData>(
  runtime: SupervisorRuntime<TData>,
  clientId: string | undefined,
): ClientRecord<TData> | undefined {
  if (clientId === undefined) return undefined;
  const record = runtime.store.records.get(clientId);
  // a client that reached `deleted` but whose `deleted` event is still queued behind this one
  // counts as deleted: its actor is stopped and must not be sent anything
  return record?.actor?.getSnapshot().status === 'active' ? record : undefined;
}

/** The client's view, read from its actor's snapshot; never contains the token. */
export function toView<TData>(record: ClientRecord<TData>): ClientView<TData> {
  const snapshot = record.actor?.getSnapshot();
  const context = snapshot?.context;
  return {
    clientId: record.clientId,
    state: (snapshot?.value as ClientState | undefined) ?? record.state,
    socketId: context?.socketId ?? null,
    tabId: context?.tabId ?? null,
    createdAt: context?.createdAt ?? 0,
    connectedAt: context?.connectedAt ?? null,
    disconnectedAt: context?.disconnectedAt ?? null,
    expiresAt: context?.expiresAt ?? null,
    data: record.data,
  };
}

function ignoredBySupervisor(event: SupervisorEvent, why: IgnoredWhy, at: number): LifecycleEvent {
  const routed = event as RoutedEvent;
  return {
    type: 'ignored',
    clientId: routed.clientId,
    at,
    why,
    event: event.type,
    socketId: 'socketId' in routed ? routed.socketId : null,
    state: why === 'already-deleted' ? 'deleted' : null,
  };
}

/**
 * Most events sent to clients in one step. XState runs a step's sends from an array it drains
 * with `shift()`, which turns quadratic past ~16k entries (a large array cannot be trimmed in
 * place): one step sending to 100,000 clients took seconds. Mass expiries, sweeps and
 * `close()` go in batches instead.
 */
export const SEND_BATCH = 1024;

/** Routing shared by `running` and `closing`: live → forward; deleted → ignored; else unknown. */
const routing = {
  guards: [
    { guard: 'isLive', actions: 'forwardToClient' },
    { guard: 'isDeleted', actions: { type: 'ignore', params: { why: 'already-deleted' } } },
    { actions: { type: 'ignore', params: { why: 'unknown-client' } } },
  ],
} as const;

/** A `client.prune` naming a client: routed like the other events; a sweep is handled per state. */
const targetedPrune = [
  ...routing.guards.slice(0, 2),
  { guard: 'isTargeted', actions: { type: 'ignore', params: { why: 'unknown-client' } } },
] as const;

export const supervisorMachine = setup({
  types: {
    input: {} as SupervisorRuntime,
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    emitted: {} as LifecycleEvent,
  },
  actors: { deadlineTimer, pruneTicker },
  guards: {
    isLive: ({ context, event }) => liveRecord(context.runtime, routedId(event)) !== undefined,
    isDeleted: ({ context, event }) => {
      const clientId = routedId(event);
      if (clientId === undefined) return false;
      const { store, now } = context.runtime;
      return store.records.has(clientId) || store.isTombstoned(clientId, now());
    },
    isTargeted: ({ event }) => event.type === 'client.prune' && event.clientId !== undefined,
    canRegister: ({ context, event }) => {
      if (event.type !== 'client.register') return false;
      const { store, maxClients } = context.runtime;
      const existing = store.records.get(event.clientId);
      if (existing?.actor) return false;
      // register() reserves the record (with its token) before sending this event: don't count it
      const others = store.size - (existing ? 1 : 0);
      return others < maxClients;
    },
  },
  actions: {
    spawnClient: ({ context, event, self }) => {
      if (event.type !== 'client.register') return;
      const { runtime } = context;
      const { store } = runtime;
      const record =
        store.records.get(event.clientId) ??
        ({ clientId: event.clientId, token: null, data: undefined, actor: null, state: 'handshaking' } as ClientRecord);
      if (!store.records.has(event.clientId)) store.add(record);
      const actor = createActor(clientMachine, {
        parent: self,
        // One id for every client, unique systemId each. XState names the done event after the
        // child's id (`xstate.done.actor.<id>`) and memoises transition candidates per event type
        // on the parent's state nodes, forever: a per-client id leaked ~400 B per client ever
        // deleted. The clientId travels in the actor's output and its systemId instead.
        id: CLIENT_ACTOR_ID,
        systemId: event.clientId,
        input: {
          clientId: event.clientId,
          tabId: event.tabId ?? null,
          createdAt: runtime.now(),
          handshakeTimeout: runtime.handshakeTimeout,
          reconnectTimeout: runtime.reconnectTimeout,
        },
      });
      record.actor = actor;
      actor.on('*', runtime.onClientEvent);
      actor.start();
    },
    forwardToClient: sendTo(
      ({ context, event }) => liveRecord(context.runtime, routedId(event))?.actor as ClientActor,
      ({ context, event }) => toClientEvent(event, context.runtime.now()),
    ),
    ignore: enqueueActions(({ context, event, enqueue }, params: { why: IgnoredWhy }) => {
      const ignored = ignoredBySupervisor(event, params.why, context.runtime.now());
      countEvent(context.runtime.store as MemoryStore<unknown>, ignored);
      enqueue(emit(ignored));
    }),
    /**
     * A prune sweep: visits only clients whose deadline has passed, plus expired tombstones.
     * At most SEND_BATCH clients per step; if more are due, the sweep continues in a later step
     * (`client.prune` sent to itself), as long as the previous step made progress.
     */
    sweep: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type !== 'client.prune') return;
      const { store, now } = context.runtime;
      const at = event.now ?? now();
      const pending = store.handshakeDeadlines.size + store.reconnectDeadlines.size;
      // a continuation that finds nothing pruned since the last step stops: no livelock
      if (event.pending !== undefined && pending >= event.pending) return;
      let sent = 0;
      for (const queue of [store.handshakeDeadlines, store.reconnectDeadlines]) {
        for (const due of queue.due(at, SEND_BATCH - sent)) {
          const record = liveRecord(context.runtime, due.clientId);
          if (record?.actor) {
            enqueue.sendTo(record.actor, { type: 'client.prune', now: at });
            sent += 1;
          } else queue.delete(due.clientId);
        }
      }
      if (sent === SEND_BATCH) enqueue.sendTo(self, { type: 'client.prune', now: at, pending });
      store.expireTombstones(at);
    }),
    /**
     * The host timer fired: due deadlines are consumed and sent as `client.timeout`, at most
     * SEND_BATCH per step; if more are due, a `clock.tick` sent to itself continues at once
     * (within the same timer callback, so every due client is deleted at its time).
     */
    fireDueDeadlines: enqueueActions(({ context, enqueue, self }) => {
      const { runtime } = context;
      const { store } = runtime;
      const at = runtime.now();
      let sent = 0;
      for (const queue of [store.handshakeDeadlines, store.reconnectDeadlines]) {
        for (const due of queue.due(at, SEND_BATCH - sent)) {
          // consumed whatever the client makes of it, so a deadline can never fire twice
          queue.delete(due.clientId);
          const record = liveRecord(runtime, due.clientId);
          if (record?.actor) {
            enqueue.sendTo(record.actor, { type: 'client.timeout', generation: due.generation, at });
            sent += 1;
          }
        }
      }
      // every deadline visited was consumed, so each continuation makes progress
      if (sent === SEND_BATCH) enqueue.sendTo(self, { type: 'clock.tick' });
    }),
    /** The host timer fired and is spent: arm it for the earliest deadline left. */
    rearmTimer: ({ context }) => context.runtime.armTimer(true),
    /**
     * XState reports a client actor done: it reached `deleted`, and reaching a final state has
     * already stopped it (XState runs its stop procedure: unregistered from the system, mailbox
     * cleared). What is left is to forget it and keep a tombstone.
     */
    forgetClient: ({ context, event }) => {
      const { clientId } = (event as { output: ClientOutput }).output;
      context.runtime.store.remove(clientId, context.runtime.now());
    },
    emitRejected: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'handshake.rejected') return;
      const rejected: LifecycleEvent = {
        type: 'rejected',
        // a malformed handshake has no trustworthy id: report it as the empty string
        clientId: event.clientId ?? '',
        at: context.runtime.now(),
        code: event.code,
        message: event.message,
      };
      countEvent(context.runtime.store as MemoryStore<unknown>, rejected);
      enqueue(emit(rejected));
    }),
    emitHookError: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'hook.error') return;
      const failure: LifecycleEvent = {
        type: 'hook-error',
        clientId: event.clientId,
        at: context.runtime.now(),
        hook: event.hook,
        message: event.error instanceof Error ? event.error.message : String(event.error),
        timedOut: event.timedOut,
        error: event.error,
      };
      countEvent(context.runtime.store as MemoryStore<unknown>, failure);
      enqueue(emit(failure));
    }),
    /**
     * Deletes live clients with reason `shutdown`, SEND_BATCH per step; while more are left it
     * sends itself `supervisor.close` again, handled in `closing` by this same action.
     */
    deleteEveryClient: enqueueActions(({ context, enqueue, self }) => {
      const at = context.runtime.now();
      let sent = 0;
      for (const record of context.runtime.store.records.values()) {
        if (record.actor?.getSnapshot().status === 'active') {
          if (sent === SEND_BATCH) {
            enqueue.sendTo(self, { type: 'supervisor.close' });
            return;
          }
          enqueue.sendTo(record.actor, { type: 'client.delete', reason: 'shutdown', at });
          sent += 1;
        }
      }
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({ runtime: input }),
  initial: 'running',
  states: {
    running: {
      invoke: [
        { id: 'deadlineTimer', src: 'deadlineTimer' },
        {
          id: 'pruneTicker',
          src: 'pruneTicker',
          input: ({ context }) => ({ interval: context.runtime.pruneInterval }),
        },
      ],
      on: {
        'client.register': { guard: 'canRegister', actions: 'spawnClient' },
        'socket.handshake': routing.guards,
        'socket.disconnect': routing.guards,
        'client.delete': routing.guards,
        'client.prune': [
          // a prune for one client goes to it, like the other routed events
          ...targetedPrune,
          // no clientId: a sweep of the clients whose deadline has passed
          { actions: 'sweep' },
        ],
        'clock.tick': { actions: ['fireDueDeadlines', 'rearmTimer'] },
        'supervisor.close': { target: 'closing' },
      },
    },
    // every client is deleted with reason `shutdown` on entry; the API awaits their hooks and
    // then sends `supervisor.closed`. Events still arriving (late disconnects) are ignored.
    closing: {
      entry: 'deleteEveryClient',
      on: {
        'supervisor.close': { actions: 'deleteEveryClient' },
        // a sweep has nothing left to do: every client is being deleted
        'client.prune': targetedPrune,
        'socket.handshake': routing.guards,
        'socket.disconnect': routing.guards,
        'client.delete': routing.guards,
        'supervisor.closed': { target: 'closed' },
      },
    },
    closed: { type: 'final' },
  },
  on: {
    [`xstate.done.actor.${CLIENT_ACTOR_ID}`]: { actions: 'forgetClient' },
    'handshake.rejected': { actions: 'emitRejected' },
    'hook.error': { actions: 'emitHookError' },
  },
});

export type SupervisorActor = ActorRefFrom<typeof supervisorMachine>;
