import type { Socket as ClientSocket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { onRedisCluster as isOnRedisCluster } from './helpers.js';
import {
  type Credentials,
  connected,
  FAST,
  type LogEntry,
  type NodeProcess,
  startCluster,
  type TestCluster,
  waitFor,
} from './procs/cluster.js';
import { checkInvariants } from './procs/invariants.js';

// Three node processes and a real redis-server (AOF, fsync always), started and stopped here. The
// faults are real: kill -9, SIGSTOP/SIGCONT, a Redis restart, a paused Redis. Every node appends
// its hook calls to a file; after each scenario the invariants are checked on those files.
// In the `redis-cluster` project (or with REDIS_TOPOLOGY=cluster) the nodes share a 3-master Redis
// Cluster instead, through createCluster() clients: the same scenarios but the two that restart or
// pause the one redis-server, and one more, a node killed with -9 while the slot of every key moves.

const onRedisCluster = isOnRedisCluster();

let cluster: TestCluster;
let n1: NodeProcess;
let n2: NodeProcess;
let n3: NodeProcess;

beforeAll(async () => {
  cluster = await startCluster(
    3,
    onRedisCluster ? { redisCluster: true } : { redis: { appendonly: true, appendfsync: 'always' } },
  );
  [n1, n2, n3] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
}, 60_000);

afterEach(async () => {
  // every scenario leaves three live nodes for the next, and the whole record so far must hold
  for (const node of cluster.nodes) {
    if (node.paused) node.resume();
    if (!node.alive) await node.restart();
  }
  const report = checkInvariants(cluster.log());
  expect(report.violations).toEqual([]);
}, 30_000);

afterAll(async () => {
  const report = checkInvariants(cluster.log());
  await cluster?.stop();
  expect(report.violations).toEqual([]);
  // the checks looked at something
  expect(report.clients).toBeGreaterThanOrEqual(30);
  // kill -9: 3, grace: 1, SIGSTOP: 2, kick: 1
  expect(report.deletedClients).toBeGreaterThanOrEqual(7);
}, 30_000);

/** A client's hook calls on every node, in time order (one host, one clock; the scenarios are sequential). */
const hooks = (clientId: string, hook?: LogEntry['hook']): LogEntry[] =>
  cluster
    .log()
    .filter((e) => e.kind === 'hook' && e.phase === 'start' && e.clientId === clientId && (!hook || e.hook === hook))
    .sort((a, b) => a.t - b.t);

/** How many times the nodes declared `nodeId` dead so far. */
const deathsOf = (nodeId: string): number =>
  cluster.log().filter((e) => e.type === 'nodes-dead' && e.nodes?.includes(nodeId)).length;

const summary = (clientId: string) => hooks(clientId).map((e) => `${e.node} ${e.hook} ${e.detail}`);

function open(node: NodeProcess, credentials: Credentials): ClientSocket {
  return cluster.connect(node, credentials);
}

async function online(node: NodeProcess, credentials: Credentials): Promise<ClientSocket> {
  const socket = open(node, credentials);
  await connected(socket);
  return socket;
}

/** Connects, retrying while the node answers UNAVAILABLE or SHUTTING_DOWN (as a browser helper would). */
async function onlineEventually(node: NodeProcess, credentials: Credentials): Promise<ClientSocket> {
  for (;;) {
    const socket = open(node, credentials);
    try {
      await connected(socket);
      return socket;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'UNAVAILABLE' && code !== 'SHUTTING_DOWN') throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const record = (credentials: Credentials) =>
  n2.command<{ state: string; node: string | null; fence: number } | null>('get', { clientId: credentials.clientId });

const gone = (credentials: Credentials) => async () => (await record(credentials)) === null;

describe('cluster mode with real processes', () => {
  it('should resume a client on another node: onDisconnect on the first, onConnect(reconnect) on the second', async () => {
    const [client] = await n1.register();
    const socket = await online(n1, client!);
    socket.disconnect();
    await waitFor('onDisconnect', () => hooks(client!.clientId, 'onDisconnect').length === 1);
    await online(n2, client!);
    await waitFor('onConnect on node-2', () => hooks(client!.clientId).length === 3);
    expect(summary(client!.clientId)).toEqual([
      'node-1 onConnect false',
      'node-1 onDisconnect client namespace disconnect',
      'node-2 onConnect true',
    ]);
    expect(await record(client!)).toMatchObject({ state: 'connected', node: 'node-2' });
  });

  it('should give a client claimed on two nodes at once one owner, one onConnect, and tell the loser replaced', async () => {
    const clients = await n1.register(8);
    for (const client of clients) {
      const a = open(n2, client);
      const b = open(n3, client);
      const replaced = Promise.race([
        new Promise<ClientSocket>((resolve) => a.once('supervisor:replaced', () => resolve(a))),
        new Promise<ClientSocket>((resolve) => b.once('supervisor:replaced', () => resolve(b))),
      ]);
      await Promise.all([connected(a), connected(b)]);
      const loser = await replaced;
      const winner = loser === a ? b : a;
      const owner = await record(client);
      expect(owner).toMatchObject({ state: 'connected', node: winner === a ? 'node-2' : 'node-3' });
      await waitFor('one onConnect', () => hooks(client.clientId, 'onConnect').length === 1);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const client of clients) expect(hooks(client.clientId).map((e) => e.hook)).toEqual(['onConnect']);
  });

  it('should resume the clients of a node killed with -9 that reconnect elsewhere and delete the others once', async () => {
    const clients = await n1.register(6);
    for (const client of clients) await online(n1, client);
    await n1.kill();
    const [back1, back2, back3, ...left] = clients as [Credentials, Credentials, Credentials, ...Credentials[]];
    await online(n2, back1);
    await online(n3, back2);
    // after the reaper released them: a reconnect
    await waitFor('node-1 declared dead', () =>
      cluster.log().some((e) => e.type === 'nodes-dead' && JSON.stringify(e).includes('node-1')),
    );
    await online(n2, back3);
    for (const client of left) await waitFor('deleted', gone(client));
    for (const client of left) {
      await waitFor('onDelete', () => hooks(client.clientId, 'onDelete').length === 1);
      expect(hooks(client.clientId, 'onDelete')).toMatchObject([{ detail: 'reconnect-timeout', redelivered: false }]);
    }
    for (const client of [back1, back2, back3]) {
      expect(await record(client)).toMatchObject({ state: 'connected' });
      expect(hooks(client.clientId, 'onDelete')).toEqual([]);
    }
    expect(hooks(back3.clientId).at(-1)).toMatchObject({ node: 'node-2', hook: 'onConnect', detail: 'true' });
  });

  it.runIf(onRedisCluster)(
    'should resume the clients of a node killed with -9 during a reshard of their slot on other nodes, and delete the others once',
    async () => {
      const redisCluster = cluster.redisCluster!;
      const clients = await n1.register(6);
      for (const client of clients) await online(n1, client);
      const slot = redisCluster.slotOf(`{${cluster.prefix}}`);
      const from = await redisCluster.ownerOf(slot);
      const to = (await redisCluster.masters()).find((master) => master.id !== from.id)!;
      const keys = Number(await redisCluster.cli(from, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)));
      // ten batches 80 ms apart: the slot is split for about a second, under nodeTtl (a longer split
      // ends every node's lease: docs/cluster-redis.md, "Moving the slot of every key")
      let moved = false;
      const move = redisCluster.moveSlot(slot, to, { batch: Math.ceil(keys / 10), pauseMs: 80 }).finally(() => {
        moved = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 250));
      const deadBefore = deathsOf('node-1');
      await n1.kill();
      // killed while the slot was split between two masters
      expect(moved).toBe(false);
      const [back1, back2, back3, ...left] = clients as [Credentials, Credentials, Credentials, ...Credentials[]];
      // during the move: refused UNAVAILABLE while their keys are split, retried
      await onlineEventually(n2, back1);
      await onlineEventually(n3, back2);
      expect(await move).toBeGreaterThanOrEqual(keys);
      expect((await redisCluster.ownerOf(slot)).id).toBe(to.id);
      // this kill's declaration (an earlier scenario declared node-1 dead too)
      await waitFor('node-1 declared dead', () => deathsOf('node-1') > deadBefore);
      await online(n2, back3);
      for (const client of left) await waitFor('deleted', gone(client));
      for (const client of left) {
        await waitFor('onDelete', () => hooks(client.clientId, 'onDelete').length === 1);
        expect(hooks(client.clientId, 'onDelete')).toMatchObject([{ detail: 'reconnect-timeout', redelivered: false }]);
      }
      // taken over from the dead node: a swap if node-1 was not declared dead yet (no hook), a
      // resume after (onConnect true); nothing deleted, nothing more on node-1
      await waitFor('back3 resumed on node-2', () => hooks(back3.clientId, 'onConnect').length === 2);
      expect(hooks(back3.clientId).at(-1)).toMatchObject({ node: 'node-2', hook: 'onConnect', detail: 'true' });
      for (const [client, node] of [
        [back1, 'node-2'],
        [back2, 'node-3'],
        [back3, 'node-2'],
      ] as const) {
        expect(await record(client)).toMatchObject({ state: 'connected', node });
        expect(hooks(client.clientId, 'onDelete')).toEqual([]);
        expect(hooks(client.clientId).filter((e) => e.node === 'node-1')).toMatchObject([{ hook: 'onConnect' }]);
      }
      // nothing left on the master the slot left
      expect(await redisCluster.cli(from, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBe('0');
    },
  );

  // the finding of docs/cluster-redis.md, "Moving the slot of every key": no heartbeat runs while
  // the slot is split, so a throttled reshard longer than nodeTtl ends every node's lease
  it.runIf(onRedisCluster)(
    "should end every node's lease when a throttled move keeps the slot split past nodeTtl, and lose no client: they rejoin and the pages resume",
    async () => {
      const redisCluster = cluster.redisCluster!;
      const clients = (await n2.register(4)) as Credentials[];
      const sockets = await Promise.all(clients.map((client, i) => online(i % 2 ? n3 : n2, client)));
      const dropped = sockets.map((socket) => new Promise<string>((resolve) => socket.once('disconnect', resolve)));
      const count = (type: string) => cluster.log().filter((e) => e.type === type).length;
      const leaseLostBefore = count('lease-lost');
      const slot = redisCluster.slotOf(`{${cluster.prefix}}`);
      const from = await redisCluster.ownerOf(slot);
      const to = (await redisCluster.masters()).find((master) => master.id !== from.id)!;
      const keys = Number(await redisCluster.cli(from, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)));
      const startedAt = performance.timeOrigin + performance.now();
      let split = 0;
      // up to 40 batches, the pauses alone past nodeTtl + 1 s (with partitions, the nodes' 16 on
      // the cluster, this slot holds the membership only: a few keys, a batch each)
      const batches = Math.min(40, keys);
      await redisCluster.moveSlot(slot, to, {
        batch: Math.ceil(keys / batches),
        pauseMs: (FAST.nodeTtl + 1000) / batches,
        onSplit: (ms) => {
          split = ms;
        },
      });
      expect(split).toBeGreaterThan(FAST.nodeTtl);
      // each node stopped serving by itself: its sockets closed, then it rejoined once
      expect(await Promise.all(dropped)).toEqual(clients.map(() => 'transport close'));
      await waitFor(
        'every node joined again',
        () =>
          cluster.log().filter((e) => e.type === 'joined' && e.why === 'lease-lost' && e.t > startedAt).length === 3,
      );
      expect(count('lease-lost') - leaseLostBefore).toBe(3);
      for (const [i, client] of clients.entries()) await onlineEventually(i % 2 ? n2 : n3, client);
      for (const client of clients) {
        expect(await record(client)).toMatchObject({ state: 'connected' });
        expect(hooks(client.clientId, 'onDelete')).toEqual([]);
      }
      expect(await redisCluster.cli(from, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBe('0');
    },
  );

  it('should keep the deadline of a client in its grace period when its owner dies: it resumes, or is deleted once', async () => {
    const [stays, leaves] = (await n1.register(2)) as [Credentials, Credentials];
    const s1 = await online(n1, stays);
    const s2 = await online(n1, leaves);
    s1.disconnect();
    s2.disconnect();
    await waitFor(
      'both disconnected',
      () => hooks(stays.clientId, 'onDisconnect').length + hooks(leaves.clientId, 'onDisconnect').length === 2,
    );
    await n1.kill();
    await online(n3, stays);
    await waitFor('deleted', gone(leaves));
    await waitFor('onDelete', () => hooks(leaves.clientId, 'onDelete').length === 1);
    expect(hooks(leaves.clientId, 'onDelete')[0]).toMatchObject({ detail: 'reconnect-timeout' });
    expect(hooks(leaves.clientId, 'onDelete')[0]!.node).not.toBe('node-1');
    expect(summary(stays.clientId)).toEqual([
      'node-1 onConnect false',
      'node-1 onDisconnect client namespace disconnect',
      'node-3 onConnect true',
    ]);
  });

  it('should fence a node paused past nodeTtl: no hook there for the clients it lost, their sockets closed, a new incarnation', async () => {
    const clients = (await n1.register(4)) as [Credentials, Credentials, Credentials, Credentials];
    const sockets = await Promise.all(clients.map((client) => online(n1, client)));
    const closed = sockets.map((socket) => new Promise<string>((resolve) => socket.once('disconnect', resolve)));
    const before = cluster.log().filter((e) => e.node === 'node-1' && e.type === 'joined').length;
    n1.pause();
    await waitFor('node-1 declared dead', async () => (await n2.command<{ nodes: number }>('counts')).nodes === 2);
    const [moved1, moved2, idle1, idle2] = clients;
    await online(n2, moved1);
    await online(n3, moved2);
    n1.resume();
    await waitFor(
      'node-1 rejoined',
      () => cluster.log().filter((e) => e.node === 'node-1' && e.type === 'joined').length > before,
    );
    // the sockets node-1 still had are closed, so those browsers reconnect (here: they do not)
    expect(await Promise.all([closed[2], closed[3]])).toEqual(['transport close', 'transport close']);
    for (const client of [idle1, idle2]) {
      await waitFor('deleted', gone(client));
      await waitFor('onDelete', () => hooks(client.clientId, 'onDelete').length === 1);
    }
    const fenced = cluster.log().find((e) => e.node === 'node-1' && e.type === 'fenced');
    expect(fenced).toBeDefined();
    for (const client of clients) {
      // nothing from the fenced incarnation (its successor may sweep them like any node)
      const late = hooks(client.clientId).filter(
        (e) => e.node === 'node-1' && e.inc === fenced!.incarnation && e.t > fenced!.t,
      );
      expect(late).toEqual([]);
      const onNode1 = hooks(client.clientId).filter((e) => e.node === 'node-1' && e.hook !== 'onDelete');
      expect(onNode1.map((e) => e.hook)).toEqual(['onConnect']);
    }
    for (const client of [moved1, moved2]) expect(await record(client)).toMatchObject({ state: 'connected' });
  });

  it('should kick a client from another node: true once, onDelete there once, the socket told', async () => {
    const [client] = (await n1.register()) as [Credentials];
    const socket = await online(n1, client);
    const told = new Promise<{ reason: string }>((resolve) => socket.once('supervisor:deleted', resolve));
    const results = await Promise.all([
      n2.command<boolean>('delete', { clientId: client.clientId }),
      n3.command<boolean>('delete', { clientId: client.clientId }),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await told).toMatchObject({ reason: 'deleted' });
    await waitFor('onDelete', () => hooks(client.clientId, 'onDelete').length === 1);
    const [onDelete] = hooks(client.clientId, 'onDelete');
    expect(onDelete).toMatchObject({ detail: 'kicked', node: results[0] ? 'node-2' : 'node-3' });
    await expect(online(n1, client)).rejects.toMatchObject({ code: 'CLIENT_DELETED' });
  });

  it('should run onDelete again elsewhere, same deletionId and redelivered, only when its node dies during it', async () => {
    const [client] = (await n1.register()) as [Credentials];
    await online(n1, client);
    await n2.command('slowDelete', { ms: 60_000 });
    expect(await n2.command<boolean>('delete', { clientId: client.clientId })).toBe(true);
    await waitFor('onDelete started on node-2', () => hooks(client.clientId, 'onDelete').length === 1);
    await n2.kill();
    await waitFor('redelivered', () => hooks(client.clientId, 'onDelete').length === 2);
    const [first, again] = hooks(client.clientId, 'onDelete') as [LogEntry, LogEntry];
    expect(first).toMatchObject({ node: 'node-2', redelivered: false, detail: 'kicked' });
    expect(again).toMatchObject({
      redelivered: true,
      detail: 'kicked',
      deletionId: first.deletionId,
      fence: first.fence,
    });
    expect(again.node).not.toBe('node-2');
    await waitFor('completed', () =>
      cluster
        .log()
        .some((e) => e.type === 'deletion-completed' && e.clientId === client.clientId && e.outcome === 'completed'),
    );
  });

  it.skipIf(onRedisCluster)(
    'should keep every client across a Redis restart from its AOF: same records, same fences, hooks after it',
    async () => {
      const clients = (await n1.register(3)) as [Credentials, Credentials, Credentials];
      const s1 = await online(n1, clients[0]);
      await online(n2, clients[1]);
      const before = await Promise.all(clients.map(record));
      await cluster.redis.restart();
      const after = await Promise.all(clients.map((client) => waitForRecord(client)));
      expect(after).toEqual(before);
      s1.disconnect();
      await waitFor('onDisconnect after the restart', () => hooks(clients[0].clientId, 'onDisconnect').length === 1);
      await onlineEventually(n3, clients[2]);
      await waitFor('onConnect of the third', () => hooks(clients[2].clientId, 'onConnect').length === 1);
      for (const client of clients) expect(hooks(client.clientId, 'onDelete')).toEqual([]);
    },
  );

  it.skipIf(onRedisCluster)(
    'should refuse handshakes UNAVAILABLE while Redis is unreachable, reap nobody, and give overdue deadlines a fresh grace',
    async () => {
      const [waiting, newcomer, steady] = (await n1.register(3)) as [Credentials, Credentials, Credentials];
      const socket = await online(n1, waiting);
      const steadySocket = await online(n2, steady);
      let steadyClosedAt = Number.POSITIVE_INFINITY;
      steadySocket.once('disconnect', () => {
        steadyClosedAt = performance.timeOrigin + performance.now();
      });
      socket.disconnect();
      await waitFor('disconnected', () => hooks(waiting.clientId, 'onDisconnect').length === 1);
      const count = (type: string) => cluster.log().filter((e) => e.type === type).length;
      const deadBefore = count('nodes-dead');
      const fencedBefore = count('fenced');
      const leaseLostBefore = count('lease-lost');
      const pausedAt = performance.timeOrigin + performance.now();
      cluster.redis.pause();
      try {
        await expect(online(n3, newcomer)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
        // past the client's grace period and past nodeTtl
        await new Promise((resolve) => setTimeout(resolve, FAST.nodeTtl + 500));
      } finally {
        cluster.redis.resume();
      }
      // no node can tell an outage from its own partition: each stopped serving by itself within
      // nodeTtl (its lease), closing its sockets, and rejoins once (nobody declared anyone dead)
      expect(count('lease-lost') - leaseLostBefore).toBe(3);
      expect(steadyClosedAt - pausedAt).toBeLessThanOrEqual(FAST.nodeTtl + 250);
      await waitFor(
        'every node joined again',
        () => cluster.log().filter((e) => e.type === 'joined' && e.why === 'lease-lost' && e.t > pausedAt).length === 3,
      );
      // its deadline passed during the outage: it gets a fresh grace period and resumes
      await onlineEventually(n3, waiting);
      await onlineEventually(n3, newcomer);
      await onlineEventually(n2, steady);
      await waitFor('resumed', () => hooks(waiting.clientId, 'onConnect').length === 2);
      expect(hooks(waiting.clientId, 'onConnect').at(-1)).toMatchObject({ node: 'node-3', detail: 'true' });
      expect(hooks(waiting.clientId, 'onDelete')).toEqual([]);
      expect(hooks(steady.clientId, 'onDelete')).toEqual([]);
      expect(count('nodes-dead')).toBe(deadBefore);
      expect(count('fenced')).toBe(fencedBefore);
      expect(count('lease-lost') - leaseLostBefore).toBe(3);
      expect(await record(steady)).toMatchObject({ state: 'connected', node: 'node-2' });
    },
  );

  it('should restart all three nodes one by one with no onDelete: every client resumes on another node', async () => {
    const clients = [...(await n1.register(6))];
    const where = new Map<string, NodeProcess>();
    const sockets = new Map<string, ClientSocket>();
    for (const [i, client] of clients.entries()) {
      const node = cluster.nodes[i % 3]!;
      sockets.set(client.clientId, await online(node, client));
      where.set(client.clientId, node);
    }
    for (const [i, leaving] of cluster.nodes.entries()) {
      const next = cluster.nodes[(i + 1) % 3]!;
      const moving = clients.filter((client) => where.get(client.clientId) === leaving);
      const dropped = moving.map(
        (client) => new Promise<string>((resolve) => sockets.get(client.clientId)!.once('disconnect', resolve)),
      );
      await leaving.close();
      expect(await Promise.all(dropped)).toEqual(moving.map(() => 'transport close'));
      for (const client of moving) {
        sockets.set(client.clientId, await onlineEventually(next, client));
        where.set(client.clientId, next);
      }
      await leaving.start();
    }
    for (const client of clients) {
      expect(await record(client)).toMatchObject({ state: 'connected', node: where.get(client.clientId)!.nodeId });
      expect(hooks(client.clientId, 'onDelete')).toEqual([]);
      expect(hooks(client.clientId, 'onDisconnect')).toEqual([]);
      expect(
        summary(client.clientId)
          .slice(1)
          .every((line) => line.endsWith('onConnect true')),
      ).toBe(true);
    }
  });
});

async function waitForRecord(client: Credentials) {
  for (;;) {
    try {
      return await record(client);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
