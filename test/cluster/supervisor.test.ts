import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import type { Deletion } from '../../src/cluster/redis/records.js';
import { SupervisorError } from '../../src/core/errors.js';
import { closeSockets, connect, connected, type HookCall, startNodes, type TestNode, waitFor } from './nodes.js';
import { type RedisServer, startRedisServer } from './redisServer.js';

// Two cluster nodes in this process (real socket.io servers, real Redis, real sockets): the
// supervisor's behaviour on each DESIGN cell across nodes. Killed and paused nodes are in the
// multi-process tests (scenarios.test.ts).

let redis: RedisServer;
let prefix = 0;
const nodes: TestNode[] = [];
let calls: HookCall[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  closeSockets();
  await Promise.all(nodes.splice(0).map((node) => node.close()));
  calls = [];
});
afterAll(async () => {
  await redis?.dispose();
});

/** The partition count of the describe block running (key layout 2 with one, layout 3 above). */
let partitions = 1;

async function cluster(count: number, options: Record<string, unknown> = {}): Promise<TestNode[]> {
  prefix += 1;
  const base = { redis: redis.url, keyPrefix: `s${prefix}`, partitions };
  const started = await startNodes(count, calls, { ...base, ...options });
  nodes.push(...started);
  return started;
}

const hooksOf = (clientId: string) =>
  calls.filter((call) => call.clientId === clientId).map((call) => `${call.node} ${call.hook} ${call.detail}`);

