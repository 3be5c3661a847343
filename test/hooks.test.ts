import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordedSupervisor, settle, useFakeClock } from './helpers/supervisor.js';

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

describe('hooks', () => {
  it('should call onConnect with reconnect false, then true on a reconnect', async () => {
    const t = recordedSupervisor();
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's1');
    t.disconnect(clientId, 's1', 'ping timeout');
    t.handshake(clientId, 's2');
    await settle();
    expect(t.calls.map((call) => [call.hook, call.arg])).toEqual([
      ['onConnect', false],
      ['onDisconnect', 'ping timeout'],
      ['onConnect', true],
    ]);
  });

  it('should give each hook the view at the instant of its event, never the token', async () => {
    const t = recordedSupervisor();
    const { clientId, token } = t.supervisor.register({ data: { user: 'ada' } });
    t.handshake(clientId, 's1');
    t.disconnect(clientId, 's1');
    t.remove(clientId);
    await settle();
    expect(t.calls.map((call) => call.state)).toEqual(['connected', 'disconnected', 'deleted']);
    expect(JSON.stringify(t.calls)).not.toContain(token);
  });

  it('should not call any hook on a socket swap', async () => {
    const t = recordedSupervisor();
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's1');
    t.handshake(clientId, 's2');
    await settle();
    expect(t.hooksOf(clientId)).toEqual(['onConnect']);
  });

  it("should run one client's hooks one after another even when they are slow", async () => {
    const log: string[] = [];
    let active = 0;
    const slow = (name: string) => async () => {
      active += 1;
      expect(active).toBe(1);
      log.push(`${name}:start`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      log.push(`${name}:end`);
      active -= 1;
    };
    const t = recordedSupervisor({
      hooks: { onConnect: slow('connect'), onDisconnect: slow('disconnect'), onDelete: slow('delete') },
    });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    t.disconnect(clientId, 's');
    t.remove(clientId);
    await vi.advanceTimersByTimeAsync(1000);
    expect(log).toEqual([
      'connect:start',
      'connect:end',
      'disconnect:start',
      'disconnect:end',
      'delete:start',
      'delete:end',
    ]);
  });

  it('should run hooks of different clients concurrently', async () => {
    const started: string[] = [];
    const t = recordedSupervisor({
      hooks: {
        onConnect: (client) => {
          started.push(client.clientId);
          return new Promise((resolve) => setTimeout(resolve, 1000));
        },
      },
    });
    const a = t.supervisor.register().clientId;
    const b = t.supervisor.register().clientId;
    t.handshake(a, 'sa');
    t.handshake(b, 'sb');
    await settle();
    expect(started).toEqual([a, b]);
  });

  it('should report a throwing hook as hook-error and carry on', async () => {
    const t = recordedSupervisor({
      hooks: {
        onConnect: () => {
          throw new Error('boom');
        },
      },
    });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    t.remove(clientId);
    await settle();
    expect(t.events.filter((event) => event.type === 'hook-error')).toMatchObject([
      { type: 'hook-error', clientId, hook: 'onConnect', message: 'boom', timedOut: false },
    ]);
    expect(t.hooksOf(clientId)).toEqual(['onConnect', 'onDelete']);
    expect(t.supervisor.stats().hookErrors).toBe(1);
  });

  it('should report a rejecting hook as hook-error', async () => {
    const t = recordedSupervisor({ hooks: { onDelete: () => Promise.reject(new Error('db down')) } });
    t.supervisor.delete(t.supervisor.register().clientId);
    await settle();
    expect(t.events.at(-1)).toMatchObject({ type: 'hook-error', hook: 'onDelete', message: 'db down' });
  });

  it('should report a hook that never settles after hookTimeout, then run the next hook', async () => {
    const t = recordedSupervisor({ hookTimeout: 500, hooks: { onConnect: () => new Promise(() => {}) } });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    t.remove(clientId);
    await vi.advanceTimersByTimeAsync(499);
    expect(t.hooksOf(clientId)).toEqual(['onConnect']);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.events.at(-1)).toMatchObject({ type: 'hook-error', hook: 'onConnect', timedOut: true });
    await settle();
    expect(t.hooksOf(clientId)).toEqual(['onConnect', 'onDelete']);
  });

  it('should leave no hook timer behind once hooks settle', async () => {
    // no passivation either: the only timers left would be the hooks'
    const t = recordedSupervisor({ hooks: { onConnect: async () => {} }, passivateAfter: false });
    const timers = vi.getTimerCount();
    t.handshake(t.supervisor.register().clientId, 's');
    await settle();
    expect(vi.getTimerCount()).toBe(timers);
  });
});
