import { type ActorRefFrom, assign, createActor, setup } from 'xstate';
import type { Clock } from '../core/clock.js';

/**
 * Why a node (re)joins: its first start; it lost its incarnation (declared dead by another node,
 * `fenced`, or it stopped serving by itself when its lease ran out, `lease-lost`); Redis lost its
 * data or went back to an older copy (`reset`: the node writes back what it holds).
 */
export type JoinWhy = 'start' | 'fenced' | 'lease-lost' | 'reset';

/** The states of a node's own lifecycle (docs/node-lifecycle.md). */
export type NodeLifeState = 'joining' | 'serving' | 'suspect' | 'fenced' | 'rejoining' | 'leaving' | 'closed';

/**
 * What the node machine asks of the node. Functions only: the machine's context is in every
 * inspection event.
 */
export interface NodePorts {
  /** The monotonic clock the lease is measured on (ms; `performance.now()` by default). */
  monotonic(): number;
  /** Starts a join (the first one: `start`, or a rejoin), which reports `joined` or `join.failed`. */
  join(why: JoinWhy): void;
  /** Lets every client this node holds go, without hooks (its incarnation is over). */
  loseAll(why: 'fenced' | 'lease-lost'): void;
  /** The lease runs out soon: heartbeat now, if none is on its way. */
  heartbeatNow(): void;
  /** Reports an event of the node's life on `cluster$`. */
  report(event: NodeReport): void;
}

/** What the machine reports (the node turns them into `cluster$` events). */
export type NodeReport =
  | { type: 'lease-lost'; incarnation: number }
  | { type: 'fenced'; incarnation: number }
  | { type: 'joined'; incarnation: number; why: JoinWhy }
  | { type: 'reset' };

/** The events of the node machine. */
export type NodeEvent =
  /**
   * A join was acknowledged; `sentAt`: when it was sent (monotonic), the start of the lease;
   * `ended`: the incarnation of this node id it ended (null: none was alive).
   */
  | { type: 'joined'; incarnation: number; sentAt: number; ended?: number | null }
  /** The first join was refused (a live process has this nodeId, or Redis refused the credentials). */
  | { type: 'join.failed' }
  /** A heartbeat of `incarnation`, sent at `sentAt` (monotonic), was acknowledged: the lease runs from there. */
  | { type: 'heartbeat.ok'; incarnation: number; sentAt: number }
  /** Redis says `incarnation` is over (declared dead by another node, or replaced). */
  | { type: 'heartbeat.fenced'; incarnation: number }
  /**
   * Redis lost its data (`reset`) or went back to an older copy (`rollback`): rejoin and write
   * back what the node holds. The one transition a recovery takes.
   */
  | { type: 'reset' | 'rollback'; incarnation?: number }
  /** `close()` began. */
  | { type: 'close' }
  /** `close()` ended: the incarnation left (or could not) and the node is closed. */
  | { type: 'closed' };

/** The node machine's context. */
export interface NodeMachineContext {
  /** `nodeTtl`: how long Redis keeps an incarnation alive after its last heartbeat. */
  readonly nodeTtl: number;
  /** The lease: how long after an acknowledged heartbeat was sent the node serves (`nodeTtl` less the drift bound). */
  readonly leaseMs: number;
  /** The incarnation serving (0 before the first join). */
  incarnation: number;
  /** When the last acknowledged heartbeat (or join) was sent, monotonic ms. */
  leaseFrom: number;
  /** Rises each time the node loses its incarnation: hooks and work begun before must not finish. */
  lossEpoch: number;
  /** Why the node is (re)joining. */
  why: JoinWhy;
  readonly ports: NodePorts;
}

/**
 * The bound this library assumes on how much slower the node's monotonic clock may run than
 * Redis's clock (Redis's time passing faster ends the node's `nodeTtl` there sooner), as a fraction. Real clocks drift by ~10⁻⁴; NTP slews by at most
 * 5·10⁻⁴.
 */
export const DRIFT_BOUND = 0.01;

/**
 * How late, as a fraction of `nodeTtl`, the lease's timer may fire (a busy event loop) and the
 * node still stop before another node may take over: the lease ends this much earlier.
 */
export const LATE_TIMER_BOUND = 0.05;

/**
 * The lease, from `nodeTtl` (ms): how long a node serves after an acknowledged heartbeat was sent,
 * `nodeTtl × (1 − DRIFT_BOUND − LATE_TIMER_BOUND)`.
 */
export function leaseOf(nodeTtl: number): number {
  return Math.floor(nodeTtl * (1 - DRIFT_BOUND - LATE_TIMER_BOUND));
}

const remaining = (context: NodeMachineContext, until: number) =>
  Math.max(0, context.leaseFrom + until - context.ports.monotonic());

/** How long (ms) the node's lease still runs: 0 once it ended or before the first join. */
export function leaseLeft(actor: NodeActor): number {
  const { context } = actor.getSnapshot();
  return Math.round(remaining(context, context.leaseMs));
}

/**
 * A node's own lifecycle: `joining → serving ⇄ suspect → fenced → rejoining → serving`, and
 * `leaving → closed` from anywhere (docs/node-lifecycle.md). The lease is two delayed
 * transitions on the injectable clock: `suspect` once half of it has passed without an
 * acknowledged heartbeat, `fenced` (the node stops serving by itself) when it ends. A fencing
 * rejoins exactly once: `fenced` and `rejoining` ignore every further report of the ended
 * incarnation.
 */
