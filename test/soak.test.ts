import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { runSoak } from '../soak/lifecycles.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('lifecycle soak (short)', () => {
  it('should run 50,000 lifecycles with random interleavings and leave nothing behind', async () => {
    const result = await runSoak({ lifecycles: 50_000, seed: 20261124, gc });
    expect(result.deletes).toBe(50_000);
    expect(result.doubleDeletes).toBe(0);
    expect(result.leftovers).toEqual({
      records: 0,
      deadlines: 0,
      tombstones: 0,
      systemActors: 0,
      awaitingOnDelete: 0,
      hookChains: 0,
      eventSubscribers: 0,
      activeTimers: 0,
    });
    // every path of the soak was taken (how many the grace timer or a sweep deletes depends on
    // how late the host timers run, so only their sum is fixed)
    const { manual = 0, closed = 0, pruned = 0 } = result.deletedByReason;
    const timedOut = result.deletedByReason['reconnect-timeout'] ?? 0;
    expect(manual).toBeGreaterThan(5_000);
    expect(closed).toBeGreaterThan(2_000);
    expect(timedOut).toBeGreaterThan(10_000);
    expect(manual + closed + pruned + timedOut).toBe(50_000);
    expect(result.ignoredByWhy['not-connected']).toBeGreaterThan(5_000);
    expect((result.heapEnd - result.heapStart) / result.heapStart).toBeLessThanOrEqual(0.05);
  }, 120_000);
});
