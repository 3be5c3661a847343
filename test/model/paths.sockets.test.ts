import { afterAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../src/core/types.js';
import { DESIGN_CELLS, generatePaths, replay } from '../../src/testing/lifecycleModel.js';
import { type Harness, startHarness } from '../helpers/io.js';
import { createCoverage } from './coverage.js';
import { checkStep, type HookCounts, socketDriver } from './drivers.js';

// The same generated paths against a real socket.io server with real socket.io-client sockets
// and short real timeouts.

const paths = generatePaths();
const coverage = createCoverage();
afterAll(() => coverage.report('real-socket paths'));

describe(`model paths, real sockets (${paths.length} generated)`, () => {
  it.each(paths.map((path) => [path.description, path] as const))('%s', async (_description, path) => {
    const hooks: HookCounts = { onConnect: 0, onDisconnect: 0, onDelete: 0 };
    const events: LifecycleEvent[] = [];
    let h: Harness | undefined;
    try {
      h = await startHarness({
        handshakeTimeout: 400,
        reconnectTimeout: 150,
        hooks: {
          onConnect: () => {
            hooks.onConnect += 1;
          },
          onDisconnect: () => {
            hooks.onDisconnect += 1;
          },
          onDelete: () => {
            hooks.onDelete += 1;
          },
        },
      });
      const driver = socketDriver(h, hooks, events);
      h.supervisor.events$.subscribe((event) => {
        if (event.clientId === driver.clientId) events.push(event);
      });
      const snapshots = replay(path.events);
      for (const [i, event] of path.events.entries()) {
        const mark = events.length;
        await driver.exec(event, snapshots[i]!, snapshots[i + 1]!);
        await checkStep(driver, event, snapshots[i + 1]!, events.slice(mark));
      }
    } finally {
      await h?.close();
    }
    expect(hooks.onDelete).toBe(1);
    coverage.recordPath(path.events);
  });

  it('should have exercised every cell of the DESIGN table', () => {
    expect(coverage.missing()).toEqual([]);
    expect(coverage.report('real-socket paths, checked')).toContain(`${DESIGN_CELLS.length}/${DESIGN_CELLS.length}`);
  });
});
