import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFakeClock, createTestSupervisor, HookFailedError, lifecyclePaths } from '../../src/testing/index.js';

// createTestSupervisor(): the real supervisor on a fake clock, driven through client handles.

afterEach(() => vi.useRealTimers());

const kinds = (events: readonly { type: string }[]) => events.map((event) => event.type);

describe('createFakeClock', () => {
  it('should fire timers only when asked, in time order, ties in the order they were armed', () => {
    const clock = createFakeClock(100);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@150'), 50);
    clock.setTimeout(() => fired.push('a@120'), 20);
    clock.setTimeout(() => fired.push('c@150'), 50);
    const cleared = clock.setTimeout(() => fired.push('never'), 10);
    clock.clearTimeout(cleared);
    expect(clock.nextAt()).toBe(120);
    expect(clock.fireNext(119)).toBe(false);
    while (clock.fireNext(150));
    expect(fired).toEqual(['a@120', 'b@150', 'c@150']);
    expect(clock.now()).toBe(150);
    expect(clock.pending()).toBe(0);
  });

  it('should let time jump without firing, and fire what is late at the current time', () => {
    const clock = createFakeClock();
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 10);
    clock.set(50);
    clock.set(20); // never back
    expect(clock.now()).toBe(50);
    expect(clock.fireNext(50)).toBe(true);
    expect(seen).toEqual([50]);
  });
});

