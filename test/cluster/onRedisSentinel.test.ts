import { createClient, createSentinel, type RedisSentinelType } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterClientOptions } from '../../src/cluster/redis/connection.js';
import { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import { claimed, claimTraffic, connectedClient } from './fixtures.js';
import { type Admin, expectConsistent } from './helpers.js';
import { closeSockets, connect, connected, type HookCall, startNode, type TestNode, waitFor } from './nodes.js';
import { type RedisSentinel, startRedisSentinel } from './redisSentinel.js';

// The store and a node through a node-redis createSentinel() client: the master Sentinel names,
// followed across a failover.

let sentinel: RedisSentinel;
let counter = 0;
const opened: Array<{ close(): Promise<unknown> }> = [];
const stores: RedisClusterStore[] = [];
const nodes: TestNode[] = [];
const calls: HookCall[] = [];

beforeAll(async () => {
  sentinel = await startRedisSentinel();
}, 60_000);
afterEach(async () => {
  closeSockets();
  await Promise.all(nodes.splice(0).map((node) => node.close()));
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await Promise.all(opened.splice(0).map((client) => client.close().catch(() => {})));
  counter += 1;
});
afterAll(async () => {
  await sentinel?.stop();
});

async function sentinelClient(): Promise<RedisSentinelType> {
  const { url: _url, ...nodeClientOptions } = clusterClientOptions('redis://127.0.0.1', 2_000);
  const client = createSentinel({
    name: sentinel.name,
    sentinelRootNodes: [{ host: '127.0.0.1', port: sentinel.port }],
    nodeClientOptions,
  });
  client.on('error', () => {});
  await client.connect();
  opened.push(client);
  return client;
}

async function adminOnMaster(): Promise<Admin> {
  const admin = createClient({ url: `redis://127.0.0.1:${await sentinel.masterPort()}` }) as Admin;
  admin.on('error', () => {});
  await admin.connect();
  opened.push(admin);
  return admin;
}

describe('on Redis Sentinel (createSentinel client)', () => {
  it('should run the store, and after a failover let a new owner fence every earlier claim with the indexes whole', async () => {
    const prefix = `sn${counter}`;
    const a = await RedisClusterStore.connect({ redis: await sentinelClient(), nodeId: 'a', keyPrefix: prefix });
    const b = await RedisClusterStore.connect({ redis: await sentinelClient(), nodeId: 'b', keyPrefix: prefix });
    stores.push(a, b);
    await a.join();
    await b.join();
    // the notices both owners hear (sharded pub/sub, followed to the new master by node-redis)
    const replaced: string[] = [];
    for (const store of [a, b]) {
      await store.subscribe((notice) => {
        if (notice.type === 'replaced') replaced.push(notice.clientId);
      });
    }
    const clients = await Promise.all(Array.from({ length: 10 }, () => connectedClient(a)));
    const last = new Map(clients.map((client) => [client.clientId, client.fence]));
    // what the replica must have before the failover (asynchronous replication may lose the rest)
    // (WAIT counts only its own connection's writes, so it is asked after a write of its own:
    // the replication stream is in order, so that write reaching the replica means every
    // earlier one did)
    const admin = await adminOnMaster();
    await admin.sendCommand(['SET', 'wait-probe', String(Date.now())]);
    expect(await admin.sendCommand(['WAIT', '1', '5000'])).toBe(1);

    // not monotonic across the failover: the new master may lack the old one's last writes
    const traffic = claimTraffic([a, b], clients, {
      minRounds: 2,
      pauseMs: 20,
      onClaim: (clientId, _store, fence) => last.set(clientId, Math.max(last.get(clientId) as number, fence)),
    });
    const before = await sentinel.masterPort();
    const after = await sentinel.failover();
    const { answered, unavailable, rounds } = await traffic.stop();
    expect(after).not.toBe(before);
    expect(answered).toBeGreaterThan(clients.length);
    // every claim answered or was refused UNAVAILABLE (retryable), nothing else
    expect(answered + unavailable).toBe(rounds * clients.length);
    // Asynchronous replication: a claim the old master answered after the replica's last sync is
    // lost (the record on the new master may hold an older fence). A new owner's claim still fences
    // every earlier one, answered or lost: its fence is past them all (Redis TIME on one clock).
    const c = await RedisClusterStore.connect({ redis: await sentinelClient(), nodeId: 'c', keyPrefix: prefix });
    stores.push(c);
    await c.join();
    let lost = 0;
    const heardBefore = replaced.length;
    for (const { clientId, token } of clients) {
      if (((await c.get(clientId))?.fence as number) < (last.get(clientId) as number)) lost += 1;
      const claim = claimed(await c.claim({ clientId, token, socketId: `after-${clientId}` }));
      expect(claim.outcome).not.toBe('replay');
      expect(claim.client.fence).toBeGreaterThan(last.get(clientId) as number);
    }
    // (measured: 0 to all 10 clients lose their last answered claim, depending on timing)
    expect(lost).toBeLessThanOrEqual(clients.length);
    // each client c took was a's or b's on the new master: its owner heard so there
    await waitFor('the notices on the new master', () =>
      clients.every(({ clientId }) => replaced.slice(heardBefore).includes(clientId)),
    );
    await expectConsistent(await adminOnMaster(), prefix);
  });

  it('should run a cluster supervisor: a socket connects, drops and is deleted', async () => {
    const prefix = `sn${counter}`;
    const node = await startNode('n1', calls, { redis: await sentinelClient(), keyPrefix: prefix });
    nodes.push(node);
    const { clientId, token } = await node.supervisor.register();
    const socket = connect(node.url, { clientId, token });
    await connected(socket);
    await waitFor('onConnect', () => calls.some((call) => call.hook === 'onConnect' && call.clientId === clientId));
    socket.disconnect();
    await waitFor('disconnected', async () => (await node.supervisor.get(clientId))?.state === 'disconnected');
    expect(await node.supervisor.delete(clientId, 'kicked')).toBe(true);
    await waitFor('onDelete', () => calls.some((call) => call.hook === 'onDelete' && call.clientId === clientId));
    expect(calls.filter((call) => call.clientId === clientId).map((call) => call.hook)).toEqual([
      'onConnect',
      'onDisconnect',
      'onDelete',
    ]);
  });
});
