import { config } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordedSupervisor, settle, useFakeClock } from './helpers/supervisor.js';

beforeEach(useFakeClock);
afterEach(() => {
  config.onUnhandledError = null;
  vi.useRealTimers();
});

describe('faults in user code', () => {
  it('should carry on when an events$ subscriber throws, and the error is reported once by rxjs', async () => {
    const reported: unknown[] = [];
    config.onUnhandledError = (error) => reported.push(error);
    const t = recordedSupervisor({ reconnectTimeout: 100 });
    t.supervisor.events$.subscribe((event) => {
      if (event.type === 'connected') throw new Error('subscriber bug');
    });
    const seenByOthers: string[] = [];
    t.supervisor.events$.subscribe((event) => seenByOthers.push(event.type));
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    t.disconnect(clientId, 's');
    vi.advanceTimersByTime(100);
    await settle();
    expect(seenByOthers).toEqual(['registered', 'connected', 'disconnected', 'deleted']);
    expect(t.hooksOf(clientId)).toEqual(['onConnect', 'onDisconnect', 'onDelete']);
    expect(t.supervisor.list()).toEqual([]);
    expect(reported).toHaveLength(1);
    expect((reported[0] as Error).message).toBe('subscriber bug');
  });

  it('should isolate a failing hook of one client from the other clients', async () => {
    const t = recordedSupervisor({
      hooks: {
        onConnect: (client) => {
          if (client.tabId === 'bad') throw new Error('bad tab');
        },
      },
    });
    const bad = t.supervisor.register({ tabId: 'bad' }).clientId;
    const good = t.supervisor.register({ tabId: 'good' }).clientId;
    t.handshake(bad, 'b');
    t.handshake(good, 'g');
    t.supervisor.delete(bad);
    t.supervisor.delete(good);
    await settle();
    expect(t.hooksOf(good)).toEqual(['onConnect', 'onDelete']);
    expect(t.hooksOf(bad)).toEqual(['onConnect', 'onDelete']);
    expect(t.events.filter((event) => event.type === 'hook-error')).toHaveLength(1);
  });

  it('should report a hook that throws a non-Error value with its string', async () => {
    const t = recordedSupervisor({
      hooks: {
        onDelete: () => {
          throw 'plain string';
        },
      },
    });
    t.supervisor.delete(t.supervisor.register().clientId);
    await settle();
    expect(t.events.at(-1)).toMatchObject({ type: 'hook-error', message: 'plain string', error: 'plain string' });
  });
});
