import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { internalsOf } from '../src/core/internals.js';
import { createSaturationProbe, HEAP_PRESSURE } from '../src/core/loopLoad.js';
import type { SupervisorOptions } from '../src/core/options.js';
import type { SupervisorEvent } from '../src/core/types.js';
import { recordedSupervisor, settle, useFakeClock } from './helpers/supervisor.js';

// Virtual client actors: a client idle for `passivateAfter` is kept as its record's snapshot and
// its actor is re-created for its next event. Every cell of the DESIGN table must be decided by
// the machine exactly as for a client whose actor never stopped.

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

const H = 1000; // handshakeTimeout
const R = 300; // reconnectTimeout

function passivated(options: SupervisorOptions = {}) {
  const t = recordedSupervisor({ handshakeTimeout: H, reconnectTimeout: R, passivateAfter: 0, ...options });
  const { host, store } = internalsOf(t.supervisor);
  return {
    ...t,
    host,
    store,
    /** Whether the client currently has a live actor. */
    active: (clientId: string) => store.get(clientId)?.actor != null,
  };
}

type Setup = 'handshaking' | 'connected' | 'disconnected';

/** A client driven to `state` (on socket s0 if connected) and then passivated. */
async function clientIn(t: ReturnType<typeof passivated>, state: Setup): Promise<string> {
  const { clientId } = t.supervisor.register();
  if (state !== 'handshaking') t.handshake(clientId, 's0');
  if (state === 'disconnected') t.disconnect(clientId, 's0');
  await settle();
  expect(t.active(clientId), 'passivated before the event').toBe(false);
  expect(t.supervisor.actor.system.get(clientId), 'not registered in the actor system').toBeUndefined();
  t.events.length = 0;
  t.calls.length = 0;
  return clientId;
}

interface Cell {
  state: Setup;
  name: string;
  event: (clientId: string) => SupervisorEvent | 'timer';
  /** The resulting state, the lifecycle events about the client, and the hooks that ran. */
  expected: { state: string; events: string[]; hooks: string[] };
}

const at = () => Date.now();
const CELLS: Cell[] = [
  // handshaking
  {
    state: 'handshaking',
    name: 'handshake → connected, onConnect',
    event: (clientId) => ({ type: 'socket.handshake', clientId, socketId: 's1' }),
    expected: { state: 'connected', events: ['connected'], hooks: ['onConnect:false'] },
  },
  {
    state: 'handshaking',
    name: 'disconnect → ignored not-connected',
    event: (clientId) => ({ type: 'socket.disconnect', clientId, socketId: 's1', reason: 'transport close' }),
    expected: { state: 'handshaking', events: ['ignored:not-connected'], hooks: [] },
  },
  {
    state: 'handshaking',
    name: 'prune before the deadline → ignored not-due',
    event: (clientId) => ({ type: 'client.prune', clientId, now: at() + H - 1 }),
    expected: { state: 'handshaking', events: ['ignored:not-due'], hooks: [] },
  },
  {
    state: 'handshaking',
    name: 'prune at the deadline → deleted pruned',
    event: (clientId) => ({ type: 'client.prune', clientId, now: at() + H }),
    expected: { state: 'deleted', events: ['deleted:pruned'], hooks: ['onDelete:pruned'] },
  },
  {
    state: 'handshaking',
    name: 'delete → deleted',
    event: (clientId) => ({ type: 'client.delete', clientId, reason: 'kicked' }),
    expected: { state: 'deleted', events: ['deleted:kicked'], hooks: ['onDelete:kicked'] },
  },
  {
    state: 'handshaking',
    name: 'timer → deleted handshake-timeout',
    event: () => 'timer',
    expected: { state: 'deleted', events: ['deleted:handshake-timeout'], hooks: ['onDelete:handshake-timeout'] },
  },
  // connected on s0
  {
    state: 'connected',
    name: 'handshake on s0 → ignored replay',
    event: (clientId) => ({ type: 'socket.handshake', clientId, socketId: 's0' }),
    expected: { state: 'connected', events: ['ignored:replay'], hooks: [] },
  },
  {
    state: 'connected',
    name: 'handshake on s1 → socket swap, no hooks',
    event: (clientId) => ({ type: 'socket.handshake', clientId, socketId: 's1' }),
    expected: { state: 'connected', events: ['socket-replaced'], hooks: [] },
  },
  {
    state: 'connected',
    name: 'disconnect of s0 → disconnected, onDisconnect',
    event: (clientId) => ({ type: 'socket.disconnect', clientId, socketId: 's0', reason: 'ping timeout' }),
    expected: { state: 'disconnected', events: ['disconnected'], hooks: ['onDisconnect:ping timeout'] },
  },
  {
    state: 'connected',
    name: 'disconnect of a stale socket → ignored stale-socket',
    event: (clientId) => ({ type: 'socket.disconnect', clientId, socketId: 'old', reason: 'transport close' }),
    expected: { state: 'connected', events: ['ignored:stale-socket'], hooks: [] },
  },
  {
    state: 'connected',
    name: 'prune → ignored not-due',
    event: (clientId) => ({ type: 'client.prune', clientId, now: at() + 10 * H }),
    expected: { state: 'connected', events: ['ignored:not-due'], hooks: [] },
  },
  {
    state: 'connected',
    name: 'delete → deleted, onDelete only',
    event: (clientId) => ({ type: 'client.delete', clientId }),
    expected: { state: 'deleted', events: ['deleted:manual'], hooks: ['onDelete:manual'] },
  },
  // disconnected
  {
    state: 'disconnected',
    name: 'handshake → connected again, onConnect reconnect',
    event: (clientId) => ({ type: 'socket.handshake', clientId, socketId: 's1' }),
    expected: { state: 'connected', events: ['reconnected'], hooks: ['onConnect:true'] },
  },
  {
    state: 'disconnected',
    name: 'a second disconnect → ignored not-connected',
    event: (clientId) => ({ type: 'socket.disconnect', clientId, socketId: 's0', reason: 'transport close' }),
    expected: { state: 'disconnected', events: ['ignored:not-connected'], hooks: [] },
  },
  {
    state: 'disconnected',
    name: 'a late prune before the deadline → ignored not-due',
    event: (clientId) => ({ type: 'client.prune', clientId, now: at() + R - 1 }),
    expected: { state: 'disconnected', events: ['ignored:not-due'], hooks: [] },
  },
  {
    state: 'disconnected',
    name: 'prune at the deadline → deleted pruned',
    event: (clientId) => ({ type: 'client.prune', clientId, now: at() + R }),
    expected: { state: 'deleted', events: ['deleted:pruned'], hooks: ['onDelete:pruned'] },
  },
  {
    state: 'disconnected',
    name: 'delete → deleted',
    event: (clientId) => ({ type: 'client.delete', clientId }),
    expected: { state: 'deleted', events: ['deleted:manual'], hooks: ['onDelete:manual'] },
  },
  {
    state: 'disconnected',
    name: 'timer → deleted reconnect-timeout',
    event: () => 'timer',
    expected: { state: 'deleted', events: ['deleted:reconnect-timeout'], hooks: ['onDelete:reconnect-timeout'] },
  },
];

