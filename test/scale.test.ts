import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { internalsOf } from '../src/core/internals.js';
import { recordedSupervisor, settle, useFakeClock } from './helpers/supervisor.js';

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

const N = 10_000;

describe('10,000 clients', () => {
  it('should take every client through a whole lifecycle and leave nothing behind', async () => {
    const t = recordedSupervisor({ reconnectTimeout: 100, handshakeTimeout: 1000, tombstoneTtl: 500 });
    const timersAtStart = vi.getTimerCount();
    const ids: string[] = [];
    for (let i = 0; i < N; i += 1) ids.push(t.supervisor.register({ tabId: `tab-${i % 7}` }).clientId);
    ids.forEach((id, i) => {
      t.handshake(id, `a${i}`);
    });
    // a third swap sockets, a third reconnect within the grace period, the rest time out
    ids.forEach((id, i) => {
      if (i % 3 === 0) t.handshake(id, `b${i}`);
    });
    ids.forEach((id, i) => {
      t.disconnect(id, i % 3 === 0 ? `b${i}` : `a${i}`);
    });
    expect(t.supervisor.counts()).toEqual({ handshaking: 0, connected: 0, disconnected: N, total: N });
    vi.advanceTimersByTime(50);
    ids.forEach((id, i) => {
      if (i % 3 === 1) t.handshake(id, `c${i}`);
    });
    vi.advanceTimersByTime(50); // the others' grace period ends
    const reconnected = ids.filter((_, i) => i % 3 === 1);
    expect(t.supervisor.list().map((view) => view.clientId)).toEqual(reconnected);
    for (const id of reconnected) t.supervisor.delete(id, 'done');
    await settle();

    expect(t.supervisor.list()).toHaveLength(0);
    const { store } = internalsOf(t.supervisor);
    expect(store.size).toBe(0);
    expect(store.deadlines.size).toBe(0);
    expect(store.counts().total).toBe(0);
    // no client actor is left registered in the actor system
    expect(Object.keys(t.supervisor.actor.system.getAll())).toEqual([]);
    // onDelete exactly once per client
    const deletes = new Map<string, number>();
    for (const call of t.calls)
      if (call.hook === 'onDelete') deletes.set(call.clientId, (deletes.get(call.clientId) ?? 0) + 1);
    expect(deletes.size).toBe(N);
    expect([...deletes.values()].every((count) => count === 1)).toBe(true);
    // tombstones expire on the next sweep once their TTL has passed; no timer was kept for them
    vi.advanceTimersByTime(500);
    t.sweep();
    expect(store.tombstoneCount).toBe(0);
    expect(vi.getTimerCount()).toBeLessThanOrEqual(Math.max(timersAtStart, 1));
    await t.supervisor.close();
    expect(vi.getTimerCount()).toBe(0);
    // events$ subscriptions are released with the supervisor
    expect((t.supervisor.actor as unknown as { eventListeners: Map<string, Set<unknown>> }).eventListeners.size).toBe(
      0,
    );
  });
});
