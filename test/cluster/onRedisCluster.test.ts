import { createClient, createCluster, type RedisClusterType } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterClientOptions } from '../../src/cluster/redis/connection.js';
import { partitionOf, partitionTag } from '../../src/cluster/redis/keys.js';
import { CHECKED_SCRIPTS, KEY_CHECK_ENV, SCRIPTS } from '../../src/cluster/redis/lua/index.js';
import { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import { isUnavailable } from '../../src/cluster/redis/retry.js';
import { claimed, claimTraffic, connectedClient, registered } from './fixtures.js';
import { type Admin, expectConsistent } from './helpers.js';
import { closeSockets, connect, connected, type HookCall, startNode, type TestNode, waitFor } from './nodes.js';
import { type ClusterNode, type RedisCluster, startRedisCluster } from './redisCluster.js';

// The store and the node on a real 3-master Redis Cluster, through a node-redis createCluster()
// client: every key of a prefix is in the slot of `{prefix}`, so each command is routed by it.

let cluster: RedisCluster;
let counter = 0;
let prefix = 'rc0';
const opened: Array<{ close(): Promise<unknown> }> = [];
const stores: RedisClusterStore[] = [];
const nodes: TestNode[] = [];
let calls: HookCall[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
}, 60_000);
afterEach(async () => {
  closeSockets();
  await Promise.all(nodes.splice(0).map((node) => node.close()));
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await Promise.all(opened.splice(0).map((client) => client.close().catch(() => {})));
  calls = [];
  counter += 1;
  prefix = `rc${counter}`;
});
afterAll(async () => {
  await cluster?.stop();
});

/** A createCluster() client with the settings cluster mode needs (closed after the test). */
/**
 * The fences one client was claimed at, in order: the same while the same store kept it, higher
 * at every change of store (fencing stays monotonic across a slot move).
 */
function expectFencesByOwner(clientId: string, seen: ReadonlyArray<{ by: unknown; fence: number }>): void {
  for (let i = 1; i < seen.length; i++) {
    const [previous, next] = [seen[i - 1], seen[i]] as [(typeof seen)[number], (typeof seen)[number]];
    if (next.by === previous.by) expect(next.fence, clientId).toBe(previous.fence);
    else expect(next.fence, clientId).toBeGreaterThan(previous.fence);
  }
}

async function clusterClient(): Promise<RedisClusterType> {
  const { url: _url, ...defaults } = clusterClientOptions(cluster.urls[0] as string, 2_000);
  const client = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })), defaults });
  client.on('error', () => {});
  await client.connect();
  opened.push(client);
  return client;
}

async function store(nodeId: string, redis?: RedisClusterStoreRedis): Promise<RedisClusterStore> {
  const created = await RedisClusterStore.connect({
    redis: redis ?? (await clusterClient()),
    nodeId,
    keyPrefix: prefix,
  });
  stores.push(created);
  await created.join();
  return created;
}
type RedisClusterStoreRedis = Parameters<typeof RedisClusterStore.connect>[0]['redis'];

/** A plain client on the master that owns this test's slot: every key of the prefix is there. */
async function adminOnOwner(): Promise<Admin> {
  const owner = await cluster.ownerOf(cluster.slotOf(`{${prefix}}`));
  const admin = createClient({ url: owner.url }) as Admin;
  admin.on('error', () => {});
  await admin.connect();
  opened.push(admin);
  return admin;
}

async function otherMaster(than: ClusterNode): Promise<ClusterNode> {
  const other = (await cluster.masters()).find((node) => node.id !== than.id);
  if (!other) throw new Error('no other master');
  return other;
}

