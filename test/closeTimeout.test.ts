import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type LifecycleEvent } from '../src/index.js';
import { type Harness, once, startHarness } from './helpers/io.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('close() within closeTimeout', () => {
  it('should resolve after closeTimeout although a hook never settles, and report it abandoned', async () => {
    const errors: Array<Record<string, unknown>> = [];
    const noop = () => {};
    let laterHookRan = false;
    h = await startHarness({
      // far beyond the test: only closeTimeout can end the wait
      hookTimeout: 600_000,
      closeTimeout: 300,
      logger: { debug: noop, info: noop, warn: noop, error: (obj) => void errors.push(obj as Record<string, unknown>) },
      hooks: {
        onConnect: () => new Promise(() => {}),
        onDelete: () => {
          laterHookRan = true;
        },
      },
    });
    const events: LifecycleEvent[] = [];
    h.supervisor.events$.subscribe((event) => events.push(event));
    const { clientId, token } = h.supervisor.register();
    const connected = h.next((event) => event.type === 'connected');
    await once(h.connect({ clientId, token }), 'connect');
    await connected;
    const started = performance.now();
    await h.supervisor.close();
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2000);
    // both hooks are reported: onConnect was running, onDelete (shutdown) queued behind it
    const reported = events.filter((event) => event.type === 'hook-error');
    expect(reported.map((event) => [event.clientId, event.type === 'hook-error' && event.hook])).toEqual([
      [clientId, 'onConnect'],
      [clientId, 'onDelete'],
    ]);
    expect(reported.every((event) => event.type === 'hook-error' && event.timedOut)).toBe(true);
    expect(errors.map((line) => line.hook)).toEqual(['onConnect', 'onDelete']);
    expect(String((errors[0]!.err as Error).message)).toMatch(
      /still running when close\(\) reached closeTimeout \(300 ms\)/,
    );
    expect(String((errors[1]!.err as Error).message)).toMatch(/still queued/);
    expect(h.supervisor.health()).toMatchObject({ live: false, ready: false, closing: true });
    // an abandoned hook never starts afterwards
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(laterHookRan).toBe(false);
  });

  it('should not wait for closeTimeout when the hooks settle', async () => {
    const supervisor = createSupervisor({ closeTimeout: 5000, hooks: { onDelete: async () => {} } });
    supervisor.register();
    const started = performance.now();
    await supervisor.close();
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('should validate closeTimeout as a duration', () => {
    for (const bad of [0, -1, Number.NaN, '10', 2 ** 31]) {
      expect(() => createSupervisor({ closeTimeout: bad as number })).toThrow(/option `closeTimeout`/);
    }
  });
});

describe('health()', () => {
  it('should be ready and live while running, with the clients and pending hooks', async () => {
    let release = () => {};
    h = await startHarness({ hooks: { onConnect: () => new Promise<void>((resolve) => (release = resolve)) } });
    expect(h.supervisor.health()).toEqual({
      ready: true,
      live: true,
      closing: false,
      clients: { handshaking: 0, connected: 0, disconnected: 0, total: 0 },
      pendingHooks: 0,
    });
    const { clientId, token } = h.supervisor.register();
    const connected = h.next((event) => event.type === 'connected');
    await once(h.connect({ clientId, token }), 'connect');
    await connected;
    expect(h.supervisor.health()).toMatchObject({
      ready: true,
      clients: { connected: 1, total: 1 },
      pendingHooks: 1,
    });
    release();
  });

  it('should stop being ready as soon as close() begins, and stop being live when it ends', async () => {
    let release = () => {};
    let started = () => {};
    const running = new Promise<void>((resolve) => (started = resolve));
    const onDelete = () =>
      new Promise<void>((resolve) => {
        release = resolve;
        started();
      });
    const supervisor = createSupervisor({ hooks: { onDelete } });
    supervisor.register();
    const closed = supervisor.close();
    expect(supervisor.health()).toMatchObject({ ready: false, live: true, closing: true });
    await running;
    expect(supervisor.health()).toMatchObject({ ready: false, live: true, pendingHooks: 1 });
    const releasedAt = performance.now();
    release();
    await closed;
    expect(performance.now() - releasedAt).toBeLessThan(1000);
    expect(supervisor.health()).toMatchObject({ ready: false, live: false, closing: true, pendingHooks: 0 });
  });
});