export const nodeMachine = setup({
  types: {
    context: {} as NodeMachineContext,
    events: {} as NodeEvent,
    input: {} as { nodeTtl: number; ports: NodePorts },
  },
  delays: {
    /** Until half the lease has passed without an acknowledged heartbeat. */
    suspectIn: ({ context }) => remaining(context, context.leaseMs / 2),
    /** Until the lease ends. */
    leaseEndIn: ({ context }) => remaining(context, context.leaseMs),
  },
  guards: {
    /** The event is about the incarnation serving (a late reply of an ended one is ignored). */
    current: ({ context, event }) =>
      !('incarnation' in event) || event.incarnation === undefined || event.incarnation === context.incarnation,
    /** A rejoin after a reset still holds clients, so its lease still runs. */
    holdsClients: ({ context }) => context.why === 'reset',
  },
  actions: {
    extend: assign({
      leaseFrom: ({ context, event }) =>
        'sentAt' in event ? Math.max(context.leaseFrom, event.sentAt) : context.leaseFrom,
    }),
    joinStart: ({ context }) => context.ports.join('start'),
    rejoin: ({ context }) => context.ports.join(context.why),
    heartbeatNow: ({ context }) => context.ports.heartbeatNow(),
  },
}).createMachine({
  id: 'node',
  context: ({ input }) => ({
    nodeTtl: input.nodeTtl,
    leaseMs: leaseOf(input.nodeTtl),
    incarnation: 0,
    leaseFrom: Number.NEGATIVE_INFINITY,
    lossEpoch: 0,
    why: 'start',
    ports: input.ports,
  }),
  initial: 'joining',
  on: {
    close: '.leaving',
  },
  states: {
    joining: {
      entry: 'joinStart',
      on: {
        joined: {
          target: 'serving',
          actions: [
            assign({ incarnation: ({ event }) => event.incarnation, leaseFrom: ({ event }) => event.sentAt }),
            ({ context, event }) =>
              context.ports.report({ type: 'joined', incarnation: event.incarnation, why: 'start' }),
          ],
        },
        'join.failed': 'closed',
      },
    },
    serving: {
      after: { suspectIn: 'suspect' },
      on: {
        'heartbeat.ok': { guard: 'current', target: 'serving', reenter: true, actions: 'extend' },
        'heartbeat.fenced': {
          guard: 'current',
          target: 'fenced',
          actions: assign({ why: 'fenced' as JoinWhy }),
        },
        reset: { guard: 'current', target: 'rejoining', actions: assign({ why: 'reset' as JoinWhy }) },
        rollback: { guard: 'current', target: 'rejoining', actions: assign({ why: 'reset' as JoinWhy }) },
      },
    },
    suspect: {
      entry: 'heartbeatNow',
      after: { leaseEndIn: { target: 'fenced', actions: assign({ why: 'lease-lost' as JoinWhy }) } },
      on: {
        'heartbeat.ok': { guard: 'current', target: 'serving', actions: 'extend' },
        'heartbeat.fenced': { guard: 'current', target: 'fenced', actions: assign({ why: 'fenced' as JoinWhy }) },
        reset: { guard: 'current', target: 'rejoining', actions: assign({ why: 'reset' as JoinWhy }) },
        rollback: { guard: 'current', target: 'rejoining', actions: assign({ why: 'reset' as JoinWhy }) },
      },
    },
    fenced: {
      // the incarnation is over: hooks queued before must not run, clients held are let go
      entry: [
        assign({ lossEpoch: ({ context }) => context.lossEpoch + 1 }),
        ({ context }) =>
          context.ports.report({
            type: context.why === 'lease-lost' ? 'lease-lost' : 'fenced',
            incarnation: context.incarnation,
          }),
        ({ context }) => context.ports.loseAll(context.why === 'lease-lost' ? 'lease-lost' : 'fenced'),
      ],
      always: 'rejoining',
    },
    rejoining: {
      entry: [
        ({ context }) => {
          if (context.why === 'reset') context.ports.report({ type: 'reset' });
        },
        'rejoin',
      ],
      after: {
        leaseEndIn: { guard: 'holdsClients', target: 'fenced', actions: assign({ why: 'lease-lost' as JoinWhy }) },
      },
      on: {
        joined: {
          target: 'serving',
          actions: [
            ({ context, event }) => {
              // the incarnation whose lease ran out was declared dead meanwhile (the join did not end it)
              if (context.why === 'lease-lost' && event.ended !== context.incarnation) {
                context.ports.report({ type: 'fenced', incarnation: context.incarnation });
              }
            },
            assign({ incarnation: ({ event }) => event.incarnation, leaseFrom: ({ event }) => event.sentAt }),
            ({ context, event }) =>
              context.ports.report({ type: 'joined', incarnation: event.incarnation, why: context.why }),
          ],
        },
      },
    },
    leaving: {
      on: { closed: 'closed', close: {} },
    },
    closed: { type: 'final' },
  },
});

/** A running node machine. */
export type NodeActor = ActorRefFrom<typeof nodeMachine>;

/** Starts a node's machine on `clock` (the host's, or a test's simulated one). */
export function startNodeMachine(input: { nodeTtl: number; ports: NodePorts }, clock: Clock): NodeActor {
  const actor = createActor(nodeMachine, { input, clock });
  actor.start();
  return actor;
}

/** The state a snapshot of the node machine is in. */
export function nodeLifeState(actor: NodeActor): NodeLifeState {
  return actor.getSnapshot().value as NodeLifeState;
}
