import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LifecycleEvent } from '../../src/core/types.js';
import { createSupervisor } from '../../src/index.js';
import { DESIGN_CELLS, generatePaths, replay } from '../../src/testing/lifecycleModel.js';
import { createCoverage } from './coverage.js';
import { checkStep, type HookCounts, inProcessDriver } from './drivers.js';

// Paths generated from the lifecycle model (xstate/graph), each executed against the real
// supervisor on fake time, checking state, socket, hooks, registry and reports after every step.

const paths = generatePaths();
const coverage = createCoverage();

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => vi.useRealTimers());
afterAll(() => coverage.report('in-process paths'));

describe(`model paths, in-process (${paths.length} generated)`, () => {
  it.each(paths.map((path) => [path.description, path] as const))('%s', async (_description, path) => {
    const hooks: HookCounts = { onConnect: 0, onDisconnect: 0, onDelete: 0 };
    const events: LifecycleEvent[] = [];
    const supervisor = createSupervisor({
      handshakeTimeout: 1000,
      reconnectTimeout: 300,
      pruneInterval: 0,
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
    const driver = inProcessDriver(supervisor, hooks, events);
    supervisor.events$.subscribe((event) => {
      if (event.clientId === driver.clientId) events.push(event);
    });
    const snapshots = replay(path.events);
    for (const [i, event] of path.events.entries()) {
      const mark = events.length;
      await driver.exec(event, snapshots[i]!, snapshots[i + 1]!);
      await checkStep(driver, event, snapshots[i + 1]!, events.slice(mark));
    }
    await supervisor.close();
    // whatever the path, onDelete ran exactly once in the end
    expect(hooks.onDelete).toBe(1);
    coverage.recordPath(path.events);
  });

  it('should have exercised every cell of the DESIGN table', () => {
    expect(coverage.missing()).toEqual([]);
    expect(coverage.report('in-process paths, checked')).toBe(
      `transition coverage: ${DESIGN_CELLS.length}/${DESIGN_CELLS.length} cells (in-process paths, checked)`,
    );
  });
});