describe('createTestSupervisor', () => {
  it('should fire a reconnect deadline at its time, not a millisecond before, and await the hook', async () => {
    const deleted: number[] = [];
    const t = createTestSupervisor({
      reconnectTimeout: 3000,
      hooks: {
        async onDelete() {
          await readFile(new URL(import.meta.url)); // real I/O: settle() waits for it
          deleted.push(t.now());
        },
      },
    });
    const c = t.client();
    c.connect();
    c.disconnect();
    await t.advance(2999);
    expect(c.state).toBe('disconnected');
    await t.advance(1);
    expect(c.state).toBe('deleted');
    expect(deleted).toEqual([3000]);
    expect(c.hookCalls.map((call) => call.hook)).toEqual(['onConnect', 'onDisconnect', 'onDelete']);
    expect(kinds(c.events)).toEqual(['registered', 'connected', 'disconnected', 'deleted']);
    expect(c.events.at(-1)).toMatchObject({ type: 'deleted', reason: 'reconnect-timeout', at: 3000 });
  });

  it('should arm no host timer: every timer is on the fake clock', async () => {
    vi.useFakeTimers();
    const t = createTestSupervisor({ hooks: { onDelete: () => Promise.resolve() } });
    // many clients along their paths at once, deadlines pending, hooks returning promises
    for (const path of lifecyclePaths({ shutdown: false })) await path.run(t);
    expect(t.clock.pending()).toBeGreaterThan(0);
    expect(vi.getTimerCount()).toBe(0);
    await t.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(t.clock.pending()).toBe(0);
  });

  it('should let a prune win against a timer the stalled clock left late', async () => {
    const t = createTestSupervisor({ handshakeTimeout: 1000, pruneInterval: 0 });
    const c = t.client();
    t.stall(1000);
    expect(c.state).toBe('handshaking');
    expect(t.prune()).toBe(1);
    await t.advance(0); // the late timer fires and finds nothing
    expect(c.events.filter((event) => event.type === 'deleted')).toMatchObject([{ reason: 'pruned', at: 1000 }]);
    expect(c.hookCalls.map((call) => call.hook)).toEqual(['onDelete']);
  });

  it('should drive sockets as the adapter does: swap, stale socket, replay, second disconnect', async () => {
    const t = createTestSupervisor();
    const c = t.client({ tabId: 'tab-1', data: { user: 'ada' } });
    expect(c.connect()).toBe('c1-s1');
    const second = c.swap();
    expect(second).toBe('c1-s2');
    expect(c.socketId).toBe('c1-s2');
    c.disconnect('c1-s1'); // the replaced socket's late disconnect
    c.connect('c1-s2'); // a replayed handshake
    c.disconnect();
    c.disconnect(); // the same socket again
    expect(c.sockets).toEqual(['c1-s1', 'c1-s2']);
    await t.settle();
    expect(c.events.map((event) => (event.type === 'ignored' ? `ignored:${event.why}` : event.type)).slice(1)).toEqual([
      'connected',
      'socket-replaced',
      'ignored:stale-socket',
      'ignored:replay',
      'disconnected',
      'ignored:not-connected',
    ]);
    expect(c.hookCalls).toMatchObject([
      { hook: 'onConnect', reconnect: false, client: { tabId: 'tab-1', data: { user: 'ada' }, socketId: 'c1-s1' } },
      { hook: 'onDisconnect', reason: 'transport close', client: { state: 'disconnected' } },
    ]);
    expect(c.prune()).toBe(false); // not due
    expect(c.delete('kicked')).toBe(true);
    expect(c.delete()).toBe(false);
    expect(c.prune()).toBe(false);
    await t.settle();
    expect(c.hookCalls.at(-1)).toMatchObject({ hook: 'onDelete', reason: 'kicked' });
    expect(c.view()).toBeUndefined();
  });

  it('should record every hook call and event, per client and for all, in order', async () => {
    const t = createTestSupervisor();
    const a = t.client();
    const b = t.client();
    a.connect();
    b.connect();
    a.delete();
    await t.close();
    expect(t.clients()).toEqual([a, b]);
    expect(t.hookCalls.map((call) => `${call.clientId === a.clientId ? 'a' : 'b'}.${call.hook}`)).toEqual([
      'a.onConnect',
      'b.onConnect',
      'a.onDelete',
      'b.onDelete',
    ]);
    expect(kinds(a.events)).toEqual(['registered', 'connected', 'deleted']);
    expect(b.hookCalls.at(-1)).toMatchObject({ hook: 'onDelete', reason: 'shutdown' });
    expect(t.events).toHaveLength(a.events.length + b.events.length);
  });

  it('should make settle() reject with a hook that failed, once, and record it either way', async () => {
    const t = createTestSupervisor({
      hooks: {
        onConnect() {
          throw new Error('no room');
        },
      },
    });
    t.client().connect();
    const error = await t.settle().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HookFailedError);
    expect((error as HookFailedError).message).toMatch(/^onConnect of client .* failed: no room$/);
    expect(((error as HookFailedError).cause as Error).message).toBe('no room');
    await t.settle(); // thrown once
    expect(t.hookErrors).toHaveLength(1);

    const quiet = createTestSupervisor({ hookErrors: 'record', hooks: { onConnect: () => Promise.reject(7) } });
    quiet.client().connect();
    await quiet.settle();
    expect(quiet.hookErrors).toMatchObject([{ hook: 'onConnect', message: '7' }]);
  });

  it('should time out a hook on the fake clock, once the clock moves past hookTimeout', async () => {
    // settle() would wait for ever on this hook: move the clock by hand instead
    const t = createTestSupervisor({
      hookErrors: 'record',
      hookTimeout: 100,
      hooks: { onConnect: () => new Promise(() => {}) },
    });
    t.client().connect();
    for (let i = 0; i < 10; i += 1) await Promise.resolve();
    expect(t.clock.fireNext(t.now() + 99)).toBe(false);
    expect(t.clock.fireNext(t.now() + 100)).toBe(true);
    await t.settle();
    expect(t.hookErrors).toMatchObject([{ hook: 'onConnect', timedOut: true }]);
  });

  it('should refuse what would make it lie', () => {
    expect(() => createTestSupervisor({ now: () => 0 } as never)).toThrow(/owns its clock/);
    expect(() => createTestSupervisor({ hooks: { onConect() {} } as never })).toThrow(/unknown hook `hooks.onConect`/);
    expect(() => createTestSupervisor({ reconnectTimeout: -1 })).toThrow(/reconnectTimeout/);
    expect(() => createTestSupervisor({ start: Number.NaN })).toThrow(/start/);
    const t = createTestSupervisor();
    return Promise.all([
      expect(t.advance(-1)).rejects.toThrow(/advance\(ms\)/),
      expect(() => t.stall(Number.POSITIVE_INFINITY)).toThrow(/stall\(ms\)/),
    ]);
  });

  it('should start its clock where asked', async () => {
    const t = createTestSupervisor({ start: 1_700_000_000_000, handshakeTimeout: 10 });
    const c = t.client();
    expect(c.view()).toMatchObject({ createdAt: 1_700_000_000_000, expiresAt: 1_700_000_000_010 });
    await t.advance(10);
    expect(c.events.at(-1)).toMatchObject({ type: 'deleted', reason: 'handshake-timeout', at: 1_700_000_000_010 });
    expect(t.options).toMatchObject({ start: 1_700_000_000_000, handshakeTimeout: 10, reconnectTimeout: 3000 });
  });
});
