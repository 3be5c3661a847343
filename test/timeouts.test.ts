import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordedSupervisor, settle, useFakeClock } from './helpers/supervisor.js';

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

describe('handshakeTimeout', () => {
  it('should keep a handshaking client at T-1 ms and delete it at T', async () => {
    const t = recordedSupervisor({ handshakeTimeout: 1000 });
    const { clientId } = t.supervisor.register();
    vi.advanceTimersByTime(999);
    expect(t.supervisor.get(clientId)?.state).toBe('handshaking');
    vi.advanceTimersByTime(1);
    expect(t.supervisor.get(clientId)).toBeUndefined();
    expect(t.events.at(-1)).toMatchObject({ type: 'deleted', reason: 'handshake-timeout', from: 'handshaking' });
    await settle();
    expect(t.deletes(clientId).map((call) => call.arg)).toEqual(['handshake-timeout']);
  });

  it('should not fire once the client has connected', () => {
    const t = recordedSupervisor({ handshakeTimeout: 1000 });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    vi.advanceTimersByTime(5000);
    expect(t.supervisor.get(clientId)?.state).toBe('connected');
  });
});

describe('reconnectTimeout', () => {
  it('should keep a disconnected client at T-1 ms and delete it at T', async () => {
    const t = recordedSupervisor({ reconnectTimeout: 300 });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    t.disconnect(clientId, 's');
    expect(t.supervisor.get(clientId)?.expiresAt).toBe(Date.now() + 300);
    vi.advanceTimersByTime(299);
    expect(t.supervisor.get(clientId)?.state).toBe('disconnected');
    vi.advanceTimersByTime(1);
    expect(t.supervisor.get(clientId)).toBeUndefined();
    await settle();
    expect(t.hooksOf(clientId)).toEqual(['onConnect', 'onDisconnect', 'onDelete']);
    expect(t.deletes(clientId)[0]?.arg).toBe('reconnect-timeout');
  });

  it('should restart the grace period on each disconnect', () => {
    const t = recordedSupervisor({ reconnectTimeout: 300 });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's1');
    t.disconnect(clientId, 's1');
    vi.advanceTimersByTime(200);
    t.handshake(clientId, 's2');
    vi.advanceTimersByTime(200);
    t.disconnect(clientId, 's2');
    // the first grace period would have ended 100 ms ago; the second one runs until +300
    vi.advanceTimersByTime(299);
    expect(t.supervisor.get(clientId)?.state).toBe('disconnected');
    vi.advanceTimersByTime(1);
    expect(t.supervisor.get(clientId)).toBeUndefined();
  });

  it('should use one host timer for any number of pending deadlines', () => {
    const t = recordedSupervisor({ reconnectTimeout: 300 });
    const before = vi.getTimerCount();
    for (let i = 0; i < 50; i += 1) {
      const { clientId } = t.supervisor.register();
      t.handshake(clientId, `s${i}`);
      t.disconnect(clientId, `s${i}`);
      vi.advanceTimersByTime(1);
    }
    expect(vi.getTimerCount()).toBe(Math.max(before, 1));
    vi.advanceTimersByTime(300);
    expect(t.supervisor.list()).toEqual([]);
    expect(t.supervisor.stats().deleted['reconnect-timeout']).toBe(50);
  });

  it('should delete with reconnectTimeout 0 as soon as timers run', () => {
    const t = recordedSupervisor({ reconnectTimeout: 0 });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    t.disconnect(clientId, 's');
    expect(t.supervisor.get(clientId)?.state).toBe('disconnected');
    vi.advanceTimersByTime(0);
    expect(t.supervisor.get(clientId)).toBeUndefined();
  });
});

describe('prune', () => {
  it('should delete only clients past their deadline and return how many', () => {
    let clock = 0;
    // a clock the host timers do not follow, as when the event loop was blocked
    const t = recordedSupervisor({ now: () => clock, reconnectTimeout: 100, handshakeTimeout: 1000 });
    const a = t.supervisor.register().clientId;
    const b = t.supervisor.register().clientId;
    t.handshake(b, 'sb');
    t.disconnect(b, 'sb');
    const c = t.supervisor.register().clientId;
    t.handshake(c, 'sc');
    clock = 99;
    expect(t.supervisor.prune()).toBe(0);
    clock = 100;
    expect(t.supervisor.prune()).toBe(1);
    expect(t.supervisor.get(b)).toBeUndefined();
    clock = 1000;
    expect(t.supervisor.prune()).toBe(1);
    expect(t.supervisor.get(a)).toBeUndefined();
    expect(t.supervisor.get(c)?.state).toBe('connected');
  });

  it('should not emit an ignored event per client it had no reason to visit', () => {
    const t = recordedSupervisor();
    for (let i = 0; i < 20; i += 1) t.handshake(t.supervisor.register().clientId, `s${i}`);
    const before = t.events.length;
    expect(t.supervisor.prune()).toBe(0);
    expect(t.events.length).toBe(before);
  });

  it('should sweep every pruneInterval', () => {
    let clock = 0;
    const t = recordedSupervisor({ now: () => clock, pruneInterval: 1000, reconnectTimeout: 10 });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    t.disconnect(clientId, 's');
    // the host deadline timer is 10 ms away in host time; pretend the clock already passed it
    clock = 50;
    vi.advanceTimersByTime(9);
    expect(t.supervisor.get(clientId)?.state).toBe('disconnected');
    clock = 60;
    vi.advanceTimersByTime(991);
    expect(t.events.some((event) => event.type === 'deleted')).toBe(true);
  });
});

describe('client.prune sent to the supervisor', () => {
  it('should sweep at the instant it carries', () => {
    const t = recordedSupervisor({ reconnectTimeout: 100 });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    t.disconnect(clientId, 's');
    const disconnectedAt = Date.now();
    t.supervisor.actor.send({ type: 'client.prune', now: disconnectedAt + 99 });
    expect(t.supervisor.get(clientId)?.state).toBe('disconnected');
    t.supervisor.actor.send({ type: 'client.prune', now: disconnectedAt + 100 });
    expect(t.supervisor.get(clientId)).toBeUndefined();
    expect(t.events.at(-1)).toMatchObject({ type: 'deleted', reason: 'pruned', at: disconnectedAt + 100 });
  });
});
