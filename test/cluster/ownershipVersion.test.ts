import { afterEach, describe, expect, it, vi } from 'vitest';
import { partitionOf, partitionTag } from '../../src/cluster/redis/keys.js';
import { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import { claimed, connectedClient } from './fixtures.js';
import { useRedis } from './helpers.js';
import { closeSockets, connect, connected, type HookCall, startNode, type TestNode, waitFor } from './nodes.js';

// The ownership version (issue 20): every step that takes a client from its owner or sends an owner
// a notice raises it; a node re-checks what it holds (at most every 5th heartbeat, as before) only
// when it moved, so a quiet cluster does no periodic work per client.

describe('the ownership version', () => {
  const { node } = useRedis();
  const quiet = { outageGap: 600_000, nodeTtl: 60_000 };

  async function version(store: RedisClusterStore): Promise<number> {
    const beat = await store.heartbeat();
    if (beat.outcome !== 'ok') throw new Error(`heartbeat: ${beat.outcome}`);
    return beat.ownershipVersion;
  }

  it('should move when a client leaves its owner or an owner is sent a notice, and only then', async () => {
    const a = await node('a', quiet);
    const b = await node('b', quiet);
    const start = await version(a);
    // a client's life on its own node (register, connect, disconnect, reconnect): no owner changes
    const client = await connectedClient(a);
    await a.disconnect({ clientId: client.clientId, socketId: 'sock-1', fence: client.fence });
    claimed(await a.claim({ clientId: client.clientId, token: client.token, socketId: 'sock-2' }));
    expect(await version(a)).toBe(start);
    // another node takes it: `replaced` to a
    claimed(await b.claim({ clientId: client.clientId, token: client.token, socketId: 'sock-3' }));
    const taken = await version(a);
    expect(taken).toBeGreaterThan(start);
    // one version for the cluster (one partition)
    expect(await version(b)).toBe(taken);
    // b queues a message for its own client: sent by b, no notice
    const emit = (from: RedisClusterStore, emitId: string) =>
      from.emit({ clientId: client.clientId, emitId, payload: '["ping"]', maxMessages: 10, maxBytes: 10_000 });
    expect(await emit(b, 'e1')).toMatchObject({ outcome: 'queued' });
    expect(await version(a)).toBe(taken);
    // a queues one: `message` to b
    expect(await emit(a, 'e2')).toMatchObject({ outcome: 'queued' });
    const told = await version(a);
    expect(told).toBeGreaterThan(taken);
    // a deletes it: `deleted` to b
    expect(await a.delete({ clientId: client.clientId, reason: 'test' })).toMatchObject({ outcome: 'deleted' });
    expect(await version(a)).toBeGreaterThan(told);
  });
});

describe('the re-check of what a node holds', () => {
  const { context, redis, node, adminFor } = useRedis();
  const nodes: TestNode[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    closeSockets();
    await Promise.all(nodes.splice(0).map((n) => n.close()));
  });

  // with partitions each partition has its own version, read (one call per master) beside every
  // 5th heartbeat only: the re-check must still see it move
  it.each([1, 16])(
    'should run only when the ownership version moved since the last one (%i partitions)',
    async (partitions) => {
      const checks = vi.spyOn(RedisClusterStore.prototype, 'ownedWithSeq');
      const beats = vi.spyOn(RedisClusterStore.prototype, 'heartbeat');
      const reads = vi.spyOn(RedisClusterStore.prototype, 'ownershipVersion');
      const calls: HookCall[] = [];
      const n1 = await startNode('n1', calls, { redis: redis(), keyPrefix: context.prefix, partitions });
      nodes.push(n1);
      const { clientId, token } = await n1.supervisor.register();
      const socket = connect(n1.url, { clientId, token });
      await connected(socket);
      // the first re-check after the join (5 heartbeats)
      await waitFor('the first re-check', () => checks.mock.calls.length === 1);
      // then 3 × 5 heartbeats in which nothing changes owner: none
      const after = beats.mock.calls.length;
      const readsBefore = reads.mock.calls.length;
      await waitFor('15 more heartbeats', () => beats.mock.calls.length >= after + 15);
      expect(checks.mock.calls.length).toBe(1);
      // with partitions the version is a read of its own, beside every 5th heartbeat (which skip
      // it); with one partition each heartbeat's reply has it
      const lean = beats.mock.calls.slice(after, after + 15).filter(([options]) => options?.ownershipVersion === false);
      if (partitions === 1) {
        expect(lean).toHaveLength(0);
        expect(reads.mock.calls).toHaveLength(0);
      } else {
        expect(lean).toHaveLength(15);
        expect([3, 4]).toContain(reads.mock.calls.length - readsBefore);
      }
      // the version moves (a notice another node sent, say): the next one re-checks
      // (with partitions, the version of the client's partition)
      const tag =
        partitions === 1
          ? `{${context.prefix}}`
          : partitionTag(context.prefix, partitionOf(clientId, partitions), partitions);
      await (await adminFor(tag.slice(1, -1))).hIncrBy(`${tag}:meta`, 'ver', 1);
      await waitFor('a re-check', () => checks.mock.calls.length === 2);
      expect(checks.mock.calls[1]?.[0]).toEqual([clientId]);
      expect(socket.connected).toBe(true);
    },
  );

  // The soak (seed 84193): a Redis restart dropped n1's notices while its browser went away and came
  // back on another node; the re-check, right after the version moved, called the client deleted
  // (onRelease 'deleted', client-lost 'deleted'), and n1 later served it again "after its deletion".
  it('should tell a client taken by another node from a deleted one when it was disconnected here', async () => {
    // n1 misses every notice (pub/sub is at most once): only the re-check can tell it
    const subscribe = RedisClusterStore.prototype.subscribe;
    vi.spyOn(RedisClusterStore.prototype, 'subscribe').mockImplementation(function (this: RedisClusterStore) {
      return subscribe.call(this, () => {});
    });
    const checks = vi.spyOn(RedisClusterStore.prototype, 'ownedWithSeq');
    const calls: HookCall[] = [];
    const n1 = await startNode('n1', calls, { redis: redis(), keyPrefix: context.prefix, reconnectTimeout: 60_000 });
    nodes.push(n1);
    const { clientId, token } = await n1.supervisor.register();
    const socket = connect(n1.url, { clientId, token });
    await connected(socket);
    socket.disconnect();
    await waitFor('the disconnect on n1', () => calls.some((c) => c.hook === 'onDisconnect'));
    await waitFor('a re-check since', () => checks.mock.calls.length >= 1);
    // the browser comes back on another node, which takes the client from n1 (a notice n1 misses)
    const b = await node('b', { nodeTtl: 60_000 });
    claimed(await b.claim({ clientId, token, socketId: 'sock-b' }));
    await waitFor('n1 lets the client go', () =>
      n1.cluster.some((e) => e.type === 'client-lost' && e.clientId === clientId),
    );
    const lost = n1.cluster.find((e) => e.type === 'client-lost' && e.clientId === clientId);
    expect(lost).toMatchObject({ why: 'replaced' });
    // it was not deleted
    expect(await b.get(clientId)).toMatchObject({ node: 'b', state: 'connected' });
  });
});
