import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { internalsOf } from '../src/core/internals.js';
import { createSupervisor, defaultOptions, SupervisorError } from '../src/index.js';
import { recordedSupervisor, useFakeClock } from './helpers/supervisor.js';

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

describe('register()', () => {
  it('should issue a 128-bit base64url clientId and token', () => {
    const { supervisor } = recordedSupervisor();
    const { clientId, token } = supervisor.register();
    expect(clientId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(clientId, 'base64url')).toHaveLength(16);
    expect(clientId).not.toBe(token);
  });

  it('should never issue the same id twice', () => {
    const { supervisor } = recordedSupervisor();
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i += 1) {
      const { clientId, token } = supervisor.register();
      ids.add(clientId).add(token);
    }
    expect(ids.size).toBe(4000);
  });

  it('should keep tabId and data in the view, and never the token', () => {
    const { supervisor } = recordedSupervisor();
    const { clientId, token } = supervisor.register({ tabId: 'tab-7', data: { room: 'lobby' } });
    const view = supervisor.get(clientId);
    expect(view).toEqual({
      clientId,
      state: 'handshaking',
      socketId: null,
      tabId: 'tab-7',
      createdAt: Date.now(),
      connectedAt: null,
      disconnectedAt: null,
      expiresAt: Date.now() + defaultOptions.handshakeTimeout,
      // no socket yet, so no address; nothing sent to it, so an empty outbox
      address: null,
      outbox: { depth: 0, oldestAt: null },
      data: { room: 'lobby' },
    });
    expect(JSON.stringify(supervisor.list())).not.toContain(token);
  });

  it('should reject a bad tabId or delete reason with a SupervisorError INVALID_ARGUMENT naming it', () => {
    const { supervisor } = recordedSupervisor();
    const misuse = { name: 'SupervisorError', code: 'INVALID_ARGUMENT' };
    expect(() => supervisor.register({ tabId: 'x'.repeat(65) })).toThrow(
      expect.objectContaining({ ...misuse, message: expect.stringMatching(/^register\(\): tabId must be/) }),
    );
    expect(() => supervisor.register({ tabId: 'bad\nline' })).toThrow(SupervisorError);
    const { clientId } = supervisor.register();
    expect(() => supervisor.delete(clientId, 42 as never)).toThrow(
      expect.objectContaining({ ...misuse, message: 'delete(): reason must be a string, not number' }),
    );
    // nothing was created or deleted by the bad calls
    expect(supervisor.list().map((view) => view.clientId)).toEqual([clientId]);
  });

  it('should throw CLIENT_LIMIT past maxClients and report it', () => {
    const t = recordedSupervisor({ maxClients: 2 });
    t.supervisor.register();
    const { clientId } = t.supervisor.register();
    expect(() => t.supervisor.register()).toThrowError(expect.objectContaining({ code: 'CLIENT_LIMIT' }));
    expect(t.events.at(-1)).toMatchObject({ type: 'rejected', code: 'CLIENT_LIMIT' });
    t.supervisor.delete(clientId);
    expect(() => t.supervisor.register()).not.toThrow();
  });
});

describe('tokens', () => {
  it('should authenticate only the issued token', () => {
    const { supervisor } = recordedSupervisor();
    const { clientId, token } = supervisor.register();
    const other = supervisor.register();
    expect(internalsOf(supervisor).authenticate(clientId, token)).toEqual({ ok: true });
    expect(internalsOf(supervisor).authenticate(clientId, other.token)).toMatchObject({ ok: false, code: 'BAD_TOKEN' });
    expect(internalsOf(supervisor).authenticate('unknown', token)).toMatchObject({ ok: false, code: 'UNKNOWN_CLIENT' });
    supervisor.delete(clientId);
    expect(internalsOf(supervisor).authenticate(clientId, token)).toMatchObject({ ok: false, code: 'CLIENT_DELETED' });
  });

  it('should never put the token in an event, a view or an error message', async () => {
    const t = recordedSupervisor({ maxClients: 1 });
    const { clientId, token } = t.supervisor.register();
    t.handshake(clientId, 's');
    t.disconnect(clientId, 's');
    const failure = internalsOf(t.supervisor).authenticate(clientId, 'A'.repeat(22));
    expect(() => t.supervisor.register()).toThrow();
    t.supervisor.delete(clientId);
    await t.supervisor.close();
    const everything = JSON.stringify({ events: t.events, calls: t.calls, failure, stats: t.supervisor.stats() });
    expect(everything).not.toContain(token);
  });
});

describe('delete()', () => {
  it('should return true once, then false', () => {
    const { supervisor } = recordedSupervisor();
    const { clientId } = supervisor.register();
    expect(supervisor.delete(clientId)).toBe(true);
    expect(supervisor.delete(clientId)).toBe(false);
    expect(supervisor.delete('never-existed')).toBe(false);
  });

  it('should use reason manual by default', () => {
    const t = recordedSupervisor();
    t.supervisor.delete(t.supervisor.register().clientId);
    expect(t.events.at(-1)).toMatchObject({ type: 'deleted', reason: 'manual' });
  });
});

