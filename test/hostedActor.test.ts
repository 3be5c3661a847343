import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { realClock } from '../src/core/clock.js';
import { hostedActorsFit, sharedEmpties } from '../src/core/hostedActor.js';
import { internalsOf } from '../src/core/internals.js';
import type { LifecycleEvent } from '../src/core/types.js';
import { createSupervisorOn, type Supervisor } from '../src/createSupervisor.js';
import { clientMachine } from '../src/machines/client.machine.js';

// Client actors share the per-actor objects XState makes and a client leaves empty (issue 21,
// src/core/hostedActor.ts). That reaches into XState's internals: these tests fail if the
// installed XState no longer has them as the host expects, and check that a hosted actor behaves
// as a plain one for everything a user can reach (`actorOf(clientId)`).

const open: Supervisor[] = [];
afterEach(async () => {
  for (const supervisor of open.splice(0)) await supervisor.close();
});

function supervisorWith(hostedActors?: boolean) {
  const supervisor = createSupervisorOn(
    { pruneInterval: 0, passivateAfter: false },
    realClock,
    hostedActors === undefined ? {} : { hostedActors },
  );
  open.push(supervisor);
  const events: LifecycleEvent[] = [];
  supervisor.events$.subscribe((event) => events.push(event));
  return { supervisor, events };
}

type Internals = {
  observers: Set<unknown>;
  eventListeners: Map<string, Set<unknown>>;
  _deferred: unknown[];
  mailbox: { _process: unknown };
  _actorScope: { self: unknown; defer: unknown; emit: unknown; stopChild: unknown; actionExecutor: unknown };
  _snapshot: { _nodes: unknown[]; tags: Set<string>; children: object; historyValue: object };
};
const internals = (actor: unknown) => actor as Internals;

/** Nothing was ever written to the objects hosted actors share (each throws on a write, too). */
function expectSharedEmpty(): void {
  expect(sharedEmpties.observers.size).toBe(0);
  expect(sharedEmpties.listeners.size).toBe(0);
  expect(sharedEmpties.tags.size).toBe(0);
  expect(sharedEmpties.deferred.length).toBe(0);
}

