import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent, OwnershipContext, ReleaseWhy } from '../../src/index.js';
import { onRedisCluster } from './helpers.js';
import { connect, connected as socketConnected, startNodes, type TestNode } from './nodes.js';
import {
  type Credentials,
  connected,
  type LogEntry,
  type NodeProcess,
  startCluster,
  type TestCluster,
  waitFor,
} from './procs/cluster.js';
import { checkInvariants } from './procs/invariants.js';
import { startRedisServer } from './redisServer.js';

// Ownership hooks in cluster mode (DESIGN.md "Turn 3", "Hooks in cluster mode"): node processes on
// a real redis-server, each logging its onAcquire/onRelease. A node acquires a client when it
// becomes its owner and releases it when another node takes it (handoff), when it was deleted
// (deleted), and when it closes (leaving); each onAcquire is followed by one onRelease per process.
// In the `redis-cluster` project the node processes share a 3-master Redis Cluster instead.

describe('ownership hooks across node processes', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster(3, { redisCluster: onRedisCluster() });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 30_000);

  const ownership = (entries: LogEntry[], clientId: string) =>
    entries
      .filter((e) => e.kind === 'ownership' && e.clientId === clientId)
      .sort((a, b) => a.t - b.t)
      .map((e) => `${e.node} ${e.hook}${e.why ? ` ${e.why}` : ''}`);

  it('should acquire on each new owner and release with handoff, deleted and leaving, paired per node', async () => {
    const [n1, n2, n3] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
    const [a, b] = (await n1.register(2)) as [Credentials, Credentials];
    // a: first handshake on node-1, then its page swaps to node-2, then it is deleted from node-3
    const a1 = cluster.connect(n1, a);
    await connected(a1);
    await waitFor('node-1 acquired a', () => ownership(cluster.log(), a.clientId).length === 1);
    const a2 = cluster.connect(n2, a);
    await connected(a2);
    await waitFor('node-1 released a', () => ownership(cluster.log(), a.clientId).length === 3);
    expect(await n3.command<boolean>('delete', { clientId: a.clientId })).toBe(true);
    await waitFor('node-2 released a', () => ownership(cluster.log(), a.clientId).length === 4);
    // b: connected to node-3, which leaves (a rolling deploy), then resumes on node-1
    const b3 = cluster.connect(n3, b);
    await connected(b3);
    await waitFor('node-3 acquired b', () => ownership(cluster.log(), b.clientId).length === 1);
    await n3.close();
    await waitFor('node-3 released b', () => ownership(cluster.log(), b.clientId).length === 2);
    const b1 = cluster.connect(n1, b);
    await connected(b1);
    await waitFor('node-1 acquired b', () => ownership(cluster.log(), b.clientId).length === 3);

    const entries = cluster.log();
    // per node, in order (between two processes the order of a swap's acquire and release is free)
    const perNode = (clientId: string) => {
      const lines: Record<string, string[]> = {};
      for (const line of ownership(entries, clientId)) {
        const [node, ...rest] = line.split(' ');
        const list = lines[node!] ?? [];
        list.push(rest.join(' '));
        lines[node!] = list;
      }
      return lines;
    };
    expect({ a: perNode(a.clientId), b: perNode(b.clientId) }).toEqual({
      a: { 'node-1': ['onAcquire', 'onRelease handoff'], 'node-2': ['onAcquire', 'onRelease deleted'] },
      b: { 'node-3': ['onAcquire', 'onRelease leaving'], 'node-1': ['onAcquire'] },
    });
    // fences: the new owner's is higher than the one it took the client from
    const fences = entries
      .filter((e) => e.kind === 'ownership' && e.hook === 'onAcquire' && e.clientId === a.clientId)
      .sort((x, y) => x.t - y.t)
      .map((e) => e.fence ?? -1);
    expect(fences[1]!).toBeGreaterThan(fences[0]!);
    expect(checkInvariants(entries).violations).toEqual([]);
    for (const socket of [a1, a2, b3, b1]) socket.disconnect();
  }, 60_000);

  it('should release (fenced, or lease-lost) on a node paused past nodeTtl, and acquire on the node its client resumes on', async () => {
    const [n1, n2] = cluster.nodes as [NodeProcess, NodeProcess];
    const [c] = (await n2.register(1)) as [Credentials];
    const s1 = cluster.connect(n1, c);
    await connected(s1);
    await waitFor('node-1 acquired c', () => ownership(cluster.log(), c.clientId).length === 1);
    const pausedAt = Date.now();
    n1.pause();
    await waitFor(
      'node-1 declared dead',
      () => cluster.log().some((e) => e.type === 'nodes-dead' && e.nodes?.includes('node-1') && e.t > pausedAt - 1),
      20_000,
    );
    // the page resumes on node-2 while node-1 is still paused
    const s2 = cluster.connect(n2, c);
    await connected(s2);
    n1.resume();
    await waitFor('node-1 released c', () => ownership(cluster.log(), c.clientId).length === 3, 20_000);
    const lines = ownership(cluster.log(), c.clientId);
    // fenced when it hears it was declared dead; with a lease, it may first find by itself that
    // its lease ran out while it was paused (lease-lost): either way exactly one release
    expect(lines.filter((l) => l.startsWith('node-1'))).toEqual([
      'node-1 onAcquire',
      expect.stringMatching(/^node-1 onRelease (fenced|lease-lost)$/),
    ]);
    expect(lines.filter((l) => l.startsWith('node-2'))).toEqual(['node-2 onAcquire']);
    expect(checkInvariants(cluster.log()).violations).toEqual([]);
    s1.disconnect();
    s2.disconnect();
  }, 60_000);
});

