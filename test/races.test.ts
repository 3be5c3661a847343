import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { internalsOf } from '../src/core/internals.js';
import { recordedSupervisor, settle, useFakeClock } from './helpers/supervisor.js';

// The races that made NiceGUI raise KeyError on `del Client.instances[id]`: each asserts that
// onDelete runs exactly once and the registry ends the right size.

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

function setup() {
  const t = recordedSupervisor({ reconnectTimeout: 300, handshakeTimeout: 1000 });
  const { clientId } = t.supervisor.register();
  return { ...t, clientId };
}

describe('NiceGUI races', () => {
  it('prune then a late disconnect: one delete, the disconnect is ignored', async () => {
    const t = setup();
    t.handshake(t.clientId, 's');
    t.disconnect(t.clientId, 's');
    vi.setSystemTime(Date.now() + 300); // clock passes the deadline; the host timer has not run
    expect(t.supervisor.prune()).toBe(1);
    t.disconnect(t.clientId, 's');
    await settle();
    expect(t.deletes(t.clientId)).toHaveLength(1);
    expect(t.ignored()).toEqual(['already-deleted']);
    expect(t.supervisor.list()).toHaveLength(0);
  });

  it('prune during the grace window: nothing happens', async () => {
    const t = setup();
    t.handshake(t.clientId, 's');
    t.disconnect(t.clientId, 's');
    vi.advanceTimersByTime(150);
    expect(t.supervisor.prune()).toBe(0);
    t.handshake(t.clientId, 's2');
    await settle();
    expect(t.supervisor.get(t.clientId)?.state).toBe('connected');
    expect(t.deletes(t.clientId)).toHaveLength(0);
  });

  it("a disconnect that arrives after the new socket's handshake is ignored as stale", async () => {
    const t = setup();
    t.handshake(t.clientId, 'old');
    t.handshake(t.clientId, 'new'); // reconnect raced ahead of the old socket's disconnect
    t.disconnect(t.clientId, 'old');
    await settle();
    expect(t.supervisor.get(t.clientId)).toMatchObject({ state: 'connected', socketId: 'new' });
    expect(t.ignored()).toEqual(['stale-socket']);
    expect(t.hooksOf(t.clientId)).toEqual(['onConnect']);
  });

  it('a duplicate disconnect is ignored and the grace period is not restarted', async () => {
    const t = setup();
    t.handshake(t.clientId, 's');
    t.disconnect(t.clientId, 's');
    vi.advanceTimersByTime(200);
    t.disconnect(t.clientId, 's');
    vi.advanceTimersByTime(100);
    await settle();
    expect(t.supervisor.get(t.clientId)).toBeUndefined();
    expect(t.ignored()).toEqual(['not-connected']);
    expect(t.hooksOf(t.clientId)).toEqual(['onConnect', 'onDisconnect', 'onDelete']);
  });

  it('a disconnect before any handshake is ignored', async () => {
    const t = setup();
    t.disconnect(t.clientId, 's');
    await settle();
    expect(t.supervisor.get(t.clientId)?.state).toBe('handshaking');
    expect(t.ignored()).toEqual(['not-connected']);
    expect(t.calls).toHaveLength(0);
  });

  it('delete during the grace period: one onDelete, no timer fires later', async () => {
    const t = setup();
    t.handshake(t.clientId, 's');
    t.disconnect(t.clientId, 's');
    vi.advanceTimersByTime(100);
    expect(t.supervisor.delete(t.clientId, 'kicked')).toBe(true);
    vi.advanceTimersByTime(1000);
    await settle();
    expect(t.deletes(t.clientId).map((call) => call.arg)).toEqual(['kicked']);
    expect(internalsOf(t.supervisor).store.deadlines.size).toBe(0);
  });

  it('delete twice: the second returns false and is reported as ignored, never a second onDelete', async () => {
    const t = setup();
    expect(t.supervisor.delete(t.clientId)).toBe(true);
    expect(t.supervisor.delete(t.clientId)).toBe(false);
    t.remove(t.clientId);
    await settle();
    expect(t.deletes(t.clientId)).toHaveLength(1);
    expect(t.ignored()).toEqual(['already-deleted', 'already-deleted']);
  });

  it('prune and timer at the same instant: whichever runs first deletes, once', async () => {
    const t = setup();
    t.handshake(t.clientId, 's');
    t.disconnect(t.clientId, 's');
    vi.setSystemTime(Date.now() + 300);
    expect(t.supervisor.prune()).toBe(1);
    vi.advanceTimersByTime(300); // the host timer fires too, and finds nothing due
    await settle();
    expect(t.deletes(t.clientId).map((call) => call.arg)).toEqual(['pruned']);
    expect(t.supervisor.stats().deleted).toEqual({ pruned: 1 });
  });

  it('timer then prune at the same instant: deleted once by the timer', async () => {
    const t = setup();
    t.handshake(t.clientId, 's');
    t.disconnect(t.clientId, 's');
    vi.advanceTimersByTime(300);
    expect(t.supervisor.prune()).toBe(0);
    await settle();
    expect(t.deletes(t.clientId).map((call) => call.arg)).toEqual(['reconnect-timeout']);
  });

  it('delete, timeout, prune and close all racing: still one onDelete', async () => {
    const t = setup();
    t.handshake(t.clientId, 's');
    t.disconnect(t.clientId, 's');
    vi.setSystemTime(Date.now() + 300);
    t.remove(t.clientId, 'first');
    t.sweep();
    vi.advanceTimersByTime(300);
    await t.supervisor.close();
    expect(t.deletes(t.clientId).map((call) => call.arg)).toEqual(['first']);
  });

  it('a handshake processed after its socket died leaves no connected ghost', async () => {
    const t = setup();
    // the adapter sends the disconnect right after the late handshake
    t.handshake(t.clientId, 'dead');
    t.disconnect(t.clientId, 'dead', 'transport close');
    vi.advanceTimersByTime(300);
    await settle();
    expect(t.supervisor.get(t.clientId)).toBeUndefined();
    expect(t.deletes(t.clientId)).toHaveLength(1);
  });
});
