import { type ActorRefFrom, assign, emit, type SnapshotFrom, setup } from 'xstate';
import type {
  ClientSnapshot,
  ClientState,
  DeleteReason,
  DisconnectReason,
  IgnoredWhy,
  LifecycleEvent,
  LiveState,
} from '../core/types.js';

/** What `createActor(clientMachine, { input })` needs to start a client in `handshaking`. */
export interface ClientMachineInput {
  clientId: string;
  tabId: string | null;
  createdAt: number;
  handshakeTimeout: number;
  reconnectTimeout: number;
}

/**
 * A client's context: the fields of its {@link ClientSnapshot} (its state is the machine's value),
 * its id, and the timeouts every client of its supervisor shares. How a client was deleted is in
 * its `deleted` event and its actor's output (`{ clientId, reason }`), not in its context: the
 * transition into `deleted` leaves the context as it was.
 */
export interface ClientContext extends Omit<ClientSnapshot, 'state'> {
  clientId: string;
  handshakeTimeout: number;
  reconnectTimeout: number;
}

/**
 * The events a client's actor receives: the DESIGN events without their `clientId` (the actor is
 * the client), stamped with the supervisor's clock, and `client.timeout` (a deadline firing,
 * carrying the generation it was armed for).
 */
export type ClientEvent =
  | { type: 'socket.handshake'; socketId: string; tabId?: string | null; at: number }
  | { type: 'socket.disconnect'; socketId: string; reason: DisconnectReason; at: number }
  | { type: 'client.prune'; now: number }
  | { type: 'client.delete'; reason: DeleteReason; at: number }
  | { type: 'client.timeout'; generation: number; at: number };

/** What a deleted client's actor ends with (`snapshot.output`): its id and why it was deleted. */
export interface ClientOutput {
  clientId: string;
  reason: DeleteReason;
}

function eventTime(event: ClientEvent): number {
  return event.type === 'client.prune' ? event.now : event.at;
}

function eventSocket(event: ClientEvent): string | null {
  return event.type === 'socket.handshake' || event.type === 'socket.disconnect' ? event.socketId : null;
}

/**
 * The `registered` event of a client in `handshaking`: what the state's entry emits, and what the
 * client host books for a client it restores straight into `handshaking` (`clientHost.spawn`).
 */
export function registeredEvent(
  client: Pick<ClientContext, 'clientId' | 'createdAt' | 'tabId' | 'expiresAt'>,
): Extract<LifecycleEvent, { type: 'registered' }> {
  return {
    type: 'registered',
    clientId: client.clientId,
    at: client.createdAt,
    tabId: client.tabId,
    expiresAt: client.expiresAt ?? 0,
  };
}

/**
 * Why an event deleted a client in `from`: what the table's transitions into `deleted` say
 * (a delete's own reason, `pruned`, or the timeout of the state it was waiting in).
 */
export function deletionReason(event: ClientEvent, from: LiveState): DeleteReason {
  if (event.type === 'client.delete') return event.reason;
  if (event.type === 'client.prune') return 'pruned';
  return from === 'handshaking' ? 'handshake-timeout' : 'reconnect-timeout';
}

/**
 * The lifecycle of one client, exactly docs/design.md's state × event table. Pure: no socket.io, no
 * clock, no I/O. Time arrives in events (`at`, `now`) stamped by the supervisor, and deadlines
 * are fired by the supervisor's one timer as `client.timeout` events carrying the generation
 * they were armed for, so a timeout armed for an earlier disconnect can never delete a client
 * that has since reconnected and disconnected again.
 *
 * Exported for tools: `createActor(clientMachine, { input })` runs one client alone (model-based
 * tests), and the inspector's `statechartModel(clientMachine)` or Stately's editor draw it. A
 * supervisor creates these actors itself.
 */
