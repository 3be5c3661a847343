import { config, filter } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordedSupervisor, settle, useFakeClock } from './helpers/supervisor.js';

beforeEach(useFakeClock);
afterEach(() => {
  config.onUnhandledError = null;
  vi.useRealTimers();
});

describe('faults in user code', () => {
  it('should carry on when an events$ subscriber throws, and report the fault once as a hook-error event', async () => {
    // rxjs's own path for a throwing subscriber (a rethrow in a timer unless this is set) must stay unused
    const reportedByRxjs: unknown[] = [];
    config.onUnhandledError = (error) => reportedByRxjs.push(error);
    const t = recordedSupervisor({ reconnectTimeout: 100 });
    t.supervisor.events$.subscribe((event) => {
      if (event.type === 'connected') throw new Error('subscriber bug');
    });
    const seenByOthers: string[] = [];
    t.supervisor.events$.subscribe((event) => seenByOthers.push(event.type));
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    t.disconnect(clientId, 's');
    await settle(); // as in a real event loop, promise jobs run before the next timer
    vi.advanceTimersByTime(100);
    await settle();
    // the others got every event; the report comes in a promise job, after the synchronous
    // handshake and disconnect, before the grace timer's delete
    expect(seenByOthers).toEqual(['registered', 'connected', 'disconnected', 'hook-error', 'deleted']);
    expect(t.hooksOf(clientId)).toEqual(['onConnect', 'onDisconnect', 'onDelete']);
    expect(t.supervisor.list()).toEqual([]);
    const reports = t.events.filter((event) => event.type === 'hook-error');
    expect(reports).toEqual([
      expect.objectContaining({
        clientId,
        hook: 'events$',
        message: 'an events$ subscriber threw on a connected event: subscriber bug',
        timedOut: false,
      }),
    ]);
    expect(t.supervisor.stats().hookErrors).toBe(1);
    expect(reportedByRxjs).toEqual([]);
  });

  it('should report a subscriber that throws on everything once per fault, not on its own reports', async () => {
    const reportedByRxjs: unknown[] = [];
    config.onUnhandledError = (error) => reportedByRxjs.push(error);
    const t = recordedSupervisor({ reconnectTimeout: 100 });
    t.supervisor.events$.subscribe({
      next() {
        throw new Error('always');
      },
    });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    await settle();
    // registered and connected each failed once: two reports, and the reports did not beget more
    expect(t.events.map((event) => event.type)).toEqual(['registered', 'connected', 'hook-error', 'hook-error']);
    expect(t.supervisor.stats().hookErrors).toBe(2);
    expect(reportedByRxjs).toEqual([]);
    await t.supervisor.close();
  });

  it('should leave a throw at the end of a pipe() chain to rxjs, as rxjs does', async () => {
    const reportedByRxjs: unknown[] = [];
    config.onUnhandledError = (error) => reportedByRxjs.push(error);
    const t = recordedSupervisor();
    const piped: string[] = [];
    t.supervisor.events$.pipe(filter((event) => event.type === 'registered')).subscribe((event) => {
      piped.push(event.clientId);
      throw new Error('piped bug');
    });
    const { clientId } = t.supervisor.register();
    vi.advanceTimersByTime(1); // rxjs reports in a timer
    expect(piped).toEqual([clientId]);
    expect(reportedByRxjs).toEqual([expect.objectContaining({ message: 'piped bug' })]);
    // and the supervisor carries on
    expect(t.supervisor.get(clientId)?.state).toBe('handshaking');
    await t.supervisor.close();
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
