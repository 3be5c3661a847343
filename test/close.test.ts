import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { internalsOf } from '../src/core/internals.js';
import { SupervisorError } from '../src/index.js';
import { recordedSupervisor, settle, useFakeClock } from './helpers/supervisor.js';

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

describe('close()', () => {
  it('should delete every client with reason shutdown, onDelete once each', async () => {
    const t = recordedSupervisor();
    const ids = [0, 1, 2].map(() => t.supervisor.register().clientId);
    t.handshake(ids[1]!, 's1');
    t.handshake(ids[2]!, 's2');
    t.disconnect(ids[2]!, 's2');
    await t.supervisor.close();
    for (const id of ids) expect(t.deletes(id).map((call) => call.arg)).toEqual(['shutdown']);
    expect(t.supervisor.list()).toEqual([]);
  });

  it('should await hooks, bounded by hookTimeout', async () => {
    let finished = false;
    const t = recordedSupervisor({
      hookTimeout: 1000,
      hooks: {
        onDelete: async () => {
          await new Promise((resolve) => setTimeout(resolve, 200));
          finished = true;
        },
      },
    });
    t.supervisor.register();
    const closed = t.supervisor.close();
    await vi.advanceTimersByTimeAsync(200);
    await closed;
    expect(finished).toBe(true);
  });

  it('should finish even if a hook never settles', async () => {
    const t = recordedSupervisor({ hookTimeout: 100, hooks: { onDelete: () => new Promise(() => {}) } });
    t.supervisor.register();
    const closed = t.supervisor.close();
    await vi.advanceTimersByTimeAsync(100);
    await closed;
    expect(t.supervisor.actor.getSnapshot().status).toBe('done');
  });

  it('should leave no timer and stop the supervisor actor', async () => {
    const t = recordedSupervisor({ pruneInterval: 1000, reconnectTimeout: 5000 });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    t.disconnect(clientId, 's');
    await t.supervisor.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(t.supervisor.actor.getSnapshot().status).toBe('done');
  });

  it('should complete events$ and fire nothing afterwards', async () => {
    const t = recordedSupervisor();
    let completed = false;
    t.supervisor.events$.subscribe({ complete: () => (completed = true) });
    await t.supervisor.close();
    expect(completed).toBe(true);
    const count = t.events.length;
    // the public API stays quiet after close (the raw actor would make XState warn)
    expect(t.supervisor.delete('x')).toBe(false);
    expect(t.supervisor.prune()).toBe(0);
    expect(t.supervisor.get('x')).toBeUndefined();
    vi.advanceTimersByTime(100_000);
    await settle();
    expect(t.events.length).toBe(count);
  });

  it('should make register() throw CLOSED', async () => {
    const t = recordedSupervisor();
    const closing = t.supervisor.close();
    expect(() => t.supervisor.register()).toThrow(SupervisorError);
    await closing;
    expect(() => t.supervisor.register()).toThrowError(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('should be idempotent', async () => {
    const t = recordedSupervisor();
    t.supervisor.register();
    const first = t.supervisor.close();
    expect(t.supervisor.close()).toBe(first);
    await first;
    await t.supervisor.close();
    expect(t.calls.filter((call) => call.hook === 'onDelete')).toHaveLength(1);
  });

  it('should ask the socket bridge to close the sockets of connected clients', async () => {
    const t = recordedSupervisor();
    const closed: string[] = [];
    internalsOf(t.supervisor).bridge.disconnect = (socketId, why) => closed.push(`${socketId}:${why}`);
    t.handshake(t.supervisor.register().clientId, 's1');
    t.supervisor.register();
    await t.supervisor.close();
    expect(closed).toEqual(['s1:deleted']);
  });

  it('should report events that arrive while closing, a late prune included, and let a sweep do nothing', async () => {
    const t = recordedSupervisor({ hooks: { onDelete: () => new Promise((resolve) => setTimeout(resolve, 50)) } });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's1');
    const closing = t.supervisor.close();
    // the hooks are still running: the supervisor is in `closing`
    expect(t.supervisor.actor.getSnapshot().value).toBe('closing');
    t.supervisor.actor.send({ type: 'client.prune', clientId });
    t.disconnect(clientId, 's1');
    t.supervisor.actor.send({ type: 'client.prune', clientId: 'never-registered' });
    t.supervisor.actor.send({ type: 'client.prune' });
    expect(t.events.filter((event) => event.type === 'ignored')).toEqual([
      expect.objectContaining({ clientId, event: 'client.prune', why: 'already-deleted' }),
      expect.objectContaining({ clientId, event: 'socket.disconnect', why: 'already-deleted' }),
      expect.objectContaining({ clientId: 'never-registered', event: 'client.prune', why: 'unknown-client' }),
    ]);
    await settle(); // the onDelete hook starts its 50 ms
    vi.advanceTimersByTime(50);
    await closing;
    expect(t.calls.filter((call) => call.hook === 'onDelete')).toHaveLength(1);
  });
});
