import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { internalsOf } from '../src/core/internals.js';
import { recordedSupervisor, settle, useFakeClock } from './helpers/supervisor.js';

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

describe('supervisor routing', () => {
  it('should route socket events by clientId to that client only', () => {
    const t = recordedSupervisor();
    const a = t.supervisor.register().clientId;
    const b = t.supervisor.register().clientId;
    t.handshake(a, 'sa');
    expect(t.supervisor.get(a)?.state).toBe('connected');
    expect(t.supervisor.get(b)?.state).toBe('handshaking');
    expect(t.supervisor.get(a)?.socketId).toBe('sa');
  });

  it('should stamp routed events with now()', () => {
    let clock = 500;
    const t = recordedSupervisor({ now: () => clock });
    const { clientId } = t.supervisor.register();
    clock = 742;
    t.handshake(clientId, 's');
    expect(t.supervisor.get(clientId)).toMatchObject({ createdAt: 500, connectedAt: 742 });
    expect(t.events.find((event) => event.type === 'connected')?.at).toBe(742);
  });

  it('should report events for an unknown id as ignored unknown-client', () => {
    const t = recordedSupervisor();
    t.handshake('nobody', 's');
    t.disconnect('nobody', 's');
    t.remove('nobody');
    expect(t.ignored()).toEqual(['unknown-client', 'unknown-client', 'unknown-client']);
    expect(t.events.at(-1)).toMatchObject({ type: 'ignored', clientId: 'nobody', event: 'client.delete', state: null });
    expect(t.supervisor.stats().ignored['unknown-client']).toBe(3);
  });

  it('should forget a deleted client and report its late events as already-deleted', () => {
    const t = recordedSupervisor();
    const { clientId } = t.supervisor.register();
    t.remove(clientId);
    expect(t.supervisor.get(clientId)).toBeUndefined();
    expect(t.supervisor.list()).toEqual([]);
    t.handshake(clientId, 's');
    t.disconnect(clientId, 's');
    t.remove(clientId);
    expect(t.ignored()).toEqual(['already-deleted', 'already-deleted', 'already-deleted']);
    expect(internalsOf(t.supervisor).store.size).toBe(0);
  });

  it('should stop the client actor and unregister it from the actor system', () => {
    const t = recordedSupervisor();
    const { clientId } = t.supervisor.register();
    const actor = t.supervisor.actor.system.get(clientId);
    expect(actor?.getSnapshot().status).toBe('active');
    t.remove(clientId);
    expect(actor?.getSnapshot().status).toBe('done');
    expect(t.supervisor.actor.system.get(clientId)).toBeUndefined();
  });

  it('should keep client actors out of the supervisor snapshot children', () => {
    const t = recordedSupervisor();
    for (let i = 0; i < 5; i += 1) t.supervisor.register();
    // only the two timer actors: clients are not copied on every spawn and stop
    expect(Object.keys(t.supervisor.actor.getSnapshot().children).sort()).toEqual(['hostTimer', 'pruneTicker']);
  });

  it('should expire tombstones lazily on lookup, after tombstoneTtl', () => {
    const t = recordedSupervisor({ tombstoneTtl: 1000 });
    const { clientId } = t.supervisor.register();
    t.remove(clientId);
    const timersAfterDelete = vi.getTimerCount();
    vi.advanceTimersByTime(999);
    t.handshake(clientId, 's');
    vi.advanceTimersByTime(1);
    t.handshake(clientId, 's');
    expect(t.ignored()).toEqual(['already-deleted', 'unknown-client']);
    // a tombstone never has a timer of its own
    expect(timersAfterDelete).toBe(vi.getTimerCount());
  });

  it('should drop expired tombstones on each prune sweep', () => {
    const t = recordedSupervisor({ tombstoneTtl: 100 });
    for (let i = 0; i < 10; i += 1) t.remove(t.supervisor.register().clientId);
    expect(internalsOf(t.supervisor).store.tombstoneCount).toBe(10);
    vi.advanceTimersByTime(100);
    t.sweep();
    expect(internalsOf(t.supervisor).store.tombstoneCount).toBe(0);
  });

  it('should keep at most maxTombstones, forgetting the oldest first', () => {
    const t = recordedSupervisor({ maxTombstones: 2 });
    const ids = [1, 2, 3].map(() => t.supervisor.register().clientId);
    for (const id of ids) t.remove(id);
    expect(internalsOf(t.supervisor).store.tombstoneCount).toBe(2);
    t.handshake(ids[0]!, 's');
    t.handshake(ids[2]!, 's');
    expect(t.ignored()).toEqual(['unknown-client', 'already-deleted']);
  });

  it('should keep no tombstone with tombstoneTtl 0', () => {
    const t = recordedSupervisor({ tombstoneTtl: 0 });
    const { clientId } = t.supervisor.register();
    t.remove(clientId);
    t.handshake(clientId, 's');
    expect(t.ignored()).toEqual(['unknown-client']);
  });

  it('should not let an event reach a client whose deleted event is still queued', async () => {
    const t = recordedSupervisor();
    const { clientId } = t.supervisor.register();
    // from inside an events$ subscriber the supervisor is still processing: both sends queue up
    t.supervisor.events$.subscribe((event) => {
      if (event.type === 'registered') {
        t.remove(clientId);
        t.handshake(clientId, 'late');
      }
    });
    const other = t.supervisor.register().clientId;
    expect(other).not.toBe(clientId);
    await settle();
    expect(t.supervisor.get(clientId)).toBeUndefined();
  });
});

describe('supervisor memory', () => {
  it('should send every client done event under one type, so XState memoises one entry', async () => {
    const { createSupervisor } = await import('../src/index.js');
    const doneTypes = new Set<string>();
    const supervisor = createSupervisor({
      pruneInterval: 0,
      inspect: (event) => {
        if (event.type === '@xstate.event' && event.event.type.startsWith('xstate.done.actor')) {
          doneTypes.add(event.event.type);
        }
      },
    });
    for (let i = 0; i < 20; i += 1) supervisor.delete(supervisor.register().clientId);
    await supervisor.close();
    // a per-client type (`xstate.done.actor.<clientId>`) leaked one cache entry per client ever
    expect([...doneTypes]).toEqual(['xstate.done.actor.client']);
  });
});

describe('targeted client.prune', () => {
  it('should ask one client to prune itself: ignored not-due before its deadline, pruned at it', () => {
    const t = recordedSupervisor({ handshakeTimeout: 1000 });
    const { clientId } = t.supervisor.register();
    const createdAt = Date.now();
    t.supervisor.actor.send({ type: 'client.prune', clientId, now: createdAt + 999 });
    expect(t.events.at(-1)).toMatchObject({ type: 'ignored', why: 'not-due', clientId, event: 'client.prune' });
    t.supervisor.actor.send({ type: 'client.prune', clientId, now: createdAt + 1000 });
    expect(t.events.at(-1)).toMatchObject({ type: 'deleted', reason: 'pruned', clientId });
    t.supervisor.actor.send({ type: 'client.prune', clientId });
    t.supervisor.actor.send({ type: 'client.prune', clientId: 'nobody' });
    expect(t.ignored().slice(-2)).toEqual(['already-deleted', 'unknown-client']);
  });
});
