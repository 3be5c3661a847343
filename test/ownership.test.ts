import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientView, OwnershipContext, ReleaseWhy, SupervisorOptions } from '../src/index.js';
import { eventually } from './helpers/eventually.js';
import { type Harness, startHarness } from './helpers/io.js';

// Ownership hooks on a single node (DESIGN.md "Turn 3", "Hooks in cluster mode"): onAcquire at a
// client's first handshake, onRelease at its delete (`deleted`) or when the server closes
// (`leaving`), each onAcquire followed by exactly one onRelease, whatever the hooks do.

type Call = { hook: string; clientId: string; arg?: unknown; state: string };

function recording(extra: Partial<SupervisorOptions['hooks']> = {}) {
  const calls: Call[] = [];
  const hooks: NonNullable<SupervisorOptions['hooks']> = {
    onConnect: (c: ClientView, ctx) =>
      void calls.push({ hook: 'onConnect', clientId: c.clientId, arg: ctx.reconnect, state: c.state }),
    onDisconnect: (c: ClientView) => void calls.push({ hook: 'onDisconnect', clientId: c.clientId, state: c.state }),
    onDelete: (c: ClientView, reason) =>
      void calls.push({ hook: 'onDelete', clientId: c.clientId, arg: reason, state: c.state }),
    onAcquire: (c: ClientView, ctx: OwnershipContext) =>
      void calls.push({ hook: 'onAcquire', clientId: c.clientId, arg: ctx, state: c.state }),
    onRelease: (c: ClientView, _ctx: OwnershipContext, why: ReleaseWhy) =>
      void calls.push({ hook: 'onRelease', clientId: c.clientId, arg: why, state: c.state }),
    ...extra,
  };
  const of = (clientId: string) => calls.filter((c) => c.clientId === clientId).map((c) => c.hook);
  return { calls, hooks, of };
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('ownership hooks on a single node (real socket.io)', () => {
  it('should acquire at the first handshake only, and release once at delete (deleted)', async () => {
    const r = recording();
    harness = await startHarness({ hooks: r.hooks });
    const { clientId, token } = harness.supervisor.register();
    const first = harness.connect({ clientId, token });
    await eventually(() => expect(first.connected).toBe(true));
    await eventually(() => expect(r.of(clientId)).toEqual(['onAcquire', 'onConnect']));
    // a swap and a reconnect keep the ownership
    const second = harness.connect({ clientId, token });
    await eventually(() => expect(second.connected).toBe(true));
    second.disconnect();
    await eventually(() => expect(r.of(clientId)).toContain('onDisconnect'));
    const third = harness.connect({ clientId, token });
    await eventually(() => expect(r.of(clientId).filter((h) => h === 'onConnect')).toHaveLength(2));
    harness.supervisor.delete(clientId);
    await eventually(() =>
      expect(r.of(clientId)).toEqual(['onAcquire', 'onConnect', 'onDisconnect', 'onConnect', 'onDelete', 'onRelease']),
    );
    const acquire = r.calls.find((c) => c.hook === 'onAcquire')!;
    expect(acquire.arg).toEqual({ nodeId: null, fence: null });
    expect(acquire.state).toBe('connected');
    expect(r.calls.find((c) => c.hook === 'onRelease')!.arg).toBe('deleted');
    third.disconnect();
  });

  it('should not acquire a client that never connected (no release either)', async () => {
    const r = recording();
    harness = await startHarness({ hooks: r.hooks });
    const { clientId } = harness.supervisor.register();
    harness.supervisor.delete(clientId);
    await eventually(() => expect(r.of(clientId)).toEqual(['onDelete']));
  });

  it('should release every acquired client with leaving when the server closes, before onDelete', async () => {
    const r = recording();
    harness = await startHarness({ hooks: r.hooks });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { clientId, token } = harness.supervisor.register();
      ids.push(clientId);
      harness.connect({ clientId, token });
    }
    const idle = harness.supervisor.register().clientId;
    await eventually(() => expect(ids.every((id) => r.of(id).includes('onConnect'))).toBe(true));
    const h = harness;
    harness = undefined;
    await h.close();
    for (const id of ids) {
      const mine = r.calls.filter((c) => c.clientId === id && c.hook !== 'onDisconnect');
      expect(mine.map((c) => [c.hook, c.arg])).toEqual([
        ['onAcquire', { nodeId: null, fence: null }],
        ['onConnect', false],
        ['onRelease', 'leaving'],
        ['onDelete', 'shutdown'],
      ]);
    }
    expect(r.of(idle)).toEqual(['onDelete']);
  });

  it('should keep the pairing when onAcquire throws or hangs, and report it as a hook-error', async () => {
    const r = recording({
      onAcquire: (c: ClientView) => {
        if (c.data === 'throw') throw new Error('boom');
        return new Promise(() => {});
      },
    });
    harness = await startHarness({ hooks: r.hooks, hookTimeout: 100 });
    const errors: string[] = [];
    harness.supervisor.events$.subscribe((e) => {
      if (e.type === 'hook-error') errors.push(`${e.hook} ${e.timedOut}`);
    });
    const a = harness.supervisor.register({ data: 'throw' });
    const b = harness.supervisor.register({ data: 'hang' });
    harness.connect(a);
    harness.connect(b);
    await eventually(() => expect(errors.sort()).toEqual(['onAcquire false', 'onAcquire true']));
    harness.supervisor.delete(a.clientId);
    harness.supervisor.delete(b.clientId);
    await eventually(() => {
      expect(r.of(a.clientId)).toEqual(['onConnect', 'onDelete', 'onRelease']);
      expect(r.of(b.clientId)).toEqual(['onConnect', 'onDelete', 'onRelease']);
    });
  });

  it('should refuse an unknown hook still, and take onAcquire/onRelease', async () => {
    const { createSupervisor } = await import('../src/index.js');
    expect(() => createSupervisor({ hooks: { onAquire: () => {} } as never })).toThrow(/unknown hook `hooks.onAquire`/);
    const s = createSupervisor({ hooks: { onAcquire: () => {}, onRelease: () => {} } });
    await s.close();
  });
});