describe('the XState internals a hosted client actor relies on', () => {
  it('should be there in the installed XState, as 5.x has them', () => {
    const actor = internals(
      createActor(clientMachine, {
        input: { clientId: 'c', tabId: null, createdAt: 0, handshakeTimeout: 1, reconnectTimeout: 1 },
      }),
    );
    expect(actor.observers).toBeInstanceOf(Set);
    expect(actor.eventListeners).toBeInstanceOf(Map);
    expect(Array.isArray(actor._deferred)).toBe(true);
    expect(typeof actor.mailbox._process).toBe('function');
    expect(actor._actorScope.self).toBe(actor);
    for (const name of ['defer', 'emit', 'stopChild'] as const) expect(typeof actor._actorScope[name]).toBe('function');
    const snapshot = actor._snapshot;
    expect(Array.isArray(snapshot._nodes)).toBe(true);
    expect(snapshot.tags).toBeInstanceOf(Set);
    expect(typeof snapshot.children).toBe('object');
    expect(typeof snapshot.historyValue).toBe('object');
    expect(hostedActorsFit(), 'the host would fall back to plain actors').toBe(true);
  });

  it('should refuse a write to an object the client actors share, and be what it claims to be', () => {
    expect(() => sharedEmpties.observers.add(1)).toThrow(TypeError);
    expect(() => sharedEmpties.listeners.set('*', new Set())).toThrow(TypeError);
    expect(() => sharedEmpties.tags.add('tag')).toThrow(TypeError);
    expect(() => sharedEmpties.deferred.push(() => {})).toThrow(TypeError);
    expect(() => Array.prototype.push.call(sharedEmpties.deferred, () => {})).toThrow(TypeError);
    expect(sharedEmpties.deferred.shift()).toBeUndefined();
    // plain instances (an inspector walking prototypes meets no subclass that claims to be a Set)
    expect(Object.getPrototypeOf(sharedEmpties.observers)).toBe(Set.prototype);
    expect(Object.getPrototypeOf(sharedEmpties.listeners)).toBe(Map.prototype);
    expect([...sharedEmpties.tags]).toEqual([]);
    expectSharedEmpty();
  });

  it('should share the empty per-actor objects between client actors', () => {
    const { supervisor } = supervisorWith();
    const ids = [supervisor.register().clientId, supervisor.register().clientId];
    for (const [i, clientId] of ids.entries()) {
      supervisor.actor.send({ type: 'socket.handshake', clientId, socketId: `s${i}` });
    }
    const [a, b] = ids.map((clientId) => internals(internalsOf(supervisor).store.get(clientId)!.actor));
    expect(a).not.toBe(b);
    expect(a!.observers).toBe(b!.observers);
    expect(a!.eventListeners).toBe(b!.eventListeners);
    expect(a!._actorScope.emit).toBe(b!._actorScope.emit);
    expect(a!._actorScope.defer).toBe(b!._actorScope.defer);
    expect(a!._deferred).toBe(b!._deferred);
    expect(a!.mailbox).not.toBe(b!.mailbox);
    expect(a!.mailbox._process).toBe(b!.mailbox._process);
    expect(a!._snapshot.tags).toBe(b!._snapshot.tags);
    expect(a!._snapshot._nodes).toBe(b!._snapshot._nodes);
    expect(a!._snapshot.children).toBe(b!._snapshot.children);
    expect(a!._snapshot.historyValue).toBe(b!._snapshot.historyValue);
    expect(supervisor.get(ids[0]!)?.state).toBe('connected');
  });

  it("should keep XState's own snapshot objects while an inspect observer may copy them by spreading", () => {
    const inspected = createSupervisorOn({ pruneInterval: 0, inspect: () => {} }, realClock);
    const plain = supervisorWith().supervisor;
    open.push(inspected);
    for (const supervisor of [inspected, plain]) {
      const { clientId } = supervisor.register();
      supervisor.actor.send({ type: 'socket.handshake', clientId, socketId: 's0' });
      const snapshot = supervisor.actorOf(clientId)!.getSnapshot();
      // @statelyai/inspect's sanitizeContext: `{ ...snapshot, context }`, then serialized through toJSON
      const spread = { ...snapshot } as Record<string, unknown>;
      if (supervisor === inspected) {
        expect(Object.keys(snapshot)).toContain('toJSON');
        expect(JSON.parse(JSON.stringify(spread))).not.toHaveProperty('machine');
      } else {
        // without one, the methods are on the snapshot's prototype: a spread copy has none
        expect(Object.keys(snapshot)).not.toContain('toJSON');
        expect(typeof snapshot.toJSON).toBe('function');
        expect(spread.toJSON).toBeUndefined();
      }
      // either way the snapshot's empties are the shared ones
      expect(internals(supervisor.actorOf(clientId))._snapshot.tags).toBe(sharedEmpties.tags);
      expect(JSON.parse(JSON.stringify(snapshot))).toMatchObject({ status: 'active', value: 'connected', tags: [] });
    }
  });

  it("should re-create a passivated client's actor from the snapshot XState's restore makes, without that restore", async () => {
    const supervisor = createSupervisorOn({ pruneInterval: 0, passivateAfter: 0 }, realClock);
    open.push(supervisor);
    const { store } = internalsOf(supervisor);
    // passivateAfter 0: every client is passivated once the work of its event is done
    const passivated = async (clientId: string) => {
      await new Promise((resolve) => setImmediate(resolve));
      expect(store.get(clientId)?.actor).toBeNull();
    };
    const first = supervisor.register().clientId;
    const second = supervisor.register().clientId;
    // the first client takes each state once, through XState's restore
    supervisor.send({ type: 'socket.handshake', clientId: first, socketId: 's0' });
    await passivated(first);
    supervisor.send({ type: 'socket.disconnect', clientId: first, socketId: 's0', reason: 'transport close' });
    await passivated(first);
    await passivated(second);
    const restore = vi.spyOn(clientMachine, 'restoreSnapshot');
    try {
      // the second client's actor, re-created in states a client has been in, needs no restore
      supervisor.send({ type: 'socket.handshake', clientId: second, socketId: 's1' });
      await passivated(second);
      supervisor.send({ type: 'socket.disconnect', clientId: second, socketId: 's1', reason: 'transport close' });
      await passivated(second);
      const actor = supervisor.actorOf(second)!;
      expect(restore).not.toHaveBeenCalled();
      // and starts from what XState's restore makes of its persisted snapshot
      const byXState = createActor(clientMachine, {
        snapshot: actor.getPersistedSnapshot(),
        input: undefined as never,
      }).getSnapshot();
      expect(restore).toHaveBeenCalledTimes(1);
      const snapshot = actor.getSnapshot();
      expect(snapshot.value).toBe('disconnected');
      expect(snapshot.context).toEqual(byXState.context);
      expect([snapshot.status, snapshot.output, snapshot.error]).toEqual([byXState.status, undefined, undefined]);
      expect([...internals(actor)._snapshot._nodes]).toEqual([
        ...(byXState as unknown as { _nodes: unknown[] })._nodes,
      ]);
      expect(snapshot.matches('disconnected')).toBe(true);
      expect(snapshot.can({ type: 'socket.handshake', socketId: 's2', at: Date.now() })).toBe(true);
      expect(snapshot.toJSON()).toEqual(byXState.toJSON());
      // and decides its next event as any other
      supervisor.send({ type: 'socket.handshake', clientId: second, socketId: 's2' });
      expect(supervisor.get(second)).toMatchObject({ state: 'connected', socketId: 's2' });
    } finally {
      restore.mockRestore();
    }
  });

  it('should not share them with the fallback (plain XState actors)', () => {
    const { supervisor } = supervisorWith(false);
    const ids = [supervisor.register().clientId, supervisor.register().clientId];
    const [a, b] = ids.map((clientId) => internals(internalsOf(supervisor).store.get(clientId)!.actor));
    expect(a!.observers).not.toBe(b!.observers);
    expect(a!._actorScope.emit).not.toBe(b!._actorScope.emit);
    expect(a!.mailbox._process).not.toBe(b!.mailbox._process);
  });
});

