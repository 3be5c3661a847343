import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { internalsOf } from '../src/core/internals.js';
import { SEND_BATCH } from '../src/machines/supervisor.machine.js';
import { recordedSupervisor, settle, useFakeClock } from './helpers/supervisor.js';

// Mass operations (a mass expiry, a sweep, close()) send to clients in batches of SEND_BATCH
// per XState step. These check that batching changes nothing a user can see: every client is
// deleted at its time, exactly once, with its reason.

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

const N = SEND_BATCH * 3 + 17;

function disconnectedClients(t: ReturnType<typeof recordedSupervisor>): string[] {
  const ids = Array.from({ length: N }, () => t.supervisor.register().clientId);
  ids.forEach((id, i) => {
    t.handshake(id, `s${i}`);
  });
  ids.forEach((id, i) => {
    t.disconnect(id, `s${i}`);
  });
  return ids;
}

function deleteReasons(t: ReturnType<typeof recordedSupervisor>): Map<string, string[]> {
  const reasons = new Map<string, string[]>();
  for (const call of t.calls) {
    if (call.hook === 'onDelete') reasons.set(call.clientId, [...(reasons.get(call.clientId) ?? []), String(call.arg)]);
  }
  return reasons;
}

describe(`more than SEND_BATCH (${SEND_BATCH}) clients at once`, () => {
  it('should delete every client of a mass expiry at its deadline, not a batch later', async () => {
    const t = recordedSupervisor({ reconnectTimeout: 100 });
    const ids = disconnectedClients(t);
    vi.advanceTimersByTime(99);
    expect(t.supervisor.list()).toHaveLength(N);
    vi.advanceTimersByTime(1);
    expect(t.supervisor.list()).toHaveLength(0);
    await settle();
    const reasons = deleteReasons(t);
    expect(reasons.size).toBe(N);
    expect(ids.every((id) => reasons.get(id)?.join() === 'reconnect-timeout')).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    await t.supervisor.close();
  });

  it('should delete every due client in one prune() and return how many', async () => {
    const t = recordedSupervisor({ reconnectTimeout: 100 });
    disconnectedClients(t);
    // the clock passes the deadline without the host timer firing: a sweep must find them all
    vi.setSystemTime(Date.now() + 100);
    expect(t.supervisor.prune()).toBe(N);
    expect(t.supervisor.list()).toHaveLength(0);
    await settle();
    expect([...deleteReasons(t).values()].every((r) => r.join() === 'pruned')).toBe(true);
    await t.supervisor.close();
  });

  it('should stop a sweep continuation that makes no progress', async () => {
    const t = recordedSupervisor({ reconnectTimeout: 100 });
    disconnectedClients(t);
    vi.setSystemTime(Date.now() + 100);
    const { store } = internalsOf(t.supervisor);
    const pending = store.deadlines.size;
    // a continuation carries the count of pending deadlines when it was sent: none gone since → stop
    const now = Date.now();
    t.supervisor.actor.send({ type: 'sweep.continue', now, pending });
    expect(t.supervisor.list()).toHaveLength(N);
    t.supervisor.actor.send({ type: 'sweep.continue', now, pending: pending + 1 });
    expect(t.supervisor.list()).toHaveLength(0);
    await t.supervisor.close();
  });

  it('should delete every client once with reason shutdown on close()', async () => {
    const t = recordedSupervisor({ reconnectTimeout: 100 });
    const ids = Array.from({ length: N }, () => t.supervisor.register().clientId);
    ids.forEach((id, i) => {
      if (i % 2 === 0) t.handshake(id, `s${i}`);
    });
    await t.supervisor.close();
    const reasons = deleteReasons(t);
    expect(reasons.size).toBe(N);
    expect([...reasons.values()].every((r) => r.join() === 'shutdown')).toBe(true);
    expect(internalsOf(t.supervisor).store.size).toBe(0);
    expect(Object.keys(t.supervisor.actor.system.getAll())).toEqual([]);
    expect(t.supervisor.actor.getSnapshot().status).toBe('done');
  });
});