function label(event: (typeof recordedSupervisor extends (...a: never[]) => infer T ? T : never)['events'][number]) {
  if (event.type === 'ignored') return `ignored:${event.why}`;
  if (event.type === 'deleted') return `deleted:${event.reason}`;
  return event.type;
}

describe('a passivated client', () => {
  for (const direct of [true, false]) {
    describe(
      direct ? 'events straight to the client (supervisor.send)' : 'events through the supervisor (actor.send)',
      () => {
        for (const cell of CELLS) {
          it(`should decide ${cell.state}: ${cell.name}, as the machine does`, async () => {
            const t = passivated();
            const clientId = await clientIn(t, cell.state);
            const event = cell.event(clientId);
            if (event === 'timer') vi.advanceTimersByTime(cell.state === 'handshaking' ? H : R);
            else if (direct) t.supervisor.send(event);
            else t.supervisor.actor.send(event);
            // the actor was re-created for the event (and is still there until the work is done)
            if (cell.expected.state !== 'deleted') expect(t.active(clientId)).toBe(true);
            await settle();
            expect(t.supervisor.get(clientId)?.state ?? 'deleted').toBe(cell.expected.state);
            expect(t.events.filter((e) => e.clientId === clientId).map(label)).toEqual(cell.expected.events);
            expect(t.calls.map((call) => `${call.hook}:${String(call.arg)}`)).toEqual(cell.expected.hooks);
            // and passivated again once idle
            expect(t.host.activeCount()).toBe(0);
            await t.supervisor.close();
          });
        }
      },
    );
  }

  it('should ignore a second disconnect, a late prune, a stale socket and a repeated delete, each with its why, and run onDelete once', async () => {
    const t = passivated();
    const clientId = await clientIn(t, 'connected');
    t.handshake(clientId, 's1'); // swap: s0 is stale from here
    await settle();
    t.disconnect(clientId, 's0'); // the stale socket's disconnect
    await settle();
    t.disconnect(clientId, 's1');
    await settle();
    t.disconnect(clientId, 's1'); // a second disconnect
    await settle();
    t.supervisor.send({ type: 'client.prune', clientId, now: Date.now() + R - 1 }); // a late prune, not due
    await settle();
    expect(t.supervisor.delete(clientId, 'kicked')).toBe(true);
    await settle();
    expect(t.supervisor.delete(clientId, 'kicked')).toBe(false); // a repeated delete
    await settle();
    vi.advanceTimersByTime(2 * R); // the grace period's timer: already consumed
    await settle();
    expect(t.events.filter((e) => e.clientId === clientId).map(label)).toEqual([
      'socket-replaced',
      'ignored:stale-socket',
      'disconnected',
      'ignored:not-connected',
      'ignored:not-due',
      'deleted:kicked',
      'ignored:already-deleted',
    ]);
    expect(t.deletes(clientId)).toHaveLength(1);
    await t.supervisor.close();
    expect(t.deletes(clientId)).toHaveLength(1);
  });

  it('should be re-created by actorOf(), visible to system.get(), and passivated again once idle', async () => {
    const t = passivated({ passivateAfter: 1000 });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's0');
    vi.advanceTimersByTime(1000);
    expect(t.active(clientId)).toBe(false);
    const actor = t.supervisor.actorOf(clientId)!;
    expect(actor.getSnapshot().value).toBe('connected');
    expect(actor.getSnapshot().context.socketId).toBe('s0');
    expect(t.supervisor.actor.system.get(clientId)).toBe(actor);
    // the returned actor is the client: an event sent to it is decided and booked as usual
    actor.send({ type: 'socket.disconnect', socketId: 's0', reason: 'transport close', at: Date.now() });
    expect(t.supervisor.get(clientId)?.state).toBe('disconnected');
    vi.advanceTimersByTime(299);
    expect(t.active(clientId)).toBe(true);
    expect(t.supervisor.actorOf('unknown-id')).toBeUndefined();
    await t.supervisor.close();
  });

  it('should passivate a client only after passivateAfter without events', async () => {
    const t = passivated({ passivateAfter: 1000, handshakeTimeout: 60_000 });
    const { clientId } = t.supervisor.register();
    vi.advanceTimersByTime(600);
    t.handshake(clientId, 's0'); // an event restarts the idle time
    vi.advanceTimersByTime(999);
    expect(t.active(clientId)).toBe(true);
    vi.advanceTimersByTime(1);
    expect(t.active(clientId)).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    await t.supervisor.close();
  });

  it('should never passivate with passivateAfter: false, or while an inspect observer is set', async () => {
    for (const options of [{ passivateAfter: false as const }, { inspect: () => {} }]) {
      const t = passivated(options);
      const ids = [0, 1, 2].map(() => t.supervisor.register().clientId);
      t.handshake(ids[0]!, 's0');
      await settle();
      vi.advanceTimersByTime(500);
      expect(ids.map((id) => t.active(id))).toEqual([true, true, true]);
      await t.supervisor.close();
    }
  });

  it('should keep nothing of a passivated client in the actor system, and a deleted one nowhere', async () => {
    const t = passivated();
    const ids = Array.from({ length: 50 }, () => t.supervisor.register().clientId);
    for (const [i, id] of ids.entries()) t.handshake(id, `s${i}`);
    await settle();
    expect(Object.keys(t.supervisor.actor.system.getAll())).toEqual([]);
    expect(t.supervisor.list()).toHaveLength(50);
    for (const id of ids) t.supervisor.delete(id);
    await settle();
    expect(t.store.size).toBe(0);
    expect(Object.keys(t.supervisor.actor.system.getAll())).toEqual([]);
    await t.supervisor.close();
  });
});