describe('the store on a Redis Cluster (createCluster client)', () => {
  it('should run a client lifecycle with every key on the master of the slot of {prefix}', async () => {
    const a = await store('a');
    const b = await store('b');
    const { clientId, token, fence } = await connectedClient(a);
    const taken = claimed(await b.claim({ clientId, token, socketId: 's2' }));
    expect(taken.client.fence).toBeGreaterThan(fence);
    expect((await b.disconnect({ clientId, socketId: 's2', fence: taken.client.fence })).outcome).toBe('disconnected');
    expect((await a.delete({ clientId, reason: 'kicked' })).outcome).toBe('deleted');
    expect(await b.isDeleted(clientId)).toBe(true);
    const kept = registered(await a.register());
    expect((await b.get(kept.clientId))?.state).toBe('handshaking');
    expect((await a.counts()).handshaking).toBe(1);

    const slot = cluster.slotOf(`{${prefix}}`);
    const owner = await cluster.ownerOf(slot);
    expect(Number(await cluster.cli(owner, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)))).toBeGreaterThan(3);
    for (const node of (await cluster.masters()).filter((master) => master.id !== owner.id)) {
      expect(await cluster.cli(node, 'KEYS', `{${prefix}}*`)).toBe('');
    }
    await expectConsistent(await adminOnOwner(), prefix);
  });

  it('should load the scripts on every master, and reload one a master lost (SCRIPT FLUSH: NOSCRIPT, then EVAL)', async () => {
    const a = await store('a');
    // the scripts the store runs: in this suite, their test build (the key check)
    const shas = Object.values(process.env[KEY_CHECK_ENV] === '1' ? CHECKED_SCRIPTS : SCRIPTS).map(
      (script) => script.sha,
    );
    for (const master of await cluster.masters()) {
      expect(await cluster.cli(master, 'SCRIPT', 'EXISTS', ...shas)).toBe(shas.map(() => '1').join('\n'));
    }
    const owner = await cluster.ownerOf(cluster.slotOf(`{${prefix}}`));
    await cluster.cli(owner, 'SCRIPT', 'FLUSH');
    const before = a.roundTrips;
    const { clientId } = registered(await a.register());
    // EVALSHA answered NOSCRIPT, EVAL ran it (and cached it again on that master)
    expect(a.roundTrips - before).toBe(2);
    expect((await a.get(clientId))?.state).toBe('handshaking');
    const again = a.roundTrips;
    await a.register();
    expect(a.roundTrips - again).toBe(1);
  });

  it('should join through a URL to the master that owns the slot, and refuse a URL to another master with an error naming createCluster()', async () => {
    const owner = await cluster.ownerOf(cluster.slotOf(`{${prefix}}`));
    const a = await store('a', owner.url);
    expect(registered(await a.register()).outcome).toBe('registered');
    const elsewhere = await RedisClusterStore.connect({ redis: (await otherMaster(owner)).url, keyPrefix: prefix });
    stores.push(elsewhere);
    const refused = await elsewhere.join().catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((refused as Error).message).toMatch(/one node of a Redis Cluster.*createCluster\(\)/);
    expect((refused as Error).message).toContain('MOVED');
  });

  it('should send notices by sharded pub/sub, on the master of the slot of {prefix} only, and follow the slot when it moves', async () => {
    const a = await store('a');
    const b = await store('b');
    const heard: string[] = [];
    await a.subscribe((notice) => heard.push(`${notice.type} ${notice.clientId}`));
    const slot = cluster.slotOf(`{${prefix}}`);
    const owner = await cluster.ownerOf(slot);
    const others = (await cluster.masters()).filter((master) => master.id !== owner.id);
    const published = async (node: ClusterNode) => {
      const stats = await cluster.cli(node, 'INFO', 'commandstats');
      const calls = (command: string) =>
        Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
      return { spublish: calls('spublish'), publish: calls('publish') };
    };
    const before = await Promise.all(others.map(published));

    const first = await connectedClient(a);
    claimed(await b.claim({ clientId: first.clientId, token: first.token, socketId: 's2' }));
    await waitFor('the first notice', () => heard.includes(`replaced ${first.clientId}`));
    // the node's channel is a shard channel on the slot's master, and nothing reached the others
    expect(await cluster.cli(owner, 'PUBSUB', 'SHARDCHANNELS', `{${prefix}}*`)).toContain(`{${prefix}}:notice:a`);
    expect((await published(owner)).spublish).toBeGreaterThan(0);
    for (const [i, other] of others.entries()) {
      expect(await cluster.cli(other, 'PUBSUB', 'SHARDCHANNELS', `{${prefix}}*`)).toBe('');
      expect(await published(other)).toEqual(before[i]);
    }

    // the slot moves: Redis ends the subscription there, node-redis subscribes at the new master
    const to = others[0] as ClusterNode;
    await cluster.moveSlot(slot, to);
    await waitFor('the subscription at the new master', async () =>
      (await cluster.cli(to, 'PUBSUB', 'SHARDCHANNELS', `{${prefix}}*`)).includes(`{${prefix}}:notice:a`),
    );
    const second = await connectedClient(a);
    claimed(await b.claim({ clientId: second.clientId, token: second.token, socketId: 's3' }));
    await waitFor('the notice after the move', () => heard.includes(`replaced ${second.clientId}`));
    expect(await cluster.cli(owner, 'PUBSUB', 'SHARDCHANNELS', `{${prefix}}*`)).toBe('');
  });

  it('should keep fences monotonic and the indexes whole while the slot of {prefix} moves to another master mid-traffic', async () => {
    const a = await store('a');
    const b = await store('b');
    const clients = await Promise.all(Array.from({ length: 20 }, () => connectedClient(a)));
    // each answered claim: which store made it and the fence (a new owner raises it, the same one keeps it)
    const fences = new Map(clients.map((client) => [client.clientId, [{ by: a, fence: client.fence }]]));
    const slot = cluster.slotOf(`{${prefix}}`);
    const from = await cluster.ownerOf(slot);
    const to = await otherMaster(from);
    const traffic = claimTraffic([a, b], clients, {
      minRounds: 3,
      onClaim: (clientId, by, fence) => fences.get(clientId)?.push({ by, fence }),
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // atomic for the source: no script sees the slot half-moved (see docs/partitions.md for a batched reshard)
    const moved = await cluster.moveSlot(slot, to);
    const { unavailable, rounds } = await traffic.stop();
    expect(moved).toBeGreaterThanOrEqual(clients.length);
    expect((await cluster.ownerOf(slot)).id).toBe(to.id);
    for (const [clientId, seen] of fences) {
      expectFencesByOwner(clientId, seen);
      expect(new Set(seen.map((claim) => claim.fence)).size, clientId).toBeGreaterThan(2);
      const record = await a.get(clientId);
      expect(record?.fence).toBe(seen.at(-1)?.fence);
    }
    // a lost reply may leave nothing to release, but every claim that answered is in Redis
    expect(unavailable).toBeLessThan(clients.length * rounds);
    await expectConsistent(await adminOnOwner(), prefix);
  });

  it('should run no claim part-way while the slot of {prefix} moves in batches (MIGRATE a few keys at a time) mid-traffic', async () => {
    const a = await store('a');
    const b = await store('b');
    const clients = await Promise.all(Array.from({ length: 20 }, () => connectedClient(a)));
    const fences = new Map(clients.map((client) => [client.clientId, [{ by: a, fence: client.fence }]]));
    const slot = cluster.slotOf(`{${prefix}}`);
    const to = await otherMaster(await cluster.ownerOf(slot));
    // every claim declares all its keys (a tombstone that does not exist included): while the slot is
    // half-moved Redis answers TRYAGAIN or ASK before running it, and a key it discovers stops it
    // before its first write; either way it is sent again. Before, a batched move stopped claims
    // half-way (docs/partitions.md, finding 2); `claimed()` throws on any answer but a claim
    const traffic = claimTraffic([a, b], clients, {
      minRounds: 3,
      onClaim: (clientId, by, fence) => fences.get(clientId)?.push({ by, fence }),
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const moved = await cluster.moveSlot(slot, to, { batch: 5 });
    const { unavailable, rounds } = await traffic.stop();
    expect(moved).toBeGreaterThanOrEqual(clients.length);
    expect((await cluster.ownerOf(slot)).id).toBe(to.id);
    for (const [clientId, seen] of fences) {
      expectFencesByOwner(clientId, seen);
      expect((await a.get(clientId))?.fence).toBe(seen.at(-1)?.fence);
    }
    expect(unavailable).toBeLessThan(clients.length * rounds);
    await expectConsistent(await adminOnOwner(), prefix);
  });
});

describe('cluster supervisors on a Redis Cluster (createCluster clients)', () => {
  const hooksOf = (clientId: string) =>
    calls.filter((call) => call.clientId === clientId).map((call) => `${call.node} ${call.hook}`);

  async function twoNodes(): Promise<[TestNode, TestNode]> {
    const options = { keyPrefix: prefix, reconnectTimeout: 5_000 };
    const a = await startNode('n1', calls, { ...options, redis: await clusterClient() });
    const b = await startNode('n2', calls, { ...options, redis: await clusterClient() });
    nodes.push(a, b);
    return [a, b];
  }

  it('should connect, move, disconnect and delete clients across two nodes, and keep them through a slot move', async () => {
    const [a, b] = await twoNodes();
    const ids: Array<{ clientId: string; token: string }> = [];
    for (let i = 0; i < 6; i++) ids.push(await (i % 2 ? a : b).supervisor.register());
    const sockets = ids.map(({ clientId, token }, i) => connect((i % 2 ? b : a).url, { clientId, token }));
    await Promise.all(sockets.map(connected));
    await waitFor('six onConnect', () => calls.filter((call) => call.hook === 'onConnect').length === 6);

    const slot = cluster.slotOf(`{${prefix}}`);
    const from = await cluster.ownerOf(slot);
    await cluster.moveSlot(slot, await otherMaster(from));

    // after the move: a drop and a resume on the other node, a delete from the other node
    const [first, second] = ids as [(typeof ids)[number], (typeof ids)[number]];
    sockets[0]?.disconnect();
    await waitFor('disconnected', async () => (await b.supervisor.get(first.clientId))?.state === 'disconnected');
    await connected(connect(b.url, first));
    expect(await a.supervisor.delete(second.clientId, 'kicked')).toBe(true);
    await waitFor('onDelete', () => calls.some((call) => call.hook === 'onDelete'));
    await waitFor('reconnect hook', () => hooksOf(first.clientId).length === 3);

    expect(hooksOf(first.clientId)).toEqual(['n1 onConnect', 'n1 onDisconnect', 'n2 onConnect']);
    expect(hooksOf(second.clientId)).toEqual(['n2 onConnect', 'n1 onDelete']);
    // no hook twice, and every client still there (the four untouched ones connected)
    const seen = calls.map((call) => `${call.clientId} ${call.hook} ${call.cluster.fence}`);
    expect(new Set(seen).size).toBe(seen.length);
    for (const { clientId } of ids.slice(2)) expect((await a.supervisor.get(clientId))?.state).toBe('connected');
    expect((await b.supervisor.get(first.clientId))?.state).toBe('connected');
    const fences = calls.filter((call) => call.clientId === first.clientId).map((call) => call.cluster.fence);
    expect(fences[2]).toBeGreaterThan(fences[1] as number);
    await expectConsistent(await adminOnOwner(), prefix);
  });
});

describe('the store on a Redis Cluster whose master fails over to its replica', () => {
  it('should refuse calls UNAVAILABLE while the slot has no master, then run on the promoted replica, where a new owner fences every earlier claim', async () => {
    const replicated = await startRedisCluster({ masters: 3, replicas: 1 });
    const clients: RedisClusterType[] = [];
    const own = async () => {
      const { url: _url, ...defaults } = clusterClientOptions(replicated.urls[0] as string, 1_000);
      const client = createCluster({ rootNodes: replicated.urls.map((url) => ({ url })), defaults });
      client.on('error', () => {});
      await client.connect();
      clients.push(client);
      return client;
    };
    const opened: RedisClusterStore[] = [];
    try {
      const open = async (nodeId: string) => {
        const created = await RedisClusterStore.connect({
          redis: await own(),
          nodeId,
          keyPrefix: 'fo',
          commandTimeout: 1_000,
        });
        opened.push(created);
        await created.join();
        return created;
      };
      const a = await open('a');
      const b = await open('b');
      // the notices both owners hear (shard channels: on the slot's master, then on the promoted one)
      const replaced: string[] = [];
      for (const store of [a, b]) {
        await store.subscribe((notice) => {
          if (notice.type === 'replaced') replaced.push(notice.clientId);
        });
      }
      const connectedClients = await Promise.all(Array.from({ length: 10 }, () => connectedClient(a)));
      const last = new Map(connectedClients.map((client) => [client.clientId, client.fence]));
      const slot = replicated.slotOf('{fo}');
      const owner = await replicated.ownerOf(slot);
      // the registers and claims so far reached the replica (what happens after may be lost)
      await replicated.replicated(owner);

      const traffic = claimTraffic([a, b], connectedClients, {
        minRounds: 2,
        pauseMs: 20,
        onClaim: (clientId, _store, fence) => last.set(clientId, Math.max(last.get(clientId) as number, fence)),
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const promoted = await replicated.killMaster(owner);
      const { answered, unavailable, rounds } = await traffic.stop();
      expect((await replicated.ownerOf(slot)).id).toBe(promoted.id);
      expect(unavailable).toBeGreaterThan(0);
      expect(answered + unavailable).toBe(rounds * connectedClients.length);

      // node-redis moves the shard channels to the promoted replica once it refreshes the topology
      // (a notice published before that is lost, like any pub/sub message: the owners' re-check
      // catches up); from then on the owners hear them there
      await waitFor('the owners subscribed on the promoted replica', async () => {
        const channels = await replicated.cli(promoted, 'PUBSUB', 'SHARDCHANNELS', '{fo}*');
        return channels.includes('{fo}:notice:a') && channels.includes('{fo}:notice:b');
      });
      const c = await open('c');
      const heardBefore = replaced.length;
      for (const { clientId, token } of connectedClients) {
        const claim = claimed(await c.claim({ clientId, token, socketId: `after-${clientId}` }));
        expect(claim.client.fence).toBeGreaterThan(last.get(clientId) as number);
      }
      await waitFor('the notices from the promoted replica', () =>
        connectedClients.every(({ clientId }) => replaced.slice(heardBefore).includes(clientId)),
      );
      const admin = createClient({ url: promoted.url }) as Admin;
      admin.on('error', () => {});
      await admin.connect();
      try {
        await expectConsistent(admin, 'fo');
      } finally {
        admin.destroy();
      }
    } finally {
      await Promise.all(opened.map((store) => store.close()));
      await Promise.all(clients.map((client) => client.close().catch(() => {})));
      await replicated.stop();
    }
  }, 90_000);
});

describe('the store with 16 partitions on a Redis Cluster whose master fails over to its replica', () => {
  it("should keep serving the partitions of the other masters while one fails over, then run that one's on the promoted replica, fences monotonic", async () => {
    const P = 16;
    // with Redis's default (full coverage required) every slot answers CLUSTERDOWN while one master's
    // are uncovered: the partitions of the others keep serving only without it (docs/cluster.md)
    const replicated = await startRedisCluster({ masters: 3, replicas: 1, fullCoverage: false });
    const clients: RedisClusterType[] = [];
    const opened: RedisClusterStore[] = [];
    try {
      const open = async (nodeId: string) => {
        const { url: _url, ...defaults } = clusterClientOptions(replicated.urls[0] as string, 1_000);
        const client = createCluster({ rootNodes: replicated.urls.map((url) => ({ url })), defaults });
        client.on('error', () => {});
        await client.connect();
        clients.push(client);
        const created = await RedisClusterStore.connect({
          redis: client,
          nodeId,
          keyPrefix: 'fp',
          commandTimeout: 1_000,
          partitions: P,
        });
        opened.push(created);
        await created.join();
        return created;
      };
      const a = await open('a');
      const b = await open('b');
      const connectedClients = await Promise.all(Array.from({ length: 24 }, () => connectedClient(a)));
      const last = new Map(connectedClients.map((client) => [client.clientId, client.fence]));
      // a master that serves partitions but not the membership (whose loss every node would feel)
      const membership = await replicated.ownerOf(replicated.slotOf('{fp}'));
      const masterOf = async (clientId: string) =>
        replicated.ownerOf(replicated.slotOf(partitionTag('fp', partitionOf(clientId, P), P)));
      const owners = await Promise.all(connectedClients.map(({ clientId }) => masterOf(clientId)));
      const victim = owners.find((owner) => owner.id !== membership.id)!;
      const onVictim = connectedClients.filter((_, i) => owners[i]!.id === victim.id);
      const elsewhere = connectedClients.filter((_, i) => owners[i]!.id !== victim.id);
      expect(onVictim.length).toBeGreaterThan(0);
      expect(elsewhere.length).toBeGreaterThan(0);
      for (const master of await replicated.masters()) await replicated.replicated(master);

      const traffic = claimTraffic([a, b], onVictim, {
        minRounds: 2,
        pauseMs: 20,
        onClaim: (clientId, _store, fence) => last.set(clientId, Math.max(last.get(clientId) as number, fence)),
      });
      // while the victim fails over, the other masters' partitions answer every call
      let elsewhereUnavailable = 0;
      let elsewhereAnswered = 0;
      let stopOthers = false;
      const others = (async () => {
        for (let round = 0; round < 200 && !stopOthers; round++) {
          for (const { clientId, token } of elsewhere) {
            try {
              const store = round % 2 === 0 ? a : b;
              const claim = claimed(await store.claim({ clientId, token, socketId: `o${round}` }));
              last.set(clientId, Math.max(last.get(clientId) as number, claim.client.fence));
              elsewhereAnswered += 1;
            } catch (error) {
              if (!isUnavailable(error)) throw error;
              elsewhereUnavailable += 1;
            }
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const promoted = await replicated.killMaster(victim);
      const victimCounts = await traffic.stop();
      stopOthers = true;
      await others;
      expect(victimCounts.unavailable).toBeGreaterThan(0);
      expect(elsewhereAnswered).toBeGreaterThan(elsewhere.length * 5);
      expect(elsewhereUnavailable).toBe(0);
      expect(
        (await replicated.ownerOf(replicated.slotOf(partitionTag('fp', partitionOf(onVictim[0]!.clientId, P), P)))).id,
      ).toBe(promoted.id);
      // the membership never noticed: both incarnations alive
      expect(await a.heartbeat()).toMatchObject({ outcome: 'ok' });
      expect(await b.heartbeat()).toMatchObject({ outcome: 'ok' });
      const c = await open('c');
      for (const { clientId, token } of connectedClients) {
        const claim = claimed(await c.claim({ clientId, token, socketId: `after-${clientId}` }));
        expect(claim.client.fence).toBeGreaterThan(last.get(clientId) as number);
      }
      expect(await c.counts()).toMatchObject({ connected: 24, nodes: 3 });
    } finally {
      await Promise.all(opened.map((store) => store.close()));
      await Promise.all(clients.map((client) => client.close().catch(() => {})));
      await replicated.stop();
    }
  }, 90_000);
});

/**
 * Runs `run` on a 3-master Redis Cluster with a replica each, whose other masters keep serving
 * while one fails over (`cluster-require-full-coverage no`), through a createCluster() client.
 */
async function withReplicatedCluster(run: (replicated: RedisCluster, client: RedisClusterType) => Promise<void>) {
  const replicated = await startRedisCluster({ masters: 3, replicas: 1, fullCoverage: false });
  const { url: _url, ...defaults } = clusterClientOptions(replicated.urls[0] as string, 1_000);
  const client = createCluster({ rootNodes: replicated.urls.map((url) => ({ url })), defaults });
  client.on('error', () => {});
  try {
    await client.connect();
    await run(replicated, client);
  } finally {
    await client.close().catch(() => {});
    await replicated.stop();
  }
}

describe('a master that failed over, with partitions', () => {
  it('should report a rollback at the next heartbeat that reads the versions (a replica may lag), and not after a slot move', async () => {
    const P = 16;
    await withReplicatedCluster(async (replicated, client) => {
      let store: RedisClusterStore | undefined;
      try {
        store = await RedisClusterStore.connect({
          redis: client,
          nodeId: 'a',
          keyPrefix: 'fo',
          commandTimeout: 1_000,
          partitions: P,
        });
        await store.join();
        for (let i = 0; i < 12; i++) await connectedClient(store);
        // the first read learns who serves each partition
        expect(await store.heartbeat()).toMatchObject({ outcome: 'ok' });
        const membership = await replicated.ownerOf(replicated.slotOf('{fo}'));
        const [from, to] = (await replicated.masters()).filter((master) => master.id !== membership.id);
        // a slot move to another master (partition 0's among the lowest slots of its owner) is no loss
        const first = replicated.slotOf(partitionTag('fo', 0, P));
        const owner = await replicated.ownerOf(first);
        const target = owner.id === membership.id ? from! : owner.id === from!.id ? to! : from!;
        await replicated.reshard(owner, target, first + 1);
        expect((await replicated.ownerOf(first)).id).toBe(target.id);
        expect(await store.heartbeat()).toMatchObject({ outcome: 'ok' });
        expect(store.behind).toBe(false);
        // a master that serves partitions (not the membership, which the move may have taken along)
        // killed; its replica promoted
        const holder = await replicated.ownerOf(replicated.slotOf('{fo}'));
        const victim = (await replicated.masters()).find((master) => master.id !== holder.id)!;
        await replicated.replicated(victim);
        await replicated.killMaster(victim);
        // a heartbeat that skips the read cannot tell; the first that reads the promoted replica's
        // ids does (the reads before it may still find the slots' old owner gone)
        expect(await store.heartbeat({ ownershipVersion: false })).toMatchObject({ outcome: 'ok' });
        let beat = await store.heartbeat();
        for (let i = 0; i < 50 && beat.outcome === 'ok'; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          beat = await store.heartbeat();
        }
        expect(beat).toEqual({ outcome: 'reset', rolledBack: true });
      } finally {
        await store?.close();
      }
    });
  }, 90_000);
});

describe('a supervisor whose partitions master fails over', () => {
  it('should recover as after a reset: every client kept, connected and counted, no hook but the connects, and new pages served', async () => {
    const P = 16;
    await withReplicatedCluster(async (replicated, client) => {
      let node: TestNode | undefined;
      try {
        node = await startNode('n1', calls, { redis: client, keyPrefix: 'sf', partitions: P, commandTimeout: 1_000 });
        const n1 = node;
        const pages: Array<{ clientId: string; socket: ReturnType<typeof connect> }> = [];
        for (let i = 0; i < 12; i++) {
          const { clientId, token } = await n1.supervisor.register();
          const socket = connect(n1.url, { clientId, token });
          await connected(socket);
          pages.push({ clientId, socket });
        }
        // a master that serves some of the pages' partitions, not the membership
        const holder = await replicated.ownerOf(replicated.slotOf('{sf}'));
        const owners = await Promise.all(
          pages.map(({ clientId }) =>
            replicated.ownerOf(replicated.slotOf(partitionTag('sf', partitionOf(clientId, P), P))),
          ),
        );
        const victim = owners.find((owner) => owner.id !== holder.id);
        expect(victim).toBeDefined();
        // the versions' read (every 5th heartbeat of 100 ms) has learnt who serves each partition
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        await replicated.replicated(victim!);
        await replicated.killMaster(victim!);
        await waitFor('the write-back of the rollback', () =>
          n1.cluster.some((event) => event.type === 'written-back' && event.why === 'rollback'),
        );
        expect(n1.cluster.some((event) => event.type === 'reset')).toBe(true);
        // the lease never waited for the failed master's partitions: nothing lost on the way
        expect(n1.cluster.filter((event) => event.type === 'lease-lost' || event.type === 'client-lost')).toEqual([]);
        for (const { socket } of pages) expect(socket.connected).toBe(true);
        await waitFor('every page counted connected', async () => (await n1.supervisor.counts()).connected === 12);
        expect(calls.filter((call) => call.hook !== 'onConnect')).toEqual([]);
        // a page of a partition the promoted replica serves, and any other, are served
        // (UNAVAILABLE, which the browser helper retries, until the client's slot map has the
        // promoted replica and the recovery settled)
        const { clientId, token } = await n1.supervisor.register();
        for (let attempt = 0; ; attempt++) {
          const error = await connected(connect(n1.url, { clientId, token })).catch((thrown: Error) => thrown);
          if (error === undefined) break;
          expect(error.message).toBe('UNAVAILABLE');
          expect(attempt).toBeLessThan(50);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const again = pages[owners.findIndex((owner) => owner.id === victim!.id)]!;
        again.socket.disconnect();
        await waitFor('the disconnect', async () => (await n1.supervisor.counts()).connected === 12);
      } finally {
        closeSockets();
        await node?.close();
      }
    });
  }, 90_000);
});

describe('the store on a Redis Cluster that is down', () => {
  it('should send a call Redis refused CLUSTERDOWN again with backoff, then answer UNAVAILABLE within about commandTimeout', async () => {
    const down = await startRedisCluster({ masters: 3 });
    const { url: _url, ...defaults } = clusterClientOptions(down.urls[0] as string, 500);
    const client = createCluster({ rootNodes: down.urls.map((url) => ({ url })), defaults });
    client.on('error', () => {});
    try {
      await client.connect();
      const store = await RedisClusterStore.connect({
        redis: client,
        nodeId: 'a',
        keyPrefix: 'dn',
        commandTimeout: 500,
      });
      try {
        await store.join();
        const owner = await down.ownerOf(down.slotOf('{dn}'));
        // another master dies: with full coverage required, every master refuses every command
        const other = (await down.masters()).find((node) => node.id !== owner.id) as ClusterNode;
        (other as unknown as { child: { kill(signal: string): void } }).child.kill('SIGKILL');
        await waitFor('cluster_state:fail', async () =>
          (await down.cli(owner, 'CLUSTER', 'INFO')).includes('cluster_state:fail'),
        );
        const before = store.roundTrips;
        const started = Date.now();
        const refused = await store.register().catch((error: unknown) => error);
        const took = Date.now() - started;
        expect(isUnavailable(refused)).toBe(true);
        expect((refused as Error).message).toContain('CLUSTERDOWN');
        expect(store.roundTrips - before).toBeGreaterThan(2);
        expect(took).toBeGreaterThanOrEqual(250);
        expect(took).toBeLessThan(1_500);
      } finally {
        await store.close();
      }
    } finally {
      await client.close().catch(() => {});
      await down.stop();
    }
  }, 60_000);
});
