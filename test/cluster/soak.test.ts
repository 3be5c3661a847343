import { describe, expect, it } from 'vitest';
import { runClusterSoak } from './procs/soak.js';

// The short version of `npm run soak:cluster`: 3 node processes and Redis under random faults,
// then every client deleted exactly once and the invariants on the nodes' logs.
describe('cluster soak (short)', () => {
  it('should keep the invariants under random faults and delete every client exactly once in the end', async () => {
    // past 110 s it fails with its seed and what is still pending, before vitest's timeout (which names nothing)
    const result = await runClusterSoak({ seconds: 8, browsers: 24, deadlineMs: 110_000 });
    expect(result.report.violations, `seed ${result.seed}, trace /tmp/cluster-soak-${result.seed}.trace`).toEqual([]);
    expect(result.undeleted, `seed ${result.seed}, trace /tmp/cluster-soak-${result.seed}.trace`).toBe(0);
    expect(result.doubleCompleted, `seed ${result.seed}`).toBe(0);
    // every outbox went with its client
    expect(result.outboxesLeft, `seed ${result.seed}`).toBe(0);
    expect(result.emitted).toBeGreaterThan(0);
    // it did something
    expect(result.clients).toBeGreaterThan(20);
    expect(Object.values(result.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  }, 120_000);

  // issue 19's faults too: partitions past nodeTtl, late replies, a slow link, Redis rolled back
  it('should keep the invariants under partitions, late replies and rollbacks too, nothing served outside a lease', async () => {
    const result = await runClusterSoak({ seconds: 24, browsers: 24, networkFaults: true, deadlineMs: 170_000 });
    const context = `seed ${result.seed}, faults ${JSON.stringify(result.faults)}`;
    expect(result.report.violations, context).toEqual([]);
    expect(result.undeleted, context).toBe(0);
    expect(result.doubleCompleted, context).toBe(0);
    expect(result.outboxesLeft, context).toBe(0);
    expect(result.report.appEvents, context).toBeGreaterThan(20);
    // the three that matter most came up (network faults take turns, and come first)
    expect(Object.keys(result.faults), context).toEqual(
      expect.arrayContaining([
        'partition past nodeTtl',
        'late replies (held past commandTimeout)',
        'Redis rollback (older AOF)',
      ]),
    );
  }, 180_000);
});
