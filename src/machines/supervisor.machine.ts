import { type ActorRefFrom, emit, enqueueActions, setup } from 'xstate';
import { hostTimer } from '../actors/hostTimer.js';
import { pruneTicker } from '../actors/pruneTicker.js';
import type { Clock } from '../core/clock.js';
import { describeThrown } from '../core/describe.js';
import type { DeleteReason, HookName, IgnoredWhy, LifecycleEvent, RejectCode, SupervisorEvent } from '../core/types.js';
import type { Deadline } from '../store/deadlineIndex.js';
import type { ClientActor, ClientEvent, ClientOutput } from './client.machine.js';

/**
 * The parent of every client actor. A live client's socket events go straight to its actor
 * (`supervisor.send()`, the socket.io adapter); this machine owns what concerns all clients:
 * it answers for unknown and deleted ids (`ignored`), fires due deadlines, runs prune sweeps,
 * passivates idle clients, forgets a client (leaving a tombstone) when XState reports that its
 * actor reached `deleted`, and deletes every client at shutdown. The DESIGN events sent to it
 * (`supervisor.actor.send({ type: 'socket.handshake', clientId, … })`) are routed to the client,
 * as they always were.
 *
 * Client actors are created with this actor as their `parent` (one actor system, so
 * `system.get(clientId)` and inspection see them) but are not entries of this machine's
 * `snapshot.children`: XState copies that object on every spawn and stop. Every operation here
 * is O(1) in the number of clients; a sweep is O(due).
 */

/** The `id` every client actor has under the supervisor; each one's `systemId` is its clientId. */
export const CLIENT_ACTOR_ID = 'client';

/**
 * What the machine asks of the supervisor's runtime. Functions only: the context of an actor is
 * in every inspection event, and nothing reachable from it may lead to a client's token.
 */
export interface SupervisorPorts {
  now(): number;
  /** The timers the supervisor's own timer actors use (XState's `Clock`: real, or a test's fake). */
  clock(): Clock;
  /** Period of the safety-net prune sweep (ms); 0: off. */
  pruneInterval(): number;
  /** The one deleted-or-unknown check, at `now()`. Pure. */
  status(clientId: string): 'live' | 'deleted' | 'unknown';
  /** The live client's actor, re-created from its snapshot if it was passivated. */
  activate(clientId: string): ClientActor;
  /** Removes and returns up to `limit` deadlines due at `now`. */
  takeDue(now: number, limit: number): Deadline[];
  /** Up to `limit` ids of clients whose deadline has passed at `now`, left in place. */
  dueForPrune(now: number, limit: number): string[];
  pendingDeadlines(): number;
  expireTombstones(now: number): void;
  /** Whether some client has been idle for `passivateAfter`. */
  hasIdle(): boolean;
  /** Takes up to `limit` idle clients' actors off their records (now kept as snapshots), to be stopped. */
  passivateIdle(limit: number): ClientActor[];
  /** Forgets a client whose actor reached `deleted`, keeping a tombstone. */
  forget(clientId: string): void;
  /** Up to `limit` more live clients to delete at shutdown. */
  nextToClose(limit: number): string[];
  /** Re-arms the host timer for the earliest deadline or passivation (always when `fired`). */
  armTimer(fired?: boolean): void;
}

/** The events of the supervisor machine: the DESIGN events plus its own. */
export type SupervisorMachineEvent =
  | SupervisorEvent
  | { type: 'clock.tick' }
  /** A sweep's continuation: `pending` deadlines were left when it was sent. */
  | { type: 'sweep.continue'; now: number; pending: number }
  | { type: 'clients.passivate' }
  | { type: 'xstate.done.actor.client'; output: ClientOutput }
  | { type: 'handshake.rejected'; clientId: string | null; code: RejectCode; message: string }
  | { type: 'hook.error'; clientId: string; hook: HookName; error: unknown; timedOut: boolean }
  | { type: 'supervisor.close' }
  | { type: 'supervisor.closed' };

export interface SupervisorContext {
  ports: SupervisorPorts;
}

type RoutedEvent = Extract<SupervisorEvent, { clientId?: string }>;

function routedId(event: SupervisorMachineEvent): string | undefined {
  return event.type === 'socket.handshake' ||
    event.type === 'socket.disconnect' ||
    event.type === 'client.delete' ||
    event.type === 'client.prune'
    ? event.clientId
    : undefined;
}

/** The client-machine event for a DESIGN event, stamped with `at`. */
export function toClientEvent(event: SupervisorEvent, at: number): ClientEvent {
  switch (event.type) {
    case 'socket.handshake':
      return { type: 'socket.handshake', socketId: event.socketId, tabId: event.tabId ?? null, at };
    case 'socket.disconnect':
      return { type: 'socket.disconnect', socketId: event.socketId, reason: event.reason, at };
    case 'client.delete':
      return { type: 'client.delete', reason: event.reason ?? 'manual', at };
    case 'client.prune':
      return { type: 'client.prune', now: event.now ?? at };
  }
}

