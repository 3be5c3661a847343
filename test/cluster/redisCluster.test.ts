import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterNode, keySlot, type RedisCluster, startRedisCluster } from './redisCluster.js';

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

  it('should start three masters that cover every slot and agree', async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(await cluster.masters()).toHaveLength(3);
    for (const node of cluster.nodes) {
      const info = await cluster.cli(node, 'CLUSTER', 'INFO');
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_slots_assigned:16384');
      expect(info).toContain('cluster_known_nodes:3');
    }
  });

  it('should compute the slot Redis computes, hash tags included', async () => {
    const [node] = cluster.nodes;
    if (!node) throw new Error('no node');
    for (const key of ['{sup}:c:abc', '{sup}', 'plain', '{}:x', 'a{b}c{d}', '{sup:p17}:deadlines', 'é{ü}']) {
      expect(keySlot(key), key).toBe(Number(await cluster.cli(node, 'CLUSTER', 'KEYSLOT', key)));
    }
    expect(keySlot('{sup}:c:1')).toBe(keySlot('{sup}:deadlines'));
  });

  it('should name the owner of a slot: the one node that answers a key of it without MOVED', async () => {
    const slot = keySlot('{sup}');
    const owner = await cluster.ownerOf(slot);
    expect(await cluster.cli(owner, 'SET', '{sup}:probe', '1')).toBe('OK');
    for (const other of cluster.nodes.filter((node) => node.id !== owner.id)) {
      expect(await cluster.cli(other, 'GET', '{sup}:probe')).toMatch(
        new RegExp(`^MOVED ${slot} 127.0.0.1:${owner.port}`),
      );
    }
  });

  it('should move one slot with its keys, in batches, to another master', async () => {
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

  it('should reshard with redis-cli --cluster reshard', async () => {
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

describe('Redis 7.0 scripts on a cluster node (the facts docs/partitions.md relies on)', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  /** A key of another slot than `{a}`'s, on the node `onOwner` says (true: the same node). */
  async function keyElsewhere(owner: ClusterNode, onOwner: boolean): Promise<string> {
    for (let i = 0; i < 10_000; i++) {
      const key = `{k${i}}`;
      if (keySlot(key) === keySlot('{a}')) continue;
      if (((await cluster.ownerOf(keySlot(key))).id === owner.id) === onOwner) return key;
    }
    throw new Error('no such key');
  }
  const evalOn = (node: ClusterNode, source: string, keys: string[]) =>
    cluster.cli(node, 'EVAL', source, String(keys.length), ...keys);

  it('should let a #!lua script touch keys it did not declare in its slot, and refuse another slot even on its node', async () => {
    const owner = await cluster.ownerOf(keySlot('{a}'));
    const sameNode = await keyElsewhere(owner, true);
    const remote = await keyElsewhere(owner, false);
    // undeclared, same slot: accepted with or without the shebang (Redis 7.0 does not enforce KEYS)
    expect(await evalOn(owner, "return redis.call('SET', KEYS[1] .. ':x', '1')", ['{a}'])).toBe('OK');
    expect(await evalOn(owner, "#!lua\nreturn redis.call('SET', KEYS[1] .. ':x', '1')", ['{a}'])).toBe('OK');
    expect(await evalOn(owner, "#!lua\nreturn redis.call('SET', '{a}:y', '1')", [])).toBe('OK');
    // another slot on the same node: only a script without the shebang may
    expect(await evalOn(owner, `return redis.call('SET', '${sameNode}', '1')`, ['{a}'])).toBe('OK');
    expect(await evalOn(owner, `#!lua\nreturn redis.call('SET', '${sameNode}', '1')`, ['{a}'])).toMatch(
      /^ERR Script attempted to access keys that do not hash to the same slot/,
    );
    // a sharded channel counts as a key: its own slot's, yes; another slot's, no (PUBLISH: any)
    expect(await evalOn(owner, "#!lua\nreturn redis.call('SPUBLISH', '{a}:notice', 'x')", ['{a}'])).toBe('0');
    expect(await evalOn(owner, `#!lua\nreturn redis.call('SPUBLISH', '${sameNode}', 'x')`, ['{a}'])).toMatch(
      /^ERR Script attempted to access keys that do not hash to the same slot/,
    );
    expect(await evalOn(owner, `#!lua\nreturn redis.call('PUBLISH', '${remote}', 'x')`, ['{a}'])).toBe('0');
    // another node's slot: never
    for (const shebang of ['', '#!lua\n']) {
      expect(await evalOn(owner, `${shebang}return redis.call('SET', '${remote}', '1')`, ['{a}'])).toMatch(
        /^ERR Script attempted to access a non local key in a cluster node/,
      );
    }
  });

  it('should check declared keys before a script runs while its slot migrates (ASK, TRYAGAIN), and stop it after its writes on an undeclared one', async () => {
    const slot = keySlot('{m}');
    const owner = await cluster.ownerOf(slot);
    const target = cluster.nodes.find((node) => node.id !== owner.id) as ClusterNode;
    for (let i = 0; i < 4; i++) await cluster.cli(owner, 'SET', `{m}:k${i}`, 'before');
    await cluster.cli(target, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', owner.id);
    await cluster.cli(owner, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', target.id);
    await cluster.cli(owner, 'MIGRATE', '127.0.0.1', String(target.port), '', '0', '5000', 'KEYS', '{m}:k0');
    const read = "return redis.call('GET', KEYS[1])";
    // every declared key moved: ASK (not run); some moved: TRYAGAIN (not run); none: runs here
    expect(await evalOn(owner, read, ['{m}:k0'])).toMatch(new RegExp(`^ASK ${slot} 127.0.0.1:${target.port}`));
    expect(await evalOn(owner, read, ['{m}:k1', '{m}:k0'])).toMatch(/^TRYAGAIN/);
    expect(await evalOn(owner, read, ['{m}:k1'])).toBe('before');
    // an undeclared key that moved, or that does not exist (it may have moved): the script stops
    // there, and what it wrote before stays written
    const write = (undeclared: string) =>
      `redis.call('SET', KEYS[1], 'written'); return redis.call('GET', '${undeclared}')`;
    expect(await evalOn(owner, write('{m}:k0'), ['{m}:k2'])).toMatch(/^ERR Script attempted to access a non local key/);
    expect(await cluster.cli(owner, 'GET', '{m}:k2')).toBe('written');
    expect(await evalOn(owner, write('{m}:never'), ['{m}:k3'])).toMatch(
      /^ERR Script attempted to access a non local key/,
    );
    expect(await cluster.cli(owner, 'GET', '{m}:k3')).toBe('written');
  });
});

describe('startRedisCluster with replicas', () => {
  it('should fail a killed master over to its replica, and leave no process and no dir after stop()', async () => {
    const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
    const pids = cluster.nodes.map((node) => (node as unknown as { child: { pid: number } }).child.pid);
    try {
      expect(cluster.nodes).toHaveLength(6);
      expect(await cluster.masters()).toHaveLength(3);
      const slot = keySlot('{sup}');
      const owner = await cluster.ownerOf(slot);
      // a failover keeps only what the replica acknowledged: wait for it (WAIT through redis-cli
      // would not: a fresh connection's WAIT counts its own writes, none)
      await cluster.cli(owner, 'SET', '{sup}:kept', 'yes');
      expect(await cluster.replicated(owner)).toBeGreaterThan(0);
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
