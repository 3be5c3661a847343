import { describe, expect, it } from 'vitest';
import { hashToken } from '../../src/core/ids.js';
import { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import type { ClusterNotice } from '../../src/cluster/redis/subscriber.js';
import { claimed, type Registered, registered } from './fixtures.js';
import { useRedis } from './helpers.js';

describe('register and claim (the handshake column)', () => {
  const { context, node, store, keysOf, adminOf, everyMaster, consistent, applicationClient } = useRedis();

  async function client(owner: RedisClusterStore, data: unknown = { user: 7 }): Promise<Registered> {
    return registered(await owner.register({ tabId: 'tab-1', data }));
  }

  it('should register a handshaking client owned by the registering node, with a handshake deadline', async () => {
    const a = await node('a', { handshakeTimeout: 5_000 });
    const { clientId, token, client: record } = await client(a);
    expect(clientId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(record).toMatchObject({
      state: 'handshaking',
      socketId: null,
      tabId: 'tab-1',
      data: { user: 7 },
      node: 'a',
    });
    expect(record.expiresAt).toBe(record.createdAt + 5_000);
    const key = keysOf(clientId).client(clientId);
    const stored = await (await adminOf(key)).hGetAll(key);
    expect(stored.tokenHash).toBe(hashToken(token));
    expect(Object.values(stored)).not.toContain(token);
    await consistent();
  });

  it('should answer a replayed register with the same record and refuse the id with another token', async () => {
    const a = await node('a');
    const first = await client(a);
    const again = registered(await a.register({ clientId: first.clientId, token: first.token }));
    expect(again.outcome).toBe('replay');
    expect(again.client.fence).toBe(first.client.fence);
    const other = await a.register({ clientId: first.clientId, token: 'another-token' });
    expect(other.outcome).toBe('id-taken');
  });

  it('should connect a handshaking client on another node, moving ownership and raising the fence', async () => {
    const a = await node('a');
    const b = await node('b');
    const { clientId, token, client: before } = await client(a);
    const result = claimed(await b.claim({ clientId, token, socketId: 'sock-1' }));
    expect(result.outcome).toBe('connected');
    expect(result.ownerChanged).toBe(true);
    expect(result.previous).toEqual(before);
    expect(result.client).toMatchObject({ state: 'connected', socketId: 'sock-1', node: 'b', expiresAt: null });
    expect(result.client.connectedAt).not.toBeNull();
    expect(result.client.fence).toBeGreaterThan(before.fence);
    const deadlines = keysOf(clientId).deadlines;
    expect(await (await adminOf(deadlines)).zScore(deadlines, clientId)).toBeNull();
    await consistent();
  });

  it('should keep the fence when the owner does not change', async () => {
    const a = await node('a');
    const { clientId, token, client: before } = await client(a);
    const result = claimed(await a.claim({ clientId, token, socketId: 'sock-1' }));
    expect(result.ownerChanged).toBe(false);
    expect(result.client.fence).toBe(before.fence);
  });

  it('should answer replay, changing nothing, when the same socket claims again on the same node', async () => {
    const a = await node('a');
    const { clientId, token } = await client(a);
    const first = claimed(await a.claim({ clientId, token, socketId: 'sock-1' }));
    const again = claimed(await a.claim({ clientId, token, socketId: 'sock-1' }));
    expect(again.outcome).toBe('replay');
    expect(again.client).toEqual(first.client);
    expect(again.previous).toEqual(first.client);
  });

  it('should swap sockets (no reconnect) when a connected client claims with another socket', async () => {
    const a = await node('a');
    const { clientId, token } = await client(a);
    const first = claimed(await a.claim({ clientId, token, socketId: 'sock-1' }));
    const swap = claimed(await a.claim({ clientId, token, socketId: 'sock-2' }));
    expect(swap.outcome).toBe('swapped');
    expect(swap.previous.socketId).toBe('sock-1');
    expect(swap.client.socketId).toBe('sock-2');
    expect(swap.client.connectedAt).toBe(first.client.connectedAt);
    expect(swap.client.fence).toBe(first.client.fence);
  });

  it('should swap across nodes, reporting the previous owner and socket, and notify the previous owner', async () => {
    const a = await node('a');
    const b = await node('b');
    let deliver: (notice: ClusterNotice) => void = () => {};
    const notice = new Promise<ClusterNotice>((resolve) => {
      deliver = resolve;
    });
    // subscribed once this resolves, so the claim's notice cannot be missed
    const stop = await a.subscribe((received) => deliver(received));
    const { clientId, token } = await client(a);
    const first = claimed(await a.claim({ clientId, token, socketId: 'sock-a' }));
    const swap = claimed(await b.claim({ clientId, token, socketId: 'sock-b' }));
    expect(swap.outcome).toBe('swapped');
    expect(swap.ownerChanged).toBe(true);
    expect(swap.previous).toMatchObject({ node: 'a', socketId: 'sock-a', incarnation: 1 });
    expect(swap.client.fence).toBeGreaterThan(first.client.fence);
    expect(await notice).toEqual({
      type: 'replaced',
      clientId,
      incarnation: 1,
      fence: swap.client.fence,
      socketId: 'sock-a',
    });
    await stop();
  });

  it('should reconnect a disconnected client (on any node) and clear its reconnect deadline', async () => {
    const a = await node('a');
    const b = await node('b');
    const { clientId, token } = await client(a);
    const first = claimed(await a.claim({ clientId, token, socketId: 'sock-1' }));
    const gone = await a.disconnect({ clientId, socketId: 'sock-1', fence: first.client.fence });
    expect(gone.outcome).toBe('disconnected');
    const back = claimed(await b.claim({ clientId, token, socketId: 'sock-2', tabId: 'tab-2' }));
    expect(back.outcome).toBe('reconnected');
    expect(back.previous.state).toBe('disconnected');
    expect(back.client).toMatchObject({ state: 'connected', socketId: 'sock-2', tabId: 'tab-2', expiresAt: null });
    expect(back.client.disconnectedAt).toBe(back.previous.disconnectedAt);
    await consistent();
  });

  it('should reject an unknown client, a bad token and a deleted client, changing nothing', async () => {
    const a = await node('a');
    const { clientId, token, client: before } = await client(a);
    expect(await a.claim({ clientId: 'AAAAAAAAAAAAAAAAAAAAAA', token, socketId: 's' })).toEqual({
      outcome: 'rejected',
      code: 'UNKNOWN_CLIENT',
    });
    expect(await a.claim({ clientId, token: 'wrong-token', socketId: 's' })).toEqual({
      outcome: 'rejected',
      code: 'BAD_TOKEN',
    });
    expect(await a.get(clientId)).toEqual(before);
    expect((await a.delete({ clientId, reason: 'kicked' })).outcome).toBe('deleted');
    expect(await a.claim({ clientId, token, socketId: 's' })).toEqual({
      outcome: 'rejected',
      code: 'CLIENT_DELETED',
      reason: 'kicked',
    });
  });

  it('should cost exactly one Redis command per handshake', async () => {
    const a = await node('a');
    const b = await node('b');
    const { clientId, token } = await client(a);
    // every Redis, so that a command sent to another master (partitions) would count too
    const masters = await everyMaster();
    const stats = () => Promise.all(masters.map((admin) => admin.info('commandstats')));
    const calls = (infos: string[], command: string): number =>
      infos.reduce((sum, info) => sum + Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0), 0);
    const owner = masters.indexOf(await adminOf(keysOf(clientId).client(clientId)));
    expect(owner).toBeGreaterThanOrEqual(0);
    const statsBefore = await stats();
    const sent = b.roundTrips;
    claimed(await b.claim({ clientId, token, socketId: 'sock-1' }));
    expect(b.roundTrips - sent).toBe(1);
    const statsAfter = await stats();
    expect(calls(statsAfter, 'evalsha') - calls(statsBefore, 'evalsha')).toBe(1);
    expect(calls(statsAfter, 'eval') - calls(statsBefore, 'eval')).toBe(0);
    // run by the master of the client's partition
    const onOwner = (infos: string[]) => calls([infos[owner] as string], 'evalsha');
    expect(onOwner(statsAfter) - onOwner(statsBefore)).toBe(1);
  });

  it('should refuse node-scoped calls before join()', async () => {
    const a = await node('a');
    const { clientId, token } = await client(a);
    const loose = await store({ nodeId: 'loose' });
    await expect(loose.claim({ clientId, token, socketId: 's' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(loose.register()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it("should announce on the client's watch channel when it connects or reconnects, and when it is deleted", async () => {
    const a = await node('a');
    const b = await node('b');
    const { clientId, token } = await client(a);
    const heard: string[] = [];
    const stop = await b.watch(clientId, (announcement) => heard.push(announcement));
    const first = claimed(await a.claim({ clientId, token, socketId: 'sock-1' }));
    // a swap keeps it connected: nothing to announce
    claimed(await b.claim({ clientId, token, socketId: 'sock-2' }));
    await b.disconnect({ clientId, socketId: 'sock-2', fence: (await b.get(clientId))!.fence });
    claimed(await a.claim({ clientId, token, socketId: 'sock-3' }));
    await a.delete({ clientId, reason: 'kicked' });
    for (let i = 0; i < 100 && heard.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(heard).toEqual(['connected', 'connected', 'deleted']);
    expect(first.outcome).toBe('connected');
    await stop();
  });

  it('should refuse malformed ids before reaching Redis', async () => {
    const a = await node('a');
    const sent = a.roundTrips;
    await expect(a.claim({ clientId: 'not base64url!', token: 't', socketId: 's' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(a.claim({ clientId: 'abc', token: 't', socketId: '' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(a.roundTrips).toBe(sent);
  });

  // a createClient() on the one redis-server, a createCluster() on the cluster
  it("should work on the application's own node-redis client, and leave it open on close()", async () => {
    const own = await applicationClient();
    try {
      const a = await RedisClusterStore.connect({
        redis: own,
        keyPrefix: context.prefix,
        partitions: context.partitions,
      });
      await a.join();
      const { clientId, token } = registered(await a.register());
      expect(claimed(await a.claim({ clientId, token, socketId: 's' })).outcome).toBe('connected');
      await a.close();
      // still open and answering: another store on it gets its record
      const again = await RedisClusterStore.connect({
        redis: own,
        keyPrefix: context.prefix,
        partitions: context.partitions,
      });
      expect((await again.get(clientId))?.state).toBe('connected');
      await again.close();
    } finally {
      own.destroy();
    }
  });
});