// every case with every key under one hash tag (layout 2), and with the clients over 16 partitions (layout 3)
describe.each([1, 16])('cluster supervisor (%i partitions)', (count) => {
  beforeAll(() => {
    partitions = count;
  });

  // The reshard soak (seed 4242, network faults): a read of the pending deletions, sent before a
  // deletion's completion ran in Redis and answered after it, ran its onDelete again on the same
  // node, not marked redelivered
  it('should not run a deletion again when a read of the pending deletions straddles its completion', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const deletes: string[] = [];
    const [a] = await cluster(1, {
      hooks: {
        onDelete: async (client: { clientId: string }) => {
          deletes.push(client.clientId);
          await held;
        },
      },
    });
    try {
      const { clientId } = await a!.supervisor.register();
      expect(await a!.supervisor.delete(clientId)).toBe(true);
      await waitFor('onDelete', () => deletes.length === 1);
      // the read: its answer (the deletion, not completed yet) held until the completion is done
      let read = (_list: Deletion[]) => {};
      const answered = new Promise<Deletion[]>((resolve) => {
        read = resolve;
      });
      const completed = () =>
        a!.cluster.some((event) => event.type === 'deletion-completed' && event.clientId === clientId);
      const pendingDeletions = RedisClusterStore.prototype.pendingDeletions;
      vi.spyOn(RedisClusterStore.prototype, 'pendingDeletions').mockImplementation(async function (
        this: RedisClusterStore,
      ) {
        const list = await pendingDeletions.call(this);
        read(list);
        await waitFor('the completion', completed);
        return list;
      });
      // a sweep without an answer: the node asks for its pending deletions after the next heartbeat
      vi.spyOn(RedisClusterStore.prototype, 'sweep').mockRejectedValueOnce(
        new SupervisorError('UNAVAILABLE', 'test: a sweep whose reply was lost'),
      );
      expect((await answered).map((deletion) => deletion.clientId)).toEqual([clientId]);
      release();
      await waitFor('the completion', completed);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(deletes).toEqual([clientId]);
      expect(a!.cluster.filter((event) => event.type === 'deletion-started')).toHaveLength(1);
    } finally {
      release();
      vi.restoreAllMocks();
    }
  });

  it('should connect a client registered on one node on another, with one onConnect there', async () => {
    const [a, b] = await cluster(2);
    const { clientId, token } = await a!.supervisor.register({ data: { user: 1 } });
    expect((await b!.supervisor.get(clientId))?.state).toBe('handshaking');
    await connected(connect(b!.url, { clientId, token }));
    await waitFor('onConnect', () => calls.length === 1);
    expect(hooksOf(clientId)).toEqual(['n2 onConnect {"reconnect":false}']);
    const view = await a!.supervisor.get(clientId);
    expect(view).toMatchObject({ state: 'connected', node: 'n2', data: { user: 1 } });
    // the registering node let it go without a hook
    await waitFor('n1 lets it go', () => a!.cluster.some((e) => e.type === 'client-lost' && e.clientId === clientId));
    expect(a!.supervisor.localCounts().total).toBe(0);
    expect(b!.supervisor.localCounts()).toMatchObject({ connected: 1, total: 1 });
    expect(calls[0]!.cluster.fence).toBe(view!.fence);
  });

  it('should resume a client on another node after its socket dropped: onDisconnect there, onConnect(reconnect) here', async () => {
    const [a, b] = await cluster(2, { reconnectTimeout: 5000 });
    const { clientId, token } = await a!.supervisor.register();
    const first = connect(a!.url, { clientId, token });
    await connected(first);
    first.disconnect();
    await waitFor('disconnected', async () => (await a!.supervisor.get(clientId))?.state === 'disconnected');
    await connected(connect(b!.url, { clientId, token }));
    await waitFor('reconnect hook', () => calls.length === 3);
    expect(hooksOf(clientId)).toEqual([
      'n1 onConnect {"reconnect":false}',
      'n1 onDisconnect client namespace disconnect',
      'n2 onConnect {"reconnect":true}',
    ]);
    const fences = calls.map((call) => call.cluster.fence);
    expect(fences[0]).toBe(fences[1]);
    expect(fences[2]).toBeGreaterThan(fences[1]!);
  });

  it('should swap a connected client to a socket on another node without hooks, closing the old one with replaced', async () => {
    const [a, b] = await cluster(2);
    const { clientId, token } = await a!.supervisor.register();
    const first = connect(a!.url, { clientId, token });
    await connected(first);
    const replaced = new Promise((resolve) => first.once('supervisor:replaced', resolve));
    await connected(connect(b!.url, { clientId, token }));
    await replaced;
    await waitFor('n1 lets it go', () => a!.supervisor.localCounts().total === 0);
    expect(hooksOf(clientId)).toEqual(['n1 onConnect {"reconnect":false}']);
    expect(b!.events.map((e) => e.type)).toContain('socket-replaced');
    expect((await b!.supervisor.get(clientId))?.node).toBe('n2');
  });

  it('should delete a client from another node once: true once, onDelete on the deleting node, socket told', async () => {
    const [a, b] = await cluster(2);
    const { clientId, token } = await a!.supervisor.register();
    const socket = connect(a!.url, { clientId, token });
    await connected(socket);
    const told = new Promise<{ reason: string }>((resolve) => socket.once('supervisor:deleted', resolve));
    const results = await Promise.all([
      b!.supervisor.delete(clientId, 'kicked'),
      a!.supervisor.delete(clientId, 'kicked'),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    await told;
    await waitFor('onDelete', () => calls.some((call) => call.hook === 'onDelete'));
    await waitFor('completed', () =>
      [...a!.cluster, ...b!.cluster].some((e) => e.type === 'deletion-completed' && e.outcome === 'completed'),
    );
    const deletes = calls.filter((call) => call.hook === 'onDelete');
    expect(deletes).toHaveLength(1);
    expect(deletes[0]!.detail).toBe('kicked');
    expect(deletes[0]!.cluster.fence).toBeGreaterThan(calls[0]!.cluster.fence);
    expect(deletes[0]!.cluster).toMatchObject({ redelivered: false, deletionId: expect.any(String) });
    expect(await a!.supervisor.get(clientId)).toBeUndefined();
    await expect(connected(connect(b!.url, { clientId, token }))).rejects.toMatchObject({ code: 'CLIENT_DELETED' });
    expect(await b!.supervisor.delete(clientId)).toBe(false);
  });

  it('should delete a client whose grace period ran out exactly once, whichever node sweeps it', async () => {
    const [a] = await cluster(3, { reconnectTimeout: 200 });
    const { clientId, token } = await a!.supervisor.register();
    const socket = connect(a!.url, { clientId, token });
    await connected(socket);
    socket.disconnect();
    await waitFor('onDelete', () => calls.some((call) => call.hook === 'onDelete'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls.filter((call) => call.hook === 'onDelete').map((call) => call.detail)).toEqual(['reconnect-timeout']);
    expect(await a!.supervisor.get(clientId)).toBeUndefined();
  });

  it('should reject a bad token, an unknown client and a malformed one, each with its code', async () => {
    const [a] = await cluster(1);
    const { clientId } = await a!.supervisor.register();
    await expect(connected(connect(a!.url, { clientId, token: 'x'.repeat(22) }))).rejects.toMatchObject({
      code: 'BAD_TOKEN',
    });
    await expect(connected(connect(a!.url, { clientId: 'y'.repeat(22), token: 'x'.repeat(22) }))).rejects.toMatchObject(
      {
        code: 'UNKNOWN_CLIENT',
      },
    );
    await expect(connected(connect(a!.url, { clientId: 5 }))).rejects.toMatchObject({ code: 'INVALID_HANDSHAKE' });
  });

  it('should count cluster-wide from any node, and list by node', async () => {
    const [a, b] = await cluster(2);
    const one = await a!.supervisor.register();
    const two = await b!.supervisor.register();
    await connected(connect(b!.url, { ...one }));
    expect(await a!.supervisor.counts()).toEqual({ handshaking: 1, connected: 1, disconnected: 0, total: 2, nodes: 2 });
    const page = await a!.supervisor.list({ node: 'n2' });
    expect(page.map((c) => c.clientId).sort()).toEqual([one.clientId, two.clientId].sort());
    const connectedOnly = await b!.supervisor.list({ state: 'connected' });
    expect(connectedOnly.map((c) => c.clientId)).toEqual([one.clientId]);
  });

  it('should leave on close: clients released with their grace period, no onDelete, sockets reconnect elsewhere', async () => {
    const [a, b] = await cluster(2, { reconnectTimeout: 5000 });
    const { clientId, token } = await a!.supervisor.register();
    const socket = connect(a!.url, { clientId, token });
    await connected(socket);
    const dropped = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    await a!.close();
    expect(await dropped).toBe('transport close');
    const view = await b!.supervisor.get(clientId);
    expect(view).toMatchObject({ state: 'disconnected', node: null });
    await connected(connect(b!.url, { clientId, token }));
    await waitFor('onConnect on n2', () => calls.length === 2);
    expect(hooksOf(clientId)).toEqual(['n1 onConnect {"reconnect":false}', 'n2 onConnect {"reconnect":true}']);
  });

  it('should write back the clients each node holds when Redis loses its data, and keep them working', async () => {
    const [a, b] = await cluster(2, { reconnectTimeout: 5000 });
    const one = await a!.supervisor.register({ data: { n: 1 } });
    const two = await a!.supervisor.register();
    const socket = connect(a!.url, { ...one });
    await connected(socket);
    await connected(connect(b!.url, { ...two }));
    const fence = (await a!.supervisor.get(one.clientId))!.fence;
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.flushAll();
    admin.destroy();
    await waitFor('both restored', () =>
      [a!, b!].every((node) => node.cluster.some((e) => e.type === 'restored' && e.restored === 1)),
    );
    expect(await b!.supervisor.get(one.clientId)).toMatchObject({
      state: 'connected',
      node: 'n1',
      fence,
      data: { n: 1 },
    });
    expect(await a!.supervisor.get(two.clientId)).toMatchObject({ state: 'connected', node: 'n2' });
    socket.disconnect();
    await waitFor('onDisconnect after the reset', () => calls.some((call) => call.hook === 'onDisconnect'));
    expect(await a!.supervisor.counts()).toMatchObject({ connected: 1, disconnected: 1, nodes: 2 });
  });

  it('should refuse handshakes UNAVAILABLE while Redis is unreachable, and admit them once it is back', async () => {
    const [a] = await cluster(1, { commandTimeout: 300 });
    const { clientId, token } = await a!.supervisor.register();
    redis.pause();
    try {
      await expect(connected(connect(a!.url, { clientId, token }))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      redis.resume();
    }
    await waitFor('admitted', async () => {
      try {
        await connected(connect(a!.url, { clientId, token }));
        return true;
      } catch {
        return false;
      }
    });
    // a claim Redis ran after its reply timed out was released (the socket had been refused), so
    // the client may come back as a reconnect; either way it connects once, with one onConnect
    expect(calls.map((call) => call.hook)).toEqual(['onConnect']);
    expect((await a!.supervisor.get(clientId))?.state).toBe('connected');
  });
});
