import { describe, expect, it } from 'vitest';
import {
  createTestSupervisor,
  DESIGN_CELLS,
  HookFailedError,
  LifecyclePathError,
  lifecyclePaths,
} from '../../src/testing/index.js';
import { generatePaths } from '../../src/testing/lifecycleModel.js';
import { expectedCatch, type PresenceBug, presenceApp } from './fixtures/presenceApp.js';

// lifecyclePaths(): the lifecycle model's paths, run against an app's hooks. A sample app passes
// every path; each of its deliberate bugs is caught on exactly the paths that should catch it.

const paths = lifecyclePaths();

/** Runs one path against a fresh app; the index of the step it failed after, or null. */
async function caughtAt(path: (typeof paths)[number], bug?: PresenceBug): Promise<number | null> {
  const app = presenceApp(bug);
  try {
    await path.run(createTestSupervisor({ hooks: app.hooks }), app.check);
    return null;
  } catch (error) {
    if (!(error instanceof LifecyclePathError)) throw error;
    return error.step;
  }
}

describe('lifecyclePaths', () => {
  it('should be the paths of the library model, one story each', () => {
    expect(paths.map((path) => path.steps.map((step) => step.event).join(' → ') || '(registered)')).toEqual(
      generatePaths().map((path) => path.description),
    );
    expect(new Set(paths.map((path) => path.name)).size).toBe(paths.length);
    expect(paths.map((path) => path.name)).toContain(
      'registers, connects, disconnects, reconnects, the server shuts down',
    );
  });

  it('should cover every cell of the DESIGN table, the races by name', () => {
    const cells = new Set(paths.flatMap((path) => path.cells));
    expect([...DESIGN_CELLS].filter((cell) => !cells.has(cell))).toEqual([]);
    const stories = new Set(paths.flatMap((path) => path.steps.map((step) => step.story)));
    for (const race of [
      'a second disconnect arrives',
      'a prune sweep passes after the delete',
      "a stale socket's disconnect arrives",
      'a second socket takes over (socket swap)',
      'is deleted during its handshake',
      'the event loop stalls past its reconnect deadline and a prune beats the late timer',
      'the event loop stalls past its handshake deadline and a prune beats the late timer',
    ]) {
      expect(stories, race).toContain(race);
    }
  });

  it('should run every path against a correct app, its check after every step', async () => {
    const covered = new Set<string>();
    let checks = 0;
    for (const path of paths) {
      const app = presenceApp();
      await path.run(createTestSupervisor({ hooks: app.hooks }), (t, at) => {
        checks += 1;
        expect(at.path).toBe(path);
        app.check(t);
      });
      for (const cell of path.cells) covered.add(cell);
    }
    // the registration, every step and the shutdown
    expect(checks).toBe(paths.reduce((sum, path) => sum + path.steps.length + 2, 0));
    const line = `app paths: ${paths.length} paths, ${covered.size}/${DESIGN_CELLS.length} cells`;
    process.stdout.write(`${line}\n`);
    expect(line).toBe(`app paths: 47 paths, 22/22 cells`);
  });

  it('should run a thousand paths on the fake clock (time printed, not asserted)', async () => {
    const thousand = lifecyclePaths({ maxSteps: 5 }).slice(0, 1000);
    const run = (path: (typeof paths)[number]) => {
      const app = presenceApp();
      return path.run(createTestSupervisor({ hooks: app.hooks }), app.check);
    };
    // the shorter paths first, so the time is the kit's and not the JIT's
    for (const path of lifecyclePaths({ maxSteps: 3 })) await run(path);
    const started = performance.now();
    for (const path of thousand) await run(path);
    const ms = performance.now() - started;
    expect(new Set(thousand.map((path) => path.name)).size).toBe(1000);
    process.stdout.write(`app paths: 1000 distinct paths (up to 5 steps) in ${ms.toFixed(0)} ms\n`);
  });

  it('should enumerate every path of up to maxSteps steps, every cell from 3 steps on', () => {
    const counts = [0, 1, 2, 3, 4, 5].map((maxSteps) => lifecyclePaths({ maxSteps }).length);
    expect(counts).toEqual([1, 7, 37, 131, 485, 1951]);
    const three = lifecyclePaths({ maxSteps: 3 });
    expect(new Set(three.map((path) => path.name)).size).toBe(three.length);
    expect(new Set(three.flatMap((path) => path.cells)).size).toBe(DESIGN_CELLS.length);
    // the library's paths are among them (they are at most 4 steps long)
    const four = new Set(lifecyclePaths({ maxSteps: 4 }).map((path) => path.name));
    expect(paths.filter((path) => !four.has(path.name))).toEqual([]);
    expect(() => lifecyclePaths({ maxSteps: 1.5 })).toThrow(/maxSteps/);
  });

  for (const bug of ['forgets-reconnect', 'delete-assumes-connect', 'keeps-state-on-shutdown'] as const) {
    it(`should catch the ${bug} bug on exactly the paths that can see it, at the step it shows`, async () => {
      for (const list of [paths, lifecyclePaths({ maxSteps: 3 })]) {
        const caught: Record<string, number | null> = {};
        const expected: Record<string, number | null> = {};
        for (const path of list) {
          caught[path.name] = await caughtAt(path, bug);
          expected[path.name] = expectedCatch(path, bug);
        }
        expect(caught).toEqual(expected);
        // each bug is seen by some paths and missed by others: the oracle is not trivial
        const seen = Object.values(expected).filter((step) => step !== null).length;
        expect(seen).toBeGreaterThan(0);
        expect(seen).toBeLessThan(list.length);
      }
    });
  }

  it('should let a prune tick that falls on a deadline take the client, as DESIGN allows', async () => {
    const deleted: string[] = [];
    for (const path of lifecyclePaths({ maxSteps: 3 })) {
      const t = createTestSupervisor({ handshakeTimeout: 20_000, reconnectTimeout: 10_000, pruneInterval: 10_000 });
      await path.run(t);
      for (const event of t.events) {
        if (event.type === 'deleted' && path.steps.some((step) => step.event === 'TIMEOUT')) deleted.push(event.reason);
      }
    }
    // the timer and the sweep are due at the same instant: the sweep takes some of them
    expect(deleted).toContain('pruned');
  });

  it('should name the path and the step, and keep the failure as the cause', async () => {
    const path = paths.find((p) => p.name === 'registers, connects, disconnects, reconnects, the server shuts down')!;
    const app = presenceApp('forgets-reconnect');
    const t = createTestSupervisor({ hooks: app.hooks });
    const error = (await path.run(t, app.check).catch((e: unknown) => e)) as LifecyclePathError;
    expect(error).toBeInstanceOf(LifecyclePathError);
    const [client] = t.clients();
    expect(error.message).toBe(
      `lifecycle path "${path.name}", after "reconnects": online is [], the connected clients are [${client!.clientId}]`,
    );
    expect(error.step).toBe(2);
    expect(error.story).toBe('reconnects');
    expect((error.cause as Error).message).toBe(`online is [], the connected clients are [${client!.clientId}]`);
  });

  it('should fail a path on a hook error, with the hook failure as the cause', async () => {
    const path = paths.find((p) => p.name === 'registers, is deleted during its handshake, the server shuts down')!;
    const app = presenceApp('delete-assumes-connect');
    const error = (await path.run(createTestSupervisor({ hooks: app.hooks })).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(LifecyclePathError);
    expect(error.cause).toBeInstanceOf(HookFailedError);
    expect(error.message).toMatch(
      /after "is deleted during its handshake": onDelete of client .* failed: Cannot read properties of undefined/,
    );
  });

  it('should fail a path when the lifecycle differs from the table (an app that deletes on connect)', async () => {
    const path = paths.find((p) => p.name === 'registers, connects, disconnects, the server shuts down')!;
    const t = createTestSupervisor({
      hooks: {
        onConnect(client) {
          t.supervisor.delete(client.clientId, 'kicked');
        },
      },
    });
    await expect(path.run(t)).rejects.toThrow(
      'lifecycle path "registers, connects, disconnects, the server shuts down", after "connects": the client is deleted; the lifecycle table says connected',
    );
  });

  it('should register the path client as asked, and leave t open without a shutdown', async () => {
    const [path] = lifecyclePaths({ client: { tabId: 'tab-7', data: { user: 'ada' } }, shutdown: false }).filter(
      (p) => p.name === 'registers, connects',
    );
    const t = createTestSupervisor<{ user: string }>();
    await path!.run(t);
    const [client] = t.clients();
    expect(client!.view()).toMatchObject({ state: 'connected', tabId: 'tab-7', data: { user: 'ada' } });
    await t.close();
    expect(client!.state).toBe('deleted');
  });
});
