import { describe, expect, it } from 'vitest';
import { runClusterSoak } from './procs/soak.js';

// The short version of `npm run soak:cluster` (and of `npm run soak:reshard`): 3 node processes and
// Redis under random faults, then every client deleted exactly once, the invariants on the nodes'
// logs, and no error met by a page or the API but UNAVAILABLE (retried).
describe('cluster soak (short)', () => {
  it('should keep the invariants under random faults and delete every client exactly once in the end', async () => {
    // past 110 s it fails with its seed and what is still pending, before vitest's timeout (which names nothing)
    const result = await runClusterSoak({ seconds: 8, browsers: 24, deadlineMs: 110_000 });
    // no page nor API call met an error but UNAVAILABLE (retried), or one from a node a fault disturbed
    expect(result.unexpectedErrors, `seed ${result.seed}`).toEqual([]);
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
    expect(result.unexpectedErrors, context).toEqual([]);
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

  // issue 20: the same on a 3-master Redis Cluster, the slot of every key moving between the masters
  // all along (atomic moves, batched moves, redis-cli --cluster reshard) while clients connect, drop
  // and are deleted, and nodes are killed, paused and restarted (some during a move)
  it('should keep the invariants while the slot of every key moves between the masters of a Redis Cluster, pages seeing no error but UNAVAILABLE', async () => {
    const result = await runClusterSoak({ seconds: 22, browsers: 24, redisCluster: true, deadlineMs: 170_000 });
    const context = `seed ${result.seed}, faults ${JSON.stringify(result.faults)}, moves ${JSON.stringify(result.moves)}, trace /tmp/cluster-soak-${result.seed}.trace`;
    expect(result.unexpectedErrors, context).toEqual([]);
    expect(result.report.violations, context).toEqual([]);
    expect(result.undeleted, context).toBe(0);
    expect(result.doubleCompleted, context).toBe(0);
    expect(result.outboxesLeft, context).toBe(0);
    // nothing left behind on a master the slot left
    expect(result.keysElsewhere, context).toBe(0);
    expect(result.clients, context).toBeGreaterThan(20);
    // every kind of move came up, more than once in all
    expect(Object.keys(result.moves).sort(), context).toEqual([
      'atomic move',
      'batched move',
      'redis-cli --cluster reshard',
    ]);
    expect(
      Object.values(result.moves).reduce((a, b) => a + b, 0),
      context,
    ).toBeGreaterThan(6);
  }, 180_000);
});