describe('ownership pairing (property, real socket.io)', () => {
  it('should follow every onAcquire with exactly one onRelease, whatever the order of connects, drops, deletes and close', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('connect', 'drop', 'delete'), fc.integer({ min: 0, max: 2 })), {
          minLength: 1,
          maxLength: 12,
        }),
        async (steps) => {
          const r = recording();
          const h = await startHarness({ hooks: r.hooks });
          let connects = 0;
          try {
            const clients = [0, 1, 2].map(() => h.supervisor.register());
            const sockets = new Map<number, ReturnType<Harness['connect']>>();
            for (const [step, i] of steps) {
              const client = clients[i]!;
              if (step === 'connect') {
                const socket = h.connect(client);
                sockets.set(i, socket);
                await new Promise<void>((resolve) => {
                  socket.once('connect', () => {
                    connects += 1;
                    resolve();
                  });
                  socket.once('connect_error', () => resolve());
                });
              } else if (step === 'drop') sockets.get(i)?.disconnect();
              else h.supervisor.delete(client.clientId);
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
          } finally {
            await h.close();
          }
          for (const id of new Set(r.calls.map((c) => c.clientId))) {
            const ownership = r.calls.filter(
              (c) => c.clientId === id && (c.hook === 'onAcquire' || c.hook === 'onRelease'),
            );
            // alternating, starting with onAcquire, ending with onRelease
            for (const [n, c] of ownership.entries()) expect(c.hook).toBe(n % 2 === 0 ? 'onAcquire' : 'onRelease');
            expect(ownership.length % 2).toBe(0);
          }
          // and something was acquired whenever a client connected
          expect(r.calls.some((c) => c.hook === 'onAcquire')).toBe(connects > 0);
        },
      ),
      { numRuns: 15 },
    );
  }, 60_000);
});

describe('ownership hooks in the testing kit', () => {
  it('should run the app’s onAcquire/onRelease under createTestSupervisor, paired', async () => {
    const { createTestSupervisor } = await import('../src/testing/index.js');
    const log: string[] = [];
    const t = createTestSupervisor({
      hooks: {
        onAcquire: (client) => void log.push(`${client.clientId} acquire ${client.state}`),
        onRelease: (client, _ctx, why) => void log.push(`${client.clientId} release ${why}`),
      },
    });
    const a = t.client();
    a.connect('s1');
    a.swap();
    a.disconnect();
    a.connect('s3');
    a.delete();
    const b = t.client();
    b.connect('s4');
    await t.settle();
    await t.close();
    const of = (id: string) => log.filter((l) => l.startsWith(`${id} `)).map((l) => l.slice(id.length + 1));
    expect({ a: of(a.clientId), b: of(b.clientId) }).toEqual({
      a: ['acquire connected', 'release deleted'],
      b: ['acquire connected', 'release leaving'],
    });
  });
});