describe.each([
  ['hosted client actors', undefined],
  ['plain client actors (the fallback)', false],
] as const)('%s', (_name, hostedActors) => {
  it("should hand actorOf()'s listeners and observers what a plain actor does, in XState's order", () => {
    const { supervisor, events } = supervisorWith(hostedActors);
    const { clientId } = supervisor.register();
    const actor = supervisor.actorOf(clientId)!;
    const order: string[] = [];
    const typed = actor.on('connected', (event) => order.push(`on(connected):${event.type}`));
    const wildcard = actor.on('*', (event) => order.push(`on(*):${event.type}`));
    const states: string[] = [];
    const subscription = actor.subscribe((snapshot) => states.push(String(snapshot.value)));
    supervisor.events$.subscribe((event) => {
      if (event.type === 'connected') order.push('events$:connected');
    });
    supervisor.actor.send({ type: 'socket.handshake', clientId, socketId: 's0' });
    supervisor.actor.send({ type: 'socket.handshake', clientId, socketId: 's0' });
    // the type's listeners, then the supervisor's relay (what was the first '*' listener), then the others
    expect(order).toEqual(['on(connected):connected', 'events$:connected', 'on(*):connected', 'on(*):ignored']);
    expect(states).toEqual(['connected', 'connected']);
    typed.unsubscribe();
    wildcard.unsubscribe();
    subscription.unsubscribe();
    supervisor.actor.send({ type: 'socket.disconnect', clientId, socketId: 's0', reason: 'transport close' });
    expect(order).toHaveLength(4);
    expect(states).toHaveLength(2);
    expect(events.map((event) => event.type)).toEqual(['registered', 'connected', 'ignored', 'disconnected']);
    expect(supervisor.get(clientId)?.state).toBe('disconnected');
    // the snapshot a user reads: its methods, its JSON and its persisted form
    const snapshot = actor.getSnapshot();
    expect(snapshot.matches('disconnected')).toBe(true);
    expect(snapshot.hasTag('any')).toBe(false);
    expect(snapshot.can({ type: 'client.delete', reason: 'kicked', at: 0 })).toBe(true);
    expect(snapshot.context.socketId).toBeNull();
    expect(JSON.parse(JSON.stringify(snapshot))).toMatchObject({
      status: 'active',
      value: 'disconnected',
      tags: [],
      children: {},
      historyValue: {},
      context: { clientId, socketId: null },
    });
    const persisted = actor.getPersistedSnapshot() as Record<string, unknown>;
    expect(Object.keys(persisted).sort()).toEqual([
      'children',
      'context',
      'error',
      'historyValue',
      'output',
      'status',
      'value',
    ]);
    expect(persisted).toMatchObject({ status: 'active', value: 'disconnected', children: {}, historyValue: {} });
    expectSharedEmpty();
  });

  it('should decide a whole lifecycle as the plain actors do', async () => {
    const { supervisor, events } = supervisorWith(hostedActors);
    const { clientId } = supervisor.register();
    const send = supervisor.actor.send;
    send({ type: 'socket.disconnect', clientId, socketId: 's0', reason: 'transport close' });
    send({ type: 'socket.handshake', clientId, socketId: 's0' });
    send({ type: 'socket.handshake', clientId, socketId: 's0' });
    send({ type: 'socket.handshake', clientId, socketId: 's1' });
    send({ type: 'socket.disconnect', clientId, socketId: 's0', reason: 'transport close' });
    send({ type: 'client.prune' });
    send({ type: 'socket.disconnect', clientId, socketId: 's1', reason: 'transport close' });
    send({ type: 'socket.handshake', clientId, socketId: 's2' });
    expect(supervisor.delete(clientId, 'kicked')).toBe(true);
    expect(supervisor.delete(clientId, 'kicked')).toBe(false);
    const seen = events.map((event) => (event.type === 'ignored' ? `ignored:${event.why}` : event.type));
    expect(seen).toEqual([
      'registered',
      'ignored:not-connected',
      'connected',
      'ignored:replay',
      'socket-replaced',
      'ignored:stale-socket',
      'disconnected',
      'reconnected',
      'deleted',
      'ignored:already-deleted',
    ]);
    expect(supervisor.get(clientId)).toBeUndefined();
    expect(supervisor.actor.system.get(clientId)).toBeUndefined();
    expectSharedEmpty();
  });
});
