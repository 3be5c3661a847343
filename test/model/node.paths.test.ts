import { type EventFromLogic, getInitialSnapshot, getNextSnapshot, SimulatedClock, type SnapshotFrom } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { describe, expect, it } from 'vitest';
import {
  type JoinWhy,
  leaseOf,
  type NodeActor,
  type NodePorts,
  type NodeReport,
  nodeMachine,
  startNodeMachine,
} from '../../src/cluster/nodeMachine.js';

// Paths generated from the node machine itself (xstate/graph), each executed on a live actor on a
// simulated clock: the lease's timers fire as the clock moves, and after every step the actor's
// state, the lease and what the node was asked to do (joins, letting clients go, reports) are
// checked against what the path says.

const NODE_TTL = 2000;
const LEASE = leaseOf(NODE_TTL);

type NodeSnapshot = SnapshotFrom<typeof nodeMachine>;
type ModelEvent = EventFromLogic<typeof nodeMachine> | { type: `xstate.after.${string}` };

const AFTER = {
  suspect: 'xstate.after.suspectIn.node.serving',
  leaseEndSuspect: 'xstate.after.leaseEndIn.node.suspect',
  leaseEndRejoining: 'xstate.after.leaseEndIn.node.rejoining',
} as const;

const inertPorts: NodePorts = { monotonic: () => 0, join() {}, loseAll() {}, heartbeatNow() {}, report() {} };

/** The events the graph tries in a state: about the serving incarnation, a stale one, Redis, close(), and the lease's timers. */
function eventsOf(snapshot: NodeSnapshot): ModelEvent[] {
  const inc = snapshot.context.incarnation;
  return [
    { type: 'joined', incarnation: inc + 1, sentAt: 0, ended: null },
    // a rejoin that ended the incarnation itself (nobody declared it dead: an outage)
    { type: 'joined', incarnation: inc + 1, sentAt: 0, ended: inc },
    { type: 'join.failed' },
    { type: 'heartbeat.ok', incarnation: inc, sentAt: 0 },
    { type: 'heartbeat.fenced', incarnation: inc },
    // a late reply about an incarnation that already ended
    { type: 'heartbeat.fenced', incarnation: inc - 1 },
    { type: 'reset', incarnation: inc },
    { type: 'rollback' },
    { type: 'close' },
    { type: 'closed' },
    { type: AFTER.suspect },
    { type: AFTER.leaseEndSuspect },
    { type: AFTER.leaseEndRejoining },
  ];
}

const describeEvent = (event: ModelEvent) => {
  if (event.type === 'joined') return event.ended === null ? 'joined' : 'joined(ended itself)';
  if (event.type === 'heartbeat.fenced' && event.incarnation < 1) return 'heartbeat.fenced(stale)';
  return event.type.replace('xstate.after.', 'after ');
};

const graphOptions = {
  input: { nodeTtl: NODE_TTL, ports: inertPorts },
  serializeState: (snapshot: NodeSnapshot) => JSON.stringify([snapshot.value, snapshot.context.why]),
  events: eventsOf,
};

function replay(events: ModelEvent[]): NodeSnapshot[] {
  const snapshots = [getInitialSnapshot(nodeMachine, { nodeTtl: NODE_TTL, ports: inertPorts })];
  for (const event of events) snapshots.push(getNextSnapshot(nodeMachine, snapshots.at(-1)!, event as never));
  return snapshots;
}

/**
 * The shortest path to each state (with why it rejoins), each followed by every event accepted at
 * its end, and by every event accepted after that (so every transition is taken from every state
 * it leaves, and every pair of transitions in a row). Every simple path is far more (thousands)
 * and exercises nothing these do not.
 */
function generatePaths(): Array<{ description: string; events: ModelEvent[] }> {
  const bases = getShortestPaths(nodeMachine, graphOptions as never).map((path) =>
    path.steps.map((step) => step.event as ModelEvent).filter((event) => (event.type as string) !== 'xstate.init'),
  );
  const unique = new Map<string, ModelEvent[]>();
  const add = (events: ModelEvent[]) => unique.set(events.map(describeEvent).join(' → ') || '(start)', events);
  const extend = (events: ModelEvent[], depth: number) => {
    add(events);
    if (depth === 0) return;
    const end = replay(events).at(-1)!;
    if (end.status !== 'active') return;
    for (const event of eventsOf(end)) {
      const next = getNextSnapshot(nodeMachine, end, event as never);
      // an event that changes nothing (a stale reply, a timer not armed here) is no step
      if (
        next.value === end.value &&
        next.context.lossEpoch === end.context.lossEpoch &&
        next.context.leaseFrom === end.context.leaseFrom
      )
        continue;
      extend([...events, event], depth - 1);
    }
  };
  for (const base of bases) extend(base, 2);
  return [...unique].map(([description, events]) => ({ description, events }));
}

