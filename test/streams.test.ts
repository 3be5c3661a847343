import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordedSupervisor, useFakeClock } from './helpers/supervisor.js';

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

describe('events$', () => {
  it('should emit the whole lifecycle in order, each event with clientId and at', () => {
    const t = recordedSupervisor({ reconnectTimeout: 100 });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's1');
    t.handshake(clientId, 's2');
    t.disconnect(clientId, 's1');
    t.disconnect(clientId, 's2');
    t.handshake(clientId, 's3');
    t.disconnect(clientId, 's3');
    vi.advanceTimersByTime(100);
    expect(t.events.map((event) => event.type)).toEqual([
      'registered',
      'connected',
      'socket-replaced',
      'ignored',
      'disconnected',
      'reconnected',
      'disconnected',
      'deleted',
    ]);
    for (const event of t.events) {
      expect(event.clientId).toBe(clientId);
      expect(typeof event.at).toBe('number');
    }
  });

  it('should share one listener on the actor between subscribers', () => {
    const t = recordedSupervisor();
    const seen: string[] = [];
    const sub = t.supervisor.events$.subscribe((event) => seen.push(event.type));
    t.supervisor.register();
    sub.unsubscribe();
    t.supervisor.register();
    expect(seen).toEqual(['registered']);
    expect(t.events.filter((event) => event.type === 'registered')).toHaveLength(2);
  });
});

describe('counts$', () => {
  it('should emit the current counts on subscribe', async () => {
    const t = recordedSupervisor();
    t.supervisor.register();
    await expect(firstValueFrom(t.supervisor.counts$)).resolves.toEqual({
      handshaking: 1,
      connected: 0,
      disconnected: 0,
      total: 1,
    });
  });

  it('should emit after every change', async () => {
    const t = recordedSupervisor({ reconnectTimeout: 50 });
    const collected = firstValueFrom(t.supervisor.counts$.pipe(take(5), toArray()));
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    t.disconnect(clientId, 's');
    vi.advanceTimersByTime(50);
    expect((await collected).map((c) => [c.handshaking, c.connected, c.disconnected, c.total])).toEqual([
      [0, 0, 0, 0],
      [1, 0, 0, 1],
      [0, 1, 0, 1],
      [0, 0, 1, 1],
      [0, 0, 0, 0],
    ]);
  });
});