/** The `ignored` report for an event naming a client that is not live. */
export function ignoredEvent(event: RoutedEvent, why: IgnoredWhy, at: number): LifecycleEvent {
  return {
    type: 'ignored',
    clientId: event.clientId ?? '',
    at,
    why,
    event: event.type,
    socketId: 'socketId' in event ? event.socketId : null,
    state: why === 'already-deleted' ? 'deleted' : null,
  };
}

/**
 * Most events sent to clients in one step. XState runs a step's sends from an array it drains
 * with `shift()`, which turns quadratic past ~16k entries (a large array cannot be trimmed in
 * place): one step sending to 100,000 clients took seconds. Mass expiries, sweeps, passivation
 * and `close()` go in batches instead.
 */
export const SEND_BATCH = 1024;

/** Routing shared by `running` and `closing`: live → forward; deleted → ignored; else unknown. */
const routing = [
  { guard: 'isLive', actions: 'forwardToClient' },
  { guard: 'isDeleted', actions: { type: 'ignore', params: { why: 'already-deleted' } } },
  { actions: { type: 'ignore', params: { why: 'unknown-client' } } },
] as const;

/** A `client.prune` naming a client: routed like the other events; a sweep is handled per state. */
const targetedPrune = [
  routing[0],
  routing[1],
  { guard: 'isTargeted', actions: { type: 'ignore', params: { why: 'unknown-client' } } },
] as const;

/**
 * The parent of every client actor: routes DESIGN events to live clients, answers for unknown and
 * deleted ones (`ignored`), runs the host timer and the prune ticker, and closes in batches.
 * Exported for inspection (`supervisor.actor` runs it); applications do not run it themselves.
 */
