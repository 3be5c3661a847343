import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySlot, type RedisCluster, startRedisCluster } from './redisCluster.js';

/** Whether a process with this pid is running. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startRedisCluster (the test helper itself)', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('starts three masters that cover every slot and agree', async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(await cluster.masters()).toHaveLength(3);
    for (const node of cluster.nodes) {
      const info = await cluster.cli(node, 'CLUSTER', 'INFO');
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_slots_assigned:16384');
      expect(info).toContain('cluster_known_nodes:3');
    }
  });

  it('computes the slot Redis computes, hash tags included', async () => {
    const [node] = cluster.nodes;
    if (!node) throw new Error('no node');
    for (const key of ['{sup}:c:abc', '{sup}', 'plain', '{}:x', 'a{b}c{d}', '{sup:p17}:deadlines', 'é{ü}']) {
      expect(keySlot(key), key).toBe(Number(await cluster.cli(node, 'CLUSTER', 'KEYSLOT', key)));
    }
    expect(keySlot('{sup}:c:1')).toBe(keySlot('{sup}:deadlines'));
  });

  it('names the owner of a slot: the one node that answers a key of it without MOVED', async () => {
    const slot = keySlot('{sup}');
    const owner = await cluster.ownerOf(slot);
    expect(await cluster.cli(owner, 'SET', '{sup}:probe', '1')).toBe('OK');
    for (const other of cluster.nodes.filter((node) => node.id !== owner.id)) {
      expect(await cluster.cli(other, 'GET', '{sup}:probe')).toMatch(
        new RegExp(`^MOVED ${slot} 127.0.0.1:${owner.port}`),
      );
    }
  });

  it('moves one slot with its keys, in batches, to another master', async () => {
    const slot = keySlot('{moved}');
    const from = await cluster.ownerOf(slot);
    const to = cluster.nodes.find((node) => node.id !== from.id);
    if (!to) throw new Error('no other node');
    for (let i = 0; i < 25; i++) await cluster.cli(from, 'SET', `{moved}:k${i}`, String(i));
    expect(await cluster.moveSlot(slot, to, { batch: 10 })).toBe(25);
    expect((await cluster.ownerOf(slot)).id).toBe(to.id);
    expect(await cluster.cli(to, 'GET', '{moved}:k24')).toBe('24');
    expect(await cluster.cli(from, 'GET', '{moved}:k24')).toMatch(/^MOVED/);
    expect(await cluster.cli(from, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBe('0');
  });

  it('reshards with redis-cli --cluster reshard', async () => {
    const [first, second] = await cluster.masters();
    if (!first || !second) throw new Error('two masters expected');
    const slotsOf = async (node: typeof first) =>
      (await cluster.cli(node, 'CLUSTER', 'NODES'))
        .split('\n')
        .find((line) => line.includes('myself'))
        ?.trim()
        .split(' ')
        .slice(8)
        .filter((range) => !range.startsWith('['))
        .reduce((sum, range) => {
          const [start, end = start] = range.split('-').map(Number) as [number, number?];
          return sum + end - start + 1;
        }, 0) ?? 0;
    const had = await slotsOf(second);
    await cluster.reshard(first, second, 10);
    expect(await slotsOf(second)).toBe(had + 10);
  });
});

describe('startRedisCluster with replicas', () => {
  it('fails a killed master over to its replica; stop() leaves no process and no dir', async () => {
    const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
    const pids = cluster.nodes.map((node) => (node as unknown as { child: { pid: number } }).child.pid);
    try {
      expect(cluster.nodes).toHaveLength(6);
      expect(await cluster.masters()).toHaveLength(3);
      const slot = keySlot('{sup}');
      const owner = await cluster.ownerOf(slot);
      await cluster.cli(owner, 'SET', '{sup}:kept', 'yes');
      await cluster.cli(owner, 'WAIT', '1', '2000');
      const promoted = await cluster.killMaster(owner);
      expect(promoted.id).not.toBe(owner.id);
      expect((await cluster.ownerOf(slot)).id).toBe(promoted.id);
      expect(await cluster.cli(promoted, 'GET', '{sup}:kept')).toBe('yes');
      expect(await cluster.masters()).toHaveLength(3);
    } finally {
      await cluster.stop();
    }
    for (const pid of pids) expect(running(pid)).toBe(false);
    for (const node of cluster.nodes) expect(existsSync(node.dir)).toBe(false);
  }, 90_000);
});