describe('connected()', () => {
  it('should resolve at once for a connected client', async () => {
    const t = recordedSupervisor();
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's');
    await expect(t.supervisor.connected(clientId)).resolves.toMatchObject({ clientId, state: 'connected' });
  });

  it('should resolve when the client connects', async () => {
    const t = recordedSupervisor();
    const { clientId } = t.supervisor.register();
    const waiting = t.supervisor.connected(clientId, { timeout: 1000 });
    t.handshake(clientId, 's9');
    await expect(waiting).resolves.toMatchObject({ socketId: 's9' });
  });

  it('should reject CLIENT_DELETED when the client is deleted first', async () => {
    const t = recordedSupervisor();
    const { clientId } = t.supervisor.register();
    const waiting = t.supervisor.connected(clientId);
    t.supervisor.delete(clientId);
    await expect(waiting).rejects.toMatchObject({ code: 'CLIENT_DELETED' });
    await expect(t.supervisor.connected(clientId)).rejects.toMatchObject({ code: 'CLIENT_DELETED' });
  });

  it('should reject UNKNOWN_CLIENT for an unknown id', async () => {
    const t = recordedSupervisor();
    await expect(t.supervisor.connected('nope')).rejects.toBeInstanceOf(SupervisorError);
    await expect(t.supervisor.connected('nope')).rejects.toMatchObject({ code: 'UNKNOWN_CLIENT' });
  });

  it('should reject TIMEOUT after timeout and leave no timer', async () => {
    const t = recordedSupervisor();
    const { clientId } = t.supervisor.register();
    const timers = vi.getTimerCount();
    const waiting = t.supervisor.connected(clientId, { timeout: 200 });
    const outcome = expect(waiting).rejects.toMatchObject({ code: 'TIMEOUT' });
    await vi.advanceTimersByTimeAsync(200);
    await outcome;
    expect(vi.getTimerCount()).toBe(timers);
  });

  it('should reject waiters when the supervisor closes', async () => {
    const t = recordedSupervisor();
    const waiting = t.supervisor.connected(t.supervisor.register().clientId);
    const outcome = expect(waiting).rejects.toMatchObject({ code: 'CLIENT_DELETED' });
    await t.supervisor.close();
    await outcome;
  });
});

describe('options', () => {
  it.each([
    ['reconnectTimeout', -1],
    ['handshakeTimeout', 0],
    ['hookTimeout', Number.NaN],
    ['pruneInterval', 2 ** 40],
    ['tombstoneTtl', '10'],
    ['maxClients', 1.5],
  ])('should reject %s = %s with a TypeError naming it', (name, value) => {
    expect(() => createSupervisor({ [name]: value } as never)).toThrowError(new RegExp(`\`${name}\``));
    expect(() => createSupervisor({ [name]: value } as never)).toThrow(TypeError);
  });

  it('should reject unknown options and hooks by name', () => {
    expect(() => createSupervisor({ reconectTimeout: 5 } as never)).toThrow(/reconectTimeout/);
    expect(() => createSupervisor({ hooks: { onDisconnected: () => {} } } as never)).toThrow(/onDisconnected/);
  });

  it('should document every default in one place', () => {
    expect(defaultOptions).toMatchObject({
      reconnectTimeout: 3000,
      handshakeTimeout: 60000,
      pruneInterval: 10000,
      hookTimeout: 5000,
      tombstoneTtl: 60000,
      maxClients: Number.POSITIVE_INFINITY,
      autoRegister: false,
    });
  });
});

describe('rateLimit option', () => {
  it('should default to per-address limits and accept false', () => {
    expect(defaultOptions.rateLimit).toEqual({
      autoRegister: { limit: 600, window: 60000 },
      failedHandshakes: { limit: 120, window: 60000 },
    });
    const off = createSupervisor({ rateLimit: false });
    expect(internalsOf(off).options.rateLimit).toBe(false);
    void off.close();
    // one limit turned off: the other keeps its default (leaving it out does not turn it off)
    const one = createSupervisor({ rateLimit: { autoRegister: false } });
    expect(internalsOf(one).options.rateLimit).toEqual({
      autoRegister: false,
      failedHandshakes: { limit: 120, window: 60000 },
    });
    void one.close();
  });

  it('should name a bad limit', () => {
    expect(() => createSupervisor({ rateLimit: { autoRegister: { limit: -1, window: 10 } } })).toThrow(
      /rateLimit\.autoRegister\.limit/,
    );
    expect(() => createSupervisor({ rateLimit: { failedHandshakes: { limit: 5, window: 0 } } })).toThrow(
      /rateLimit\.failedHandshakes\.window/,
    );
    expect(() => createSupervisor({ rateLimit: { handshakes: false } } as never)).toThrow(/rateLimit\.handshakes/);
    expect(() => createSupervisor({ rateLimit: { address: 'x-real-ip' } } as never)).toThrow(/rateLimit\.address/);
  });
});

describe('send()', () => {
  it('should reject what is not a DESIGN event with a SupervisorError INVALID_ARGUMENT naming the problem', async () => {
    const { supervisor } = recordedSupervisor();
    const bad: Array<[unknown, RegExp]> = [
      [null, /must be an object/],
      [{ type: 'client.register' }, /unknown event type "client.register"/],
      [{ type: 'socket.handshake', clientId: 1, socketId: 's' }, /clientId must be a string/],
      [{ type: 'socket.handshake', clientId: 'c' }, /socketId must be a string/],
      [{ type: 'socket.disconnect', clientId: 'c', socketId: 's' }, /reason must be a string/],
      [{ type: 'client.delete' }, /clientId is required/],
      [{ type: 'client.prune', now: Number.NaN }, /now must be a finite number/],
    ];
    for (const [event, message] of bad) {
      expect(() => supervisor.send(event as never)).toThrow(
        expect.objectContaining({
          name: 'SupervisorError',
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(message),
        }),
      );
    }
    expect(supervisor.stats().ignored).toEqual({});
    await supervisor.close();
  });
});
