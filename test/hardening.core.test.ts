import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LifecycleEvent } from '../src/index.js';
import { recordedSupervisor, settle, useFakeClock } from './helpers/supervisor.js';

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

/** Values String() cannot convert: each once killed the supervisor actor when a hook threw it. */
function unconvertible(): Array<[string, unknown]> {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  return [
    ['Object.create(null)', Object.create(null)],
    [
      'an object whose toString throws',
      {
        toString() {
          throw new Error('no');
        },
      },
    ],
    ['a revoked Proxy', revoked.proxy],
    ['a Symbol', Symbol('thrown')],
  ];
}

describe('user code throwing values String() cannot convert', () => {
  for (const [name, value] of unconvertible()) {
    it(`should report a hook throwing ${name} as a hook-error and keep the supervisor working`, async () => {
      const t = recordedSupervisor({
        reconnectTimeout: 100,
        hooks: {
          onConnect: () => {
            throw value;
          },
        },
      });
      const first = t.supervisor.register().clientId;
      t.handshake(first, 's1');
      await settle();
      const failure = t.events.find((e) => e.type === 'hook-error');
      expect(failure).toMatchObject({ type: 'hook-error', hook: 'onConnect', clientId: first });
      expect(typeof (failure as { message: string }).message).toBe('string');
      expect(t.supervisor.actor.getSnapshot().status).toBe('active');
      // the supervisor still registers, times out and deletes
      const second = t.supervisor.register().clientId;
      t.handshake(second, 's2');
      t.disconnect(second, 's2');
      vi.advanceTimersByTime(100);
      await settle();
      expect(t.deletes(second)).toHaveLength(1);
      expect(t.supervisor.stats().hookErrors).toBe(2);
      await t.supervisor.close();
    });

    it(`should report an events$ subscriber throwing ${name} as a hook-error, not through rxjs's fatal path`, async () => {
      const t = recordedSupervisor();
      const seen: LifecycleEvent[] = [];
      t.supervisor.events$.subscribe((event) => {
        if (event.type === 'registered') throw value;
      });
      t.supervisor.events$.subscribe((event) => seen.push(event));
      const { clientId } = t.supervisor.register();
      await settle();
      expect(seen.map((e) => e.type)).toEqual(['registered', 'hook-error']);
      expect(seen[1]).toMatchObject({ hook: 'events$', clientId });
      await t.supervisor.close();
    });
  }
});

describe('re-entrant calls of the public API', () => {
  it('should register a replacement from an events$ subscriber of a deleted event, complete and connectable', async () => {
    const t = recordedSupervisor({ maxClients: 1 });
    const replacements: Array<{ clientId: string; token: string }> = [];
    t.supervisor.events$.subscribe((event) => {
      if (event.type === 'deleted' && replacements.length === 0) replacements.push(t.supervisor.register());
    });
    const { clientId } = t.supervisor.register();
    t.supervisor.delete(clientId);
    expect(replacements).toHaveLength(1);
    const replacement = replacements[0]!;
    expect(t.supervisor.get(replacement.clientId)?.state).toBe('handshaking');
    expect(t.supervisor.counts()).toEqual({ handshaking: 1, connected: 0, disconnected: 0, total: 1 });
    t.handshake(replacement.clientId, 's1');
    expect(t.supervisor.get(replacement.clientId)?.state).toBe('connected');
    await settle();
    expect(t.supervisor.list().map((view) => view.clientId)).toEqual([replacement.clientId]);
    await t.supervisor.close();
  });

  it('should delete, prune and read from a subscriber and a hook in the middle of a step', async () => {
    const t = recordedSupervisor({
      reconnectTimeout: 100,
      hooks: {
        onDisconnect: (client) => {
          t.supervisor.delete(client.clientId, 'from-hook');
        },
      },
    });
    const pruned: number[] = [];
    t.supervisor.events$.subscribe((event) => {
      if (event.type === 'disconnected' && event.clientId === b) pruned.push(t.supervisor.prune());
      if (event.type === 'connected' && event.clientId === a) t.supervisor.delete(a, 'from-subscriber');
    });
    const a = t.supervisor.register().clientId;
    const b = t.supervisor.register().clientId;
    t.handshake(a, 'sa');
    expect(t.supervisor.get(a)).toBeUndefined();
    t.handshake(b, 'sb');
    t.disconnect(b, 'sb');
    expect(pruned).toEqual([0]);
    await settle();
    expect(t.deletes(a).map((c) => c.arg)).toEqual(['from-subscriber']);
    expect(t.deletes(b).map((c) => c.arg)).toEqual(['from-hook']);
    await t.supervisor.close();
  });
});

describe('the moment a client reaches deleted', () => {
  it('should already be deleted for a subscriber of its deleted event: delete() false, events ignored already-deleted', async () => {
    const t = recordedSupervisor();
    const seen: unknown[] = [];
    t.supervisor.events$.subscribe((event) => {
      if (event.type !== 'deleted') return;
      seen.push(t.supervisor.delete(event.clientId), t.supervisor.get(event.clientId));
      t.supervisor.send({ type: 'socket.handshake', clientId: event.clientId, socketId: 'late-1' });
      t.supervisor.actor.send({ type: 'socket.handshake', clientId: event.clientId, socketId: 'late-2' });
    });
    const { clientId } = t.supervisor.register();
    t.handshake(clientId, 's0');
    t.supervisor.delete(clientId, 'kicked');
    await settle();
    expect(seen).toEqual([false, undefined]);
    expect(t.events.filter((e) => e.clientId === clientId).map((e) => (e.type === 'ignored' ? e.why : e.type))).toEqual(
      ['registered', 'connected', 'deleted', 'already-deleted', 'already-deleted', 'already-deleted'],
    );
    expect(t.deletes(clientId)).toHaveLength(1);
    await t.supervisor.close();
  });
});

describe('stats keys from user code', () => {
  it('should count delete reasons named like Object.prototype members', async () => {
    const t = recordedSupervisor();
    const reasons = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'constructor'];
    for (const reason of reasons) t.supervisor.delete(t.supervisor.register().clientId, reason);
    const { deleted } = t.supervisor.stats();
    expect(deleted.constructor).toBe(2);
    expect(deleted.toString).toBe(1);
    expect(Object.getOwnPropertyDescriptor(deleted, '__proto__')?.value).toBe(1);
    expect(deleted.hasOwnProperty).toBe(1);
    expect(Object.keys(deleted).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    await t.supervisor.close();
  });
});