export const supervisorMachine = setup({
  types: {
    input: {} as SupervisorPorts,
    /** The ports the supervisor's actor reaches the store, the client actors and the clock through. */
    context: {} as SupervisorContext,
    events: {} as SupervisorMachineEvent,
    emitted: {} as LifecycleEvent,
  },
  actors: { hostTimer, pruneTicker },
  guards: {
    isLive: ({ context, event }) => {
      const clientId = routedId(event);
      return clientId !== undefined && context.ports.status(clientId) === 'live';
    },
    isDeleted: ({ context, event }) => {
      const clientId = routedId(event);
      return clientId !== undefined && context.ports.status(clientId) === 'deleted';
    },
    isTargeted: ({ event }) => event.type === 'client.prune' && event.clientId !== undefined,
  },
  actions: {
    forwardToClient: enqueueActions(({ context, event, enqueue }) => {
      const { ports } = context;
      const clientId = routedId(event)!;
      enqueue.sendTo(ports.activate(clientId), toClientEvent(event as SupervisorEvent, ports.now()));
    }),
    ignore: emit(({ context, event }, params: { why: IgnoredWhy }) =>
      ignoredEvent(event as RoutedEvent, params.why, context.ports.now()),
    ),
    /**
     * A prune sweep: visits only clients whose deadline has passed. At most SEND_BATCH clients
     * per step; if more are due, the sweep continues in a later step, as long as the previous
     * step made progress.
     */
    sweep: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type !== 'client.prune' && event.type !== 'sweep.continue') return;
      const { ports } = context;
      const at = event.now ?? ports.now();
      const pending = ports.pendingDeadlines();
      // a continuation that finds nothing pruned since the last step stops: no livelock
      if (event.type === 'sweep.continue' && pending >= event.pending) return;
      const due = ports.dueForPrune(at, SEND_BATCH);
      for (const clientId of due) enqueue.sendTo(ports.activate(clientId), { type: 'client.prune', now: at });
      if (due.length === SEND_BATCH) enqueue.sendTo(self, { type: 'sweep.continue', now: at, pending });
    }),
    expireTombstones: ({ context, event }) => {
      const at = (event as { now?: number }).now ?? context.ports.now();
      context.ports.expireTombstones(at);
    },
    /**
     * The host timer fired: due deadlines are consumed and sent as `client.timeout`, at most
     * SEND_BATCH per step; if more are due, a `clock.tick` sent to itself continues at once
     * (within the same timer callback, so every due client is deleted at its time). Idle
     * clients are passivated in a step of their own, after the timeouts were delivered.
     */
    fireDueDeadlines: enqueueActions(({ context, enqueue, self }) => {
      const { ports } = context;
      const at = ports.now();
      const due = ports.takeDue(at, SEND_BATCH);
      for (const deadline of due) {
        // consumed whatever the client makes of it, so a deadline can never fire twice
        if (ports.status(deadline.clientId) !== 'live') continue;
        enqueue.sendTo(ports.activate(deadline.clientId), {
          type: 'client.timeout',
          generation: deadline.generation,
          at,
        });
      }
      if (due.length === SEND_BATCH) enqueue.sendTo(self, { type: 'clock.tick' });
      else if (ports.hasIdle()) enqueue.sendTo(self, { type: 'clients.passivate' });
    }),
    /**
     * Stops the actors of clients idle for `passivateAfter`; their records keep their snapshot,
     * and their next event re-creates the actor from it.
     */
    passivateIdle: enqueueActions(({ context, enqueue, self }) => {
      const actors = context.ports.passivateIdle(SEND_BATCH);
      for (const actor of actors) enqueue.stopChild(actor);
      if (actors.length === SEND_BATCH) enqueue.sendTo(self, { type: 'clients.passivate' });
    }),
    /** The host timer fired and is spent: arm it for the earliest deadline or passivation left. */
    rearmTimer: ({ context }) => context.ports.armTimer(true),
    /**
     * XState reports a client actor done: it reached `deleted`, and reaching a final state has
     * already stopped it (XState runs its stop procedure: unregistered from the system, mailbox
     * cleared). What is left is to forget it and keep a tombstone.
     */
    forgetClient: ({ context, event }) => {
      context.ports.forget((event as { output: ClientOutput }).output.clientId);
    },
    emitRejected: emit(({ context, event }) => {
      const rejected = event as Extract<SupervisorMachineEvent, { type: 'handshake.rejected' }>;
      return {
        type: 'rejected' as const,
        // a malformed handshake has no trustworthy id: report it as the empty string
        clientId: rejected.clientId ?? '',
        at: context.ports.now(),
        code: rejected.code,
        message: rejected.message,
      };
    }),
    emitHookError: emit(({ context, event }) => {
      const failure = event as Extract<SupervisorMachineEvent, { type: 'hook.error' }>;
      return {
        type: 'hook-error' as const,
        clientId: failure.clientId,
        at: context.ports.now(),
        hook: failure.hook,
        message: describeThrown(failure.error),
        timedOut: failure.timedOut,
        error: failure.error,
      };
    }),
    /**
     * Deletes live clients with reason `shutdown`, SEND_BATCH per step; while more are left it
     * sends itself `supervisor.close` again, handled in `closing` by this same action.
     */
    deleteEveryClient: enqueueActions(({ context, enqueue, self }) => {
      const { ports } = context;
      const at = ports.now();
      const batch = ports.nextToClose(SEND_BATCH);
      const reason: DeleteReason = 'shutdown';
      for (const clientId of batch) enqueue.sendTo(ports.activate(clientId), { type: 'client.delete', reason, at });
      if (batch.length === SEND_BATCH) enqueue.sendTo(self, { type: 'supervisor.close' });
    }),
  },
}).createMachine({
  id: 'supervisor',
  /** The ports it was created with, kept as they are. */
  context: ({ input }) => ({ ports: input }),
  initial: 'running',
  states: {
    running: {
      invoke: [
        {
          id: 'hostTimer',
          src: 'hostTimer',
          /** The clock the host timer arms its one timer on. */
          input: ({ context }) => ({ clock: context.ports.clock() }),
        },
        {
          id: 'pruneTicker',
          src: 'pruneTicker',
          /** The prune sweep's period (`pruneInterval`, 0 = off) and its clock. */
          input: ({ context }) => ({ interval: context.ports.pruneInterval(), clock: context.ports.clock() }),
        },
      ],
      on: {
        'socket.handshake': routing,
        'socket.disconnect': routing,
        'client.delete': routing,
        'client.prune': [
          // a prune for one client goes to it, like the other routed events
          ...targetedPrune,
          // no clientId: a sweep of the clients whose deadline has passed
          { actions: ['sweep', 'expireTombstones'] },
        ],
        'sweep.continue': { actions: 'sweep' },
        'clock.tick': { actions: ['fireDueDeadlines', 'rearmTimer'] },
        'clients.passivate': { actions: ['passivateIdle', 'rearmTimer'] },
        'supervisor.close': { target: 'closing' },
      },
    },
    // every client is deleted with reason `shutdown` on entry; the API awaits their hooks and
    // then sends `supervisor.closed`. Events still arriving (late disconnects) are routed as
    // before; nothing is passivated any more.
    closing: {
      entry: 'deleteEveryClient',
      on: {
        'supervisor.close': { actions: 'deleteEveryClient' },
        // a sweep has nothing left to do: every client is being deleted
        'client.prune': targetedPrune,
        'socket.handshake': routing,
        'socket.disconnect': routing,
        'client.delete': routing,
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

/** The supervisor's running actor (`supervisor.actor`; its machine is `supervisor.actor.logic`). */
export type SupervisorActor = ActorRefFrom<typeof supervisorMachine>;