/** A node machine on a simulated clock, with ports that record what it was asked to do. */
function harness() {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  const calls = {
    joins: [] as JoinWhy[],
    lost: [] as string[],
    heartbeats: 0,
    reports: [] as NodeReport[],
  };
  const ports: NodePorts = {
    monotonic: () => clock.now(),
    join: (why) => calls.joins.push(why),
    loseAll: (why) => calls.lost.push(why),
    heartbeatNow: () => {
      calls.heartbeats += 1;
    },
    report: (event) => calls.reports.push(event),
  };
  const actor: NodeActor = startNodeMachine({ nodeTtl: NODE_TTL, ports }, clock);
  const context = () => actor.getSnapshot().context;
  /** Moves the clock to `leaseFrom + at` (a timer due then fires), if that is not past. */
  const advanceTo = (at: number) => clock.increment(Math.max(0, context().leaseFrom + at - clock.now()));
  return { clock, calls, actor, context, advanceTo };
}

/** Runs a model event on the live actor: a timer fires by moving the clock, any other event is sent. */
function exec(h: ReturnType<typeof harness>, event: ModelEvent): void {
  if (event.type === AFTER.suspect) h.advanceTo(LEASE / 2);
  else if (event.type === AFTER.leaseEndSuspect || event.type === AFTER.leaseEndRejoining) h.advanceTo(LEASE);
  else if (event.type === 'joined' || event.type === 'heartbeat.ok') {
    // sent a little earlier than it was acknowledged
    h.actor.send({ ...event, sentAt: h.clock.now() - 5 } as never);
  } else h.actor.send(event as never);
}

const paths = generatePaths();

describe(`node machine paths (${paths.length} generated)`, () => {
  it.each(paths.map((path) => [path.description, path] as const))('%s', (_description, path) => {
    const h = harness();
    const model = replay(path.events);
    let fencings = 0;
    let leaseLosses = 0;
    let rejoins = 0;
    let fencedReports = 0;
    for (const [i, event] of path.events.entries()) {
      const before = model[i]!;
      const after = model[i + 1]!;
      exec(h, event);
      const snapshot = h.actor.getSnapshot();
      // the live actor is where the model is
      expect(snapshot.value).toEqual(after.value);
      // entering `fenced` (transient: it goes on to `rejoining`) is seen in the loss epoch
      const lost = after.context.lossEpoch - before.context.lossEpoch;
      if (lost > 0) {
        fencings += 1;
        if (after.context.why === 'lease-lost') leaseLosses += 1;
        else fencedReports += 1;
      }
      if (after.value === 'rejoining' && before.value !== 'rejoining') rejoins += 1;
      if (after.value === 'rejoining' && before.value === 'rejoining' && lost > 0) rejoins += 1;
      if (
        event.type === 'joined' &&
        before.value === 'rejoining' &&
        before.context.why === 'lease-lost' &&
        event.ended !== before.context.incarnation
      ) {
        fencedReports += 1;
      }
      // the lease: it serves only within leaseMs of its last acknowledged heartbeat's sending
      if (snapshot.value === 'serving' || snapshot.value === 'suspect') {
        expect(h.clock.now()).toBeLessThan(snapshot.context.leaseFrom + LEASE);
      }
      if (snapshot.value === 'suspect' && before.value !== 'suspect') {
        expect(h.clock.now()).toBeGreaterThanOrEqual(snapshot.context.leaseFrom + LEASE / 2);
      }
      // what the node was asked to do, so far
      expect(snapshot.context.lossEpoch).toBe(fencings);
      expect(h.calls.lost).toEqual(
        h.calls.reports
          .filter((r) => r.type === 'lease-lost' || r.type === 'fenced')
          .map(() => expect.any(String))
          .slice(0, fencings),
      );
      expect(h.calls.lost.length).toBe(fencings);
      // one join to start, then exactly one per rejoin
      expect(h.calls.joins.length).toBe(1 + rejoins);
      expect(h.calls.joins[0]).toBe('start');
      expect(h.calls.reports.filter((r) => r.type === 'lease-lost').length).toBe(leaseLosses);
      expect(h.calls.reports.filter((r) => r.type === 'fenced').length).toBe(fencedReports);
      expect(h.calls.reports.filter((r) => r.type === 'joined').length).toBe(
        path.events.slice(0, i + 1).filter((e, j) => e.type === 'joined' && model[j]!.value !== model[j + 1]!.value)
          .length,
      );
    }
    h.actor.stop();
  });

  it('should reach every state and take every transition of the chart', () => {
    const seen = new Set<string>();
    for (const path of paths) {
      const model = replay(path.events);
      for (const [i, event] of path.events.entries()) {
        if (
          model[i]!.value !== model[i + 1]!.value ||
          model[i]!.context.lossEpoch !== model[i + 1]!.context.lossEpoch
        ) {
          seen.add(`${String(model[i]!.value)} --${event.type}--> ${String(model[i + 1]!.value)}`);
        }
      }
    }
    expect([...seen].sort()).toEqual(
      [
        'joining --joined--> serving',
        'joining --join.failed--> closed',
        'joining --close--> leaving',
        'serving --xstate.after.suspectIn.node.serving--> suspect',
        'serving --heartbeat.fenced--> rejoining',
        'serving --reset--> rejoining',
        'serving --rollback--> rejoining',
        'serving --close--> leaving',
        'suspect --heartbeat.ok--> serving',
        'suspect --heartbeat.fenced--> rejoining',
        'suspect --xstate.after.leaseEndIn.node.suspect--> rejoining',
        'suspect --reset--> rejoining',
        'suspect --rollback--> rejoining',
        'suspect --close--> leaving',
        'rejoining --joined--> serving',
        'rejoining --xstate.after.leaseEndIn.node.rejoining--> rejoining',
        'rejoining --close--> leaving',
        'leaving --closed--> closed',
      ].sort(),
    );
  });
});