// The policy for passivateAfter > 0: never passivate what a burst is about to use, settle to
// snapshots once quiet (issue 21).
describe('the passivation policy', () => {
  it('should passivate nothing while events keep arriving below passivateAbove, and every idle actor once quiet', async () => {
    const t = passivated({ passivateAfter: 1000, handshakeTimeout: 60_000 });
    const ids = Array.from({ length: 20 }, () => t.supervisor.register().clientId);
    // a burst slower than passivateAfter: one handshake every 100 ms for 2 s
    for (const [i, id] of ids.entries()) {
      t.handshake(id, `s${i}`);
      vi.advanceTimersByTime(100);
    }
    expect(t.host.activeCount()).toBe(20);
    vi.advanceTimersByTime(899); // 999 ms since the last event
    expect(t.host.activeCount()).toBe(20);
    vi.advanceTimersByTime(1);
    expect(t.host.activeCount()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await t.supervisor.close();
  });

  it('should count deletes as events: a burst of deletes passivates none of the clients still to be deleted', async () => {
    const t = passivated({ passivateAfter: 1000, handshakeTimeout: 60_000 });
    const ids = Array.from({ length: 20 }, () => t.supervisor.register().clientId);
    for (const [i, id] of ids.entries()) t.handshake(id, `s${i}`);
    // one delete every 100 ms for 1.5 s: never quiet for passivateAfter
    for (const id of ids.slice(0, 15)) {
      vi.advanceTimersByTime(100);
      t.supervisor.delete(id);
    }
    expect(ids.slice(15).map(t.active)).toEqual([true, true, true, true, true]);
    vi.advanceTimersByTime(1000);
    expect(t.host.activeCount()).toBe(0);
    await t.supervisor.close();
  });

  it('should passivate the longest idle first, down to passivateAbove, while events keep arriving', async () => {
    const t = passivated({ passivateAfter: 1000, passivateAbove: 2, handshakeTimeout: 60_000 });
    const ids = Array.from({ length: 5 }, () => t.supervisor.register().clientId);
    for (const [i, id] of ids.entries()) t.handshake(id, `s${i}`);
    const busy = t.supervisor.register().clientId; // registered last: idle the shortest
    t.handshake(busy, 'b0');
    // events keep arriving (replays of the busy client's handshake), every 400 ms
    for (let i = 0; i < 3; i += 1) {
      vi.advanceTimersByTime(400);
      t.handshake(busy, 'b0');
    }
    // at 1,000 ms the five became eligible: six live, cap 2, the four idle the longest go
    expect(ids.map(t.active)).toEqual([false, false, false, false, true]);
    expect(t.active(busy)).toBe(true);
    vi.advanceTimersByTime(1000 + 1000); // quiet: the rest settles
    expect(t.host.activeCount()).toBe(0);
    await t.supervisor.close();
  });

  it('should keep a client waiting for a socket (handshaking, disconnected) live for twice passivateAfter', async () => {
    const t = passivated({
      passivateAfter: 1000,
      passivateAbove: 0,
      reconnectTimeout: 10_000,
      handshakeTimeout: 60_000,
    });
    const waiting = t.supervisor.register().clientId; // handshaking: its page's socket is on its way
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's0');
    t.disconnect(clientId, 's0');
    vi.advanceTimersByTime(1999);
    expect([t.active(waiting), t.active(clientId)]).toEqual([true, true]);
    vi.advanceTimersByTime(1);
    expect([t.active(waiting), t.active(clientId)]).toEqual([false, false]);
    await t.supervisor.close();
  });

  it('should passivate nothing above passivateAbove while the event loop is saturated, and look again every second', async () => {
    // fake timers replace `performance`: give the fake one a saturated event loop
    let utilization = 1;
    const fake = globalThis.performance as { eventLoopUtilization?: unknown };
    fake.eventLoopUtilization = () => ({ idle: 0, active: 0, utilization });
    const t = passivated({ passivateAfter: 1000, passivateAbove: 0, handshakeTimeout: 60_000 });
    const ids = Array.from({ length: 3 }, () => t.supervisor.register().clientId);
    for (const [i, id] of ids.entries()) t.handshake(id, `s${i}`);
    const busy = t.supervisor.register().clientId;
    t.handshake(busy, 'b0');
    // events keep arriving every 400 ms: never quiet, and over the cap once the three are eligible
    const keepBusy = (ms: number) => {
      for (let waited = 0; waited < ms; waited += 400) {
        vi.advanceTimersByTime(400);
        t.handshake(busy, 'b0');
      }
    };
    keepBusy(2000);
    expect(ids.map(t.active)).toEqual([true, true, true]);
    utilization = 0.5; // the burst is over, events still arrive
    keepBusy(1200);
    expect(ids.map(t.active)).toEqual([false, false, false]);
    await t.supervisor.close();
  });

  it('should refuse a passivateAbove that is not a whole number >= 0', () => {
    for (const passivateAbove of [-1, 1.5, Number.NaN, '10' as unknown as number]) {
      expect(() => recordedSupervisor({ passivateAbove })).toThrow(/passivateAbove/);
    }
  });
});

describe('the saturation probe', () => {
  beforeEach(() => vi.useRealTimers());

  /** Keeps the loop running (no I/O wait) for `ms` of wall time. */
  const spin = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until) {}
  };

  it('should call a loop that only ran saturated, and let memory win once half the heap limit is used', () => {
    let heapInUse = 0.1;
    const saturated = createSaturationProbe(() => heapInUse);
    saturated(); // the first look opens the window
    spin(50);
    expect(saturated()).toBe(true);
    heapInUse = HEAP_PRESSURE;
    spin(50);
    expect(saturated()).toBe(false);
  });

  it('should not call a loop saturated that waited for I/O most of the window', async () => {
    const saturated = createSaturationProbe(() => 0);
    saturated();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(saturated()).toBe(false);
  });
});