export const clientMachine = setup({
  types: {
    input: {} as ClientMachineInput,
    context: {} as ClientContext,
    events: {} as ClientEvent,
    emitted: {} as LifecycleEvent,
    /** What a deleted client's actor ends with: its id and why it was deleted. */
    output: {} as ClientOutput,
  },
  guards: {
    isCurrentSocket: ({ context, event }) => eventSocket(event) === context.socketId,
    /** `client.prune` is due once the deadline has passed (age ≥ timeout, inclusive). */
    isDue: ({ context, event }) =>
      event.type === 'client.prune' && context.expiresAt !== null && event.now >= context.expiresAt,
    isCurrentGeneration: ({ context, event }) =>
      event.type === 'client.timeout' && event.generation === context.generation,
  },
  actions: {
    initialise: assign(({ event }) => {
      const input = (event as unknown as { input: ClientMachineInput }).input;
      return {
        clientId: input.clientId,
        tabId: input.tabId,
        createdAt: input.createdAt,
        expiresAt: input.createdAt + input.handshakeTimeout,
        handshakeTimeout: input.handshakeTimeout,
        reconnectTimeout: input.reconnectTimeout,
      };
    }),
    ignore: emit(({ context, event, self }, params: { why: IgnoredWhy }) => ({
      type: 'ignored' as const,
      clientId: context.clientId,
      at: eventTime(event),
      why: params.why,
      event: event.type,
      socketId: eventSocket(event),
      state: self.getSnapshot().value as ClientState,
    })),
    attachSocket: assign(({ context, event }) => {
      if (event.type !== 'socket.handshake') return {};
      return {
        socketId: event.socketId,
        tabId: event.tabId ?? context.tabId,
        connectedAt: event.at,
        expiresAt: null,
      };
    }),
    emitConnected: emit(({ context }) => ({
      type: 'connected' as const,
      clientId: context.clientId,
      at: context.connectedAt ?? context.createdAt,
      socketId: context.socketId ?? '',
      tabId: context.tabId,
    })),
    emitReconnected: emit(({ context }) => ({
      type: 'reconnected' as const,
      clientId: context.clientId,
      at: context.connectedAt ?? context.createdAt,
      socketId: context.socketId ?? '',
      tabId: context.tabId,
      downtime: (context.connectedAt ?? 0) - (context.disconnectedAt ?? 0),
    })),
    // emit resolves its payload from the context as the actions before it left it, so it must
    // come before attachSocket overwrites the replaced socket's id
    emitSocketReplaced: emit(({ context, event }) => ({
      type: 'socket-replaced' as const,
      clientId: context.clientId,
      at: eventTime(event),
      socketId: eventSocket(event) ?? '',
      previousSocketId: context.socketId ?? '',
    })),
    detachSocket: assign(({ context, event }) => {
      if (event.type !== 'socket.disconnect') return {};
      return {
        socketId: null,
        disconnectedAt: event.at,
        expiresAt: event.at + context.reconnectTimeout,
        generation: context.generation + 1,
      };
    }),
    emitDisconnected: emit(({ context, event }) => ({
      type: 'disconnected' as const,
      clientId: context.clientId,
      at: context.disconnectedAt ?? 0,
      socketId: eventSocket(event) ?? '',
      // only a socket.disconnect leads here (the transition table says so)
      reason: (event as Extract<ClientEvent, { type: 'socket.disconnect' }>).reason,
      expiresAt: context.expiresAt ?? 0,
    })),
    /**
     * The one action of a transition into `deleted`. No assign: the context stays as the state it
     * left had it (copying it cost an object per delete), so `socketId` is the socket the client
     * had, and the reason and the state left are the transition's own.
     */
    emitDeleted: emit(({ context, event }, params: { from: LiveState }) => ({
      type: 'deleted' as const,
      clientId: context.clientId,
      at: eventTime(event),
      reason: deletionReason(event, params.from),
      from: params.from,
      socketId: context.socketId,
    })),
  },
}).createMachine({
  id: 'client',
  // A static context filled from `input` by the root entry, rather than a context factory:
  // XState resolves a factory with `assign()`, which its development build reports as console
  // noise whenever the actor is created inside another actor's action (the supervisor does that).
  context: {
    clientId: '',
    tabId: null,
    socketId: null,
    createdAt: 0,
    connectedAt: null,
    disconnectedAt: null,
    expiresAt: null,
    generation: 0,
    handshakeTimeout: 0,
    reconnectTimeout: 0,
  },
  entry: 'initialise',
  initial: 'handshaking',
  states: {
    handshaking: {
      entry: emit(({ context }) => registeredEvent(context)),
      on: {
        'socket.handshake': { target: 'connected', actions: ['attachSocket', 'emitConnected'] },
        'socket.disconnect': { actions: { type: 'ignore', params: { why: 'not-connected' } } },
        'client.prune': [
          {
            guard: 'isDue',
            target: 'deleted',
            actions: { type: 'emitDeleted', params: { from: 'handshaking' } },
          },
          { actions: { type: 'ignore', params: { why: 'not-due' } } },
        ],
        'client.delete': { target: 'deleted', actions: { type: 'emitDeleted', params: { from: 'handshaking' } } },
        'client.timeout': [
          {
            guard: 'isCurrentGeneration',
            target: 'deleted',
            actions: { type: 'emitDeleted', params: { from: 'handshaking' } },
          },
          { actions: { type: 'ignore', params: { why: 'not-due' } } },
        ],
      },
    },
    connected: {
      on: {
        'socket.handshake': [
          { guard: 'isCurrentSocket', actions: { type: 'ignore', params: { why: 'replay' } } },
          // a second socket of the same client (duplicated tab, or a reconnect that raced the old
          // socket's disconnect): the new socket wins, the old one is closed by the adapter
          { actions: ['emitSocketReplaced', 'attachSocket'] },
        ],
        'socket.disconnect': [
          { guard: 'isCurrentSocket', target: 'disconnected', actions: ['detachSocket', 'emitDisconnected'] },
          // the old socket of a swap reporting its disconnect after the new socket's handshake
          { actions: { type: 'ignore', params: { why: 'stale-socket' } } },
        ],
        'client.prune': { actions: { type: 'ignore', params: { why: 'not-due' } } },
        'client.delete': { target: 'deleted', actions: { type: 'emitDeleted', params: { from: 'connected' } } },
        'client.timeout': { actions: { type: 'ignore', params: { why: 'not-due' } } },
      },
    },
    disconnected: {
      on: {
        'socket.handshake': { target: 'connected', actions: ['attachSocket', 'emitReconnected'] },
        'socket.disconnect': { actions: { type: 'ignore', params: { why: 'not-connected' } } },
        'client.prune': [
          {
            guard: 'isDue',
            target: 'deleted',
            actions: { type: 'emitDeleted', params: { from: 'disconnected' } },
          },
          { actions: { type: 'ignore', params: { why: 'not-due' } } },
        ],
        'client.delete': { target: 'deleted', actions: { type: 'emitDeleted', params: { from: 'disconnected' } } },
        'client.timeout': [
          {
            guard: 'isCurrentGeneration',
            target: 'deleted',
            actions: { type: 'emitDeleted', params: { from: 'disconnected' } },
          },
          { actions: { type: 'ignore', params: { why: 'not-due' } } },
        ],
      },
    },
    deleted: {
      type: 'final',
      /**
       * Why the client was deleted, from the event that deleted it and the state it left: entering
       * `deleted` runs in that event's step, before the actor's snapshot moves on (the state left
       * is still its value); the emitted `deleted` event says the same (`emitDeleted`).
       */
      output: ({ event, self }) => deletionReason(event, self.getSnapshot().value as LiveState),
    },
  },
  /** The deleted client's id and delete reason (the `deleted` state's output), for its parent. */
  output: ({ context, event }) => ({ clientId: context.clientId, reason: event.output as DeleteReason }),
});

/** A running client actor (`supervisor.actorOf(clientId)`). */
export type ClientActor = ActorRefFrom<typeof clientMachine>;
export type ClientMachineSnapshot = SnapshotFrom<typeof clientMachine>;