// about hooks, not Redis: on one redis-server only
describe.skipIf(onRedisCluster())('ownership hooks that throw or hang (two nodes in this process)', () => {
  it('should keep every onAcquire paired with one onRelease per node across swaps and close, and report the failures', async () => {
    const redis = await startRedisServer();
    const log: string[] = [];
    let nodes: TestNode[] = [];
    try {
      nodes = await startNodes(2, [], {
        redis: redis.url,
        keyPrefix: 'own',
        hookTimeout: 200,
        hooks: {
          onAcquire: (_client: { clientId: string }, ctx: OwnershipContext) => {
            log.push(`${ctx.nodeId} acquire`);
            throw new Error('onAcquire fails');
          },
          // never settles: bounded by hookTimeout
          onRelease: (_client: { clientId: string }, ctx: OwnershipContext, why: ReleaseWhy) => {
            log.push(`${ctx.nodeId} release ${why}`);
            return new Promise(() => {});
          },
        },
      });
      const [n1, n2] = nodes as [TestNode, TestNode];
      const { clientId, token } = await n1.supervisor.register();
      // n1, n2, n1 again: two handoffs
      for (const node of [n1, n2, n1]) {
        await socketConnected(connect(node.url, { clientId, token }));
        await waitFor('acquired', () => log.filter((l) => l === `${node.nodeId} acquire`).length > 0);
      }
      await waitFor('three acquires, two releases', () => log.length === 5, 10_000);
      await n1.close();
      await n2.close();
      const errors = (node: TestNode) =>
        node.events
          .filter((e): e is Extract<LifecycleEvent, { type: 'hook-error' }> => e.type === 'hook-error')
          .map((e) => `${e.hook}${e.timedOut ? ' timed out' : ''}`)
          .sort();
      const perNode = (id: string) => log.filter((l) => l.startsWith(`${id} `)).map((l) => l.slice(id.length + 1));
      expect({ n1: perNode('n1'), n2: perNode('n2') }).toEqual({
        n1: ['acquire', 'release handoff', 'acquire', 'release leaving'],
        n2: ['acquire', 'release handoff'],
      });
      expect({ n1: errors(n1), n2: errors(n2) }).toEqual({
        n1: ['onAcquire', 'onAcquire', 'onRelease timed out', 'onRelease timed out'],
        n2: ['onAcquire', 'onRelease timed out'],
      });
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
      await redis.dispose();
    }
  }, 60_000);
});