describe('node machine: the lease and the single rejoin', () => {
  it('should turn suspect at half the lease, stop serving by itself when it ends, and rejoin once', () => {
    const h = harness();
    const start = h.clock.now();
    h.actor.send({ type: 'joined', incarnation: 1, sentAt: start });
    h.clock.increment(LEASE / 2 - 1);
    expect(h.actor.getSnapshot().value).toBe('serving');
    h.clock.increment(1);
    expect(h.actor.getSnapshot().value).toBe('suspect');
    expect(h.calls.heartbeats).toBe(1);
    h.clock.increment(LEASE / 2 - 1);
    expect(h.actor.getSnapshot().value).toBe('suspect');
    expect(h.calls.lost).toEqual([]);
    h.clock.increment(1);
    // the lease ended LEASE ms after the join was sent: nodeTtl less the drift bound
    expect(h.clock.now() - start).toBe(LEASE);
    expect(LEASE).toBeLessThan(NODE_TTL);
    expect(h.actor.getSnapshot().value).toBe('rejoining');
    expect(h.calls.lost).toEqual(['lease-lost']);
    expect(h.calls.reports.map((r) => r.type)).toEqual(['joined', 'lease-lost']);
    // heartbeat, sweep and reap each learn of the fencing: still one rejoin
    for (let i = 0; i < 3; i++) h.actor.send({ type: 'heartbeat.fenced', incarnation: 1 });
    h.clock.increment(10 * NODE_TTL);
    expect(h.calls.joins).toEqual(['start', 'lease-lost']);
    h.actor.send({ type: 'joined', incarnation: 2, sentAt: h.clock.now(), ended: null });
    expect(h.actor.getSnapshot().value).toBe('serving');
    expect(h.calls.reports.map((r) => r.type)).toEqual(['joined', 'lease-lost', 'fenced', 'joined']);
  });

  it('should extend the lease from when an acknowledged heartbeat was sent, not when its reply came', () => {
    const h = harness();
    const start = h.clock.now();
    h.actor.send({ type: 'joined', incarnation: 1, sentAt: start });
    h.clock.increment(LEASE / 2);
    expect(h.actor.getSnapshot().value).toBe('suspect');
    // a heartbeat sent at +100, acknowledged only now (+LEASE/2)
    h.actor.send({ type: 'heartbeat.ok', incarnation: 1, sentAt: start + 100 });
    expect(h.actor.getSnapshot().value).toBe('serving');
    h.clock.increment(100 - 1);
    expect(h.actor.getSnapshot().value).toBe('serving');
    h.clock.increment(1);
    expect(h.actor.getSnapshot().value).toBe('suspect');
    h.clock.increment(LEASE / 2 - 1);
    expect(h.actor.getSnapshot().value).toBe('suspect');
    h.clock.increment(1);
    expect(h.clock.now() - (start + 100)).toBe(LEASE);
    expect(h.actor.getSnapshot().value).toBe('rejoining');
    // a late acknowledgement of the ended incarnation changes nothing
    h.actor.send({ type: 'heartbeat.ok', incarnation: 1, sentAt: h.clock.now() });
    expect(h.actor.getSnapshot().value).toBe('rejoining');
  });

  it('should ignore a late fencing of an ended incarnation once joined again', () => {
    const h = harness();
    h.actor.send({ type: 'joined', incarnation: 1, sentAt: h.clock.now() });
    h.actor.send({ type: 'heartbeat.fenced', incarnation: 1 });
    h.actor.send({ type: 'joined', incarnation: 2, sentAt: h.clock.now(), ended: null });
    h.actor.send({ type: 'heartbeat.fenced', incarnation: 1 });
    h.actor.send({ type: 'reset', incarnation: 1 });
    expect(h.actor.getSnapshot().value).toBe('serving');
    expect(h.calls.joins).toEqual(['start', 'fenced']);
    expect(h.actor.getSnapshot().context.lossEpoch).toBe(1);
  });
});
