import { describe, expect, it } from 'vitest';
import { partitionOf, partitionTag, rendezvous } from '../../src/cluster/redis/keys.js';
import { hashToken } from '../../src/core/ids.js';
import { mayHaveLostWrites, type RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import type { Deletion } from '../../src/cluster/redis/records.js';
import { claimed, connectedClient, registered } from './fixtures.js';
import { keySlot } from './redisCluster.js';
import { sleep, useRedis } from './helpers.js';

/**
 * Key layout 3 (option `partitions` above 1): every client's keys under its partition's tag
 * `{prefix:p<i>}`, node membership under `{prefix}`, the partitions told of membership changes by
 * the `member` script. Runs on one redis-server and (the `redis-cluster` project) on a 3-master
 * Redis Cluster, where the partitions' slots are spread over the masters; every script runs its
 * test build, which fails on a key it did not declare or discover.
 */
const P = 8;
/** Nodes never look stale by themselves, and no test sees an outage unless it makes one. */
const quiet = { nodeTtl: 60_000, heartbeatInterval: 1_000, outageGap: 600_000, partitions: P };

describe('partitions (key layout 3)', () => {
  const { context, node, store, adminFor } = useRedis();
  const tag = (i: number) => partitionTag(context.prefix, i, P);
  const partOf = (clientId: string) => partitionOf(clientId, P);

  /** Every deletion of a sweep, batch after batch. */
  async function sweepAll(sweeper: RedisClusterStore): Promise<Deletion[]> {
    const all: Deletion[] = [];
    for (let i = 0; i < 100; i++) {
      const result = await sweeper.sweep();
      if (result.outcome === 'node-fenced') throw new Error('fenced');
      if (result.outcome === 'swept') all.push(...result.deletions);
      if (!result.more) return all;
    }
    throw new Error('the sweep did not end');
  }

  async function reapAll(reaper: RedisClusterStore) {
    const all = { declaredDead: [] as string[], released: 0, redelivered: [] as Deletion[] };
    for (let i = 0; i < 100; i++) {
      const result = await reaper.reap();
      if (result.outcome !== 'reaped') throw new Error(result.outcome);
      all.declaredDead.push(...result.declaredDead);
      all.released += result.released;
      all.redelivered.push(...result.redelivered);
      if (!result.more) return all;
    }
    throw new Error('the reap did not end');
  }

  it('should spread the partitions of client ids evenly, and pick one sweeper per partition among the live nodes', () => {
    const counts = new Array<number>(P).fill(0);
    for (let i = 0; i < 8000; i++) counts[partitionOf(`client-${i}-${i * 7919}`, P)]! += 1;
    for (const count of counts) expect(count).toBeGreaterThan(800);
    expect(partitionOf('anything', 1)).toBe(0);
    const nodes = ['a', 'b', 'c'];
    const owners = Array.from({ length: 256 }, (_, p) => rendezvous(nodes, p));
    for (const n of nodes) expect(owners.filter((o) => o === n).length).toBeGreaterThan(50);
    // a node leaving moves only its own partitions
    const without = Array.from({ length: 256 }, (_, p) => rendezvous(['a', 'c'], p));
    owners.forEach((owner, p) => {
      if (owner !== 'b') expect(without[p]).toBe(owner);
    });
  });

  it('should take a restart or a promoted replica for writes maybe lost, and a slot moved to another master or the same process not', () => {
    const id = (c: string) => c.repeat(40);
    const master = `${id('a')} ${id('1')} ${id('r')} ${id('0')}`;
    // the first read: nothing to compare with
    expect(mayHaveLostWrites(undefined, master)).toBe(false);
    expect(mayHaveLostWrites(master, master)).toBe(false);
    // the same cluster node in a new process (a restart: from an older file, or from none)
    expect(mayHaveLostWrites(master, `${id('a')} ${id('2')} ${id('s')} ${id('0')}`)).toBe(true);
    // one Redis (no cluster node id) in a new process that kept its replication history
    expect(mayHaveLostWrites(` ${id('1')} ${id('r')} ${id('0')}`, ` ${id('2')} ${id('r')} ${id('0')}`)).toBe(true);
    // its replica promoted in its place: master_replid2 is the old master's
    expect(mayHaveLostWrites(master, `${id('b')} ${id('3')} ${id('t')} ${id('r')}`)).toBe(true);
    // another master that took the slot by a move: MIGRATE copied the keys
    expect(mayHaveLostWrites(master, `${id('c')} ${id('4')} ${id('u')} ${id('0')}`)).toBe(false);
  });

  it("should put partition i's tag in the i-th of P equal slot ranges: as many partitions on each master of an evenly split cluster", () => {
    for (const count of [8, 256, 1024]) {
      const perThird = [0, 0, 0];
      for (let i = 0; i < count; i++) {
        const slot = keySlot(partitionTag('sup', i, count));
        expect(slot).toBeGreaterThanOrEqual(Math.floor((i * 16384) / count));
        expect(slot).toBeLessThan(Math.floor(((i + 1) * 16384) / count));
        perThird[Math.min(2, Math.floor(slot / 5461.34))]! += 1;
      }
      expect(Math.max(...perThird) - Math.min(...perThird)).toBeLessThanOrEqual(1);
    }
    expect(partitionTag('sup', 3, 256)).toMatch(/^\{sup:p3(\.\d+)?\}$/);
  });

  it("should keep a client's keys under its partition's tag and the membership under the prefix's, with schema layout 3", async () => {
    const a = await node('a', quiet);
    const { clientId } = await connectedClient(a);
    const part = partOf(clientId);
    const admin = await adminFor(tag(part).slice(1, -1));
    expect(await admin.hGet(`${tag(part)}:c:${clientId}`, 'state')).toBe('connected');
    expect(Number(await admin.sIsMember(`${tag(part)}:state:connected`, clientId))).toBe(1);
    expect(Number(await admin.sIsMember(`${tag(part)}:owned:a:1`, clientId))).toBe(1);
    // the partition's copy of the node, told at the join
    expect(await admin.hGetAll(`${tag(part)}:node:a`)).toMatchObject({ inc: '1', state: 'alive' });
    const membership = await adminFor(context.prefix);
    expect(await membership.hGetAll(`{${context.prefix}}:schema`)).toEqual({ layout: '3', partitions: String(P) });
    expect(await membership.exists(`{${context.prefix}}:c:${clientId}`)).toBe(0);
    expect(await membership.sCard(`{${context.prefix}}:state:connected`)).toBe(0);
  });

  it('should refuse a join with another partition count, and a store of one partition on a partitioned Redis: KEY_LAYOUT_MISMATCH', async () => {
    await node('a', quiet);
    const other = await store({ nodeId: 'b', ...quiet, partitions: 4 });
    await expect(other.join()).rejects.toMatchObject({ code: 'KEY_LAYOUT_MISMATCH' });
    const single = await store({ nodeId: 'c', ...quiet, partitions: 1 });
    await expect(single.join()).rejects.toMatchObject({
      code: 'KEY_LAYOUT_MISMATCH',
      message: expect.stringContaining(`layout 3 with ${P} partition(s)`),
    });
  });

  it('should run the lifecycle across partitions on two nodes: swaps notify the owner, counts, nodes and list agree', async () => {
    const a = await node('a', quiet);
    const b = await node('b', quiet);
    const notices: string[] = [];
    const stop = await a.subscribe((notice) => notices.push(`${notice.type} ${notice.clientId}`));
    const clients: Array<Awaited<ReturnType<typeof connectedClient>>> = [];
    for (let i = 0; i < 40; i++) clients.push(await connectedClient(a, `sa-${i}`));
    // spread over more than one partition
    expect(new Set(clients.map(({ clientId }) => partOf(clientId))).size).toBeGreaterThan(3);
    const moved = clients.slice(0, 20);
    for (const [i, { clientId, token }] of moved.entries()) {
      const claim = claimed(await b.claim({ clientId, token, socketId: `sb-${i}` }));
      expect(claim).toMatchObject({ outcome: 'swapped', ownerChanged: true });
    }
    for (let i = 20; i < 30; i++) {
      const { clientId } = clients[i]!;
      expect(await a.disconnect({ clientId, socketId: `sa-${i}`, fence: clients[i]!.fence })).toMatchObject({
        outcome: 'disconnected',
      });
    }
    for (let i = 30; i < 35; i++) {
      expect(await b.delete({ clientId: clients[i]!.clientId, reason: 'test' })).toMatchObject({ outcome: 'deleted' });
    }
    const gone = clients.slice(30, 35);
    const notified = () =>
      moved.every(({ clientId }) => notices.includes(`replaced ${clientId}`)) &&
      gone.every(({ clientId }) => notices.includes(`deleted ${clientId}`));
    for (let i = 0; i < 100 && !notified(); i++) await sleep(20);
    expect(notified()).toBe(true);
    await stop();
    expect(await a.counts()).toEqual({ handshaking: 0, connected: 25, disconnected: 10, total: 35, nodes: 2 });
    const nodes = await b.nodes();
    expect(Object.fromEntries(nodes.map((n) => [n.node, n.clients]))).toEqual({ a: 15, b: 20 });
    // a page at a time: every live client exactly once
    const listed: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const page = await a.list({ limit: 7, ...(cursor === null ? {} : { cursor }) });
      listed.push(...page.clients.map((client) => client.clientId));
      cursor = page.cursor;
      if (cursor === null) break;
    }
    expect(listed.sort()).toEqual(
      clients
        .slice(0, 30)
        .concat(clients.slice(35))
        .map((c) => c.clientId)
        .sort(),
    );
    const connectedOnB = await a.list({ node: 'b', limit: 100 });
    expect(connectedOnB.clients.length + (connectedOnB.cursor === null ? 0 : 1)).toBeGreaterThan(0);
    expect((await a.get(moved[0]!.clientId))?.node).toBe('b');
    expect(await a.isDeleted(clients[30]!.clientId)).toBe(true);
    // the deletions are b's to complete, in their partitions
    for (let i = 30; i < 35; i++) {
      const pending = await b.pendingDeletions();
      const deletion = pending.find((d) => d.clientId === clients[i]!.clientId)!;
      expect(await b.completeDeletion(deletion.deletionId, deletion.clientId)).toBe('completed');
    }
    expect(await b.pendingDeletions()).toEqual([]);
    await expect(b.completeDeletion('x'.repeat(22))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it("should clear the due marks of a tick's connects in one call per Redis (per master on a cluster), whatever their partitions", async () => {
    const a = await node('a', quiet);
    const clients: Array<Awaited<ReturnType<typeof connectedClient>>> = [];
    // random ids: until every partition has a client (8 partitions: about 22 on average)
    const partitions = () => new Set(clients.map(({ clientId }) => partOf(clientId))).size;
    for (let i = 0; i < 200 && (i < 30 || partitions() < P); i++) clients.push(await connectedClient(a, `sa-${i}`));
    expect(partitions()).toBe(P);
    const due = async () => {
      let marks = 0;
      for (const { clientId } of clients) {
        const admin = await adminFor(tag(partOf(clientId)).slice(1, -1));
        if ((await admin.hGet(`${tag(partOf(clientId))}:c:${clientId}`, 'hookDue')) !== null) marks += 1;
      }
      return marks;
    };
    expect(await due()).toBe(clients.length);
    // a mark of another socket's connect stays
    a.connectHookRan(clients[0]!.clientId, 'not-its-socket');
    await sleep(50);
    expect(await due()).toBe(clients.length);
    const before = a.roundTrips;
    for (const [i, { clientId }] of clients.entries()) a.connectHookRan(clientId, `sa-${i}`);
    for (let i = 0; i < 100 && (await due()) > 0; i++) await sleep(10);
    expect(await due()).toBe(0);
    expect(a.roundTrips - before).toBeLessThanOrEqual(3);
  });

  it("should answer an ownership version that moves when a partition's ownership does, read in one call per master, and only when asked", async () => {
    const a = await node('a', quiet);
    const b = await node('b', quiet);
    const clients: Array<Awaited<ReturnType<typeof connectedClient>>> = [];
    for (let i = 0; i < 12; i++) clients.push(await connectedClient(a, `sa-${i}`));
    const version = async () => {
      const beat = await a.heartbeat();
      if (beat.outcome !== 'ok') throw new Error(beat.outcome);
      return beat.ownershipVersion;
    };
    const first = await version();
    // nothing moved: the same
    expect(await version()).toBe(first);
    const before = a.roundTrips;
    await version();
    // the heartbeat and at most one read per master
    expect(a.roundTrips - before).toBeLessThanOrEqual(4);
    expect(a.roundTrips - before).toBeGreaterThan(1);
    // a heartbeat whose caller will not look at the version (the supervisor's, but every
    // reconcileEvery-th): the heartbeat alone, and no version
    const lean = a.roundTrips;
    const beat = await a.heartbeat({ ownershipVersion: false });
    expect(beat).toMatchObject({ outcome: 'ok', ownershipVersion: Number.NaN });
    expect(a.roundTrips - lean).toBe(1);
    // a swap to b takes a client from its owner: its partition's version moves
    const { clientId, token } = clients[5]!;
    claimed(await b.claim({ clientId, token, socketId: 'sb' }));
    expect(await version()).toBeGreaterThan(first);
  });

  it('should sweep each partition by the node rendezvous hashing picks, every due client deleted exactly once', async () => {
    const options = { ...quiet, handshakeTimeout: 0 };
    const a = await node('a', options);
    const b = await node('b', options);
    // each learns the live nodes from its heartbeat
    await a.heartbeat();
    await b.heartbeat();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(registered(await (i % 2 === 0 ? a : b).register()).clientId);
    await sleep(5);
    const [byA, byB] = await Promise.all([sweepAll(a), sweepAll(b)]);
    const swept = [...byA, ...byB].map((deletion) => deletion.clientId);
    expect(swept.sort()).toEqual([...ids].sort());
    for (const deletion of byA) expect(rendezvous(['a', 'b'], partOf(deletion.clientId))).toBe('a');
    for (const deletion of byB) expect(rendezvous(['a', 'b'], partOf(deletion.clientId))).toBe('b');
    expect(byA.length).toBeGreaterThan(0);
    expect(byB.length).toBeGreaterThan(0);
    expect(await a.counts()).toMatchObject({ total: 0 });
  });

  it('should sweep only the partitions with a deadline due: a quiet cluster runs no sweep script, one read per master', async () => {
    const a = await node('a', { ...quiet, handshakeTimeout: 60_000 });
    await a.heartbeat();
    for (let i = 0; i < 16; i++) registered(await a.register());
    let before = a.roundTrips;
    expect(await a.sweep()).toEqual({ outcome: 'swept', deletions: [], more: false });
    // the due read only: at most one call per master
    expect(a.roundTrips - before).toBeLessThanOrEqual(3);
    const b = await node('b', { ...quiet, handshakeTimeout: 0 });
    const { clientId } = registered(await b.register());
    await sleep(5);
    before = a.roundTrips;
    const swept = await sweepAll(a);
    expect(swept.map((deletion) => deletion.clientId)).toEqual([clientId]);
    // the read, then that one partition's sweep
    expect(a.roundTrips - before).toBeLessThanOrEqual(4);
  });

  it("should end a dead node's incarnation in every partition: its clients released, its late writes fenced, its deletions redelivered", async () => {
    const a = await node('a', quiet);
    const b = await node('b', quiet);
    const clients = [];
    for (let i = 0; i < 24; i++) clients.push(await connectedClient(a, `sa-${i}`));
    const doomed = clients[0]!;
    const deleted = await a.delete({ clientId: doomed.clientId, reason: 'by a' });
    expect(deleted.outcome).toBe('deleted');
    // a's heartbeat is now older than any nodeTtl, as after kill -9
    const membership = await adminFor(context.prefix);
    await membership.zAdd(`{${context.prefix}}:nodes`, { score: 0, value: 'a' }, { condition: 'XX' });
    const reaped = await reapAll(b);
    expect(reaped.declaredDead).toContain('a');
    expect(reaped.released).toBe(23);
    expect(reaped.redelivered.map((d) => d.clientId)).toEqual([doomed.clientId]);
    // every partition was told: nothing left to tell
    expect(await membership.sCard(`{${context.prefix}}:reaping`)).toBe(0);
    for (let p = 0; p < P; p++) {
      const admin = await adminFor(tag(p).slice(1, -1));
      expect(await admin.hGet(`${tag(p)}:node:a`, 'state')).not.toBe('alive');
      expect(await admin.exists(`${tag(p)}:owned:a:1`)).toBe(0);
    }
    for (const { clientId } of clients.slice(1)) {
      expect(await b.get(clientId)).toMatchObject({ state: 'disconnected', node: null });
    }
    // the dead incarnation's writes, in any partition
    const { clientId, token } = clients[1]!;
    expect(await a.claim({ clientId, token, socketId: 'late' })).toEqual({ outcome: 'node-fenced' });
    expect(await a.register()).toEqual({ outcome: 'node-fenced' });
    expect(await a.heartbeat()).toEqual({ outcome: 'node-fenced' });
    // its sweep and reap too, though no deadline is due anywhere (no partition has a sweep to run)
    expect(await a.sweep()).toEqual({ outcome: 'node-fenced' });
    expect(await a.reap()).toEqual({ outcome: 'node-fenced' });
    // a rejoins as incarnation 2 and works again
    await a.join();
    expect(claimed(await a.claim({ clientId, token, socketId: 'again' })).client).toMatchObject({
      node: 'a',
      incarnation: 2,
    });
  });

  it('should leave partition by partition: every client released with its grace period, none deleted, the node left', async () => {
    const a = await node('a', quiet);
    const b = await node('b', quiet);
    const clients = [];
    for (let i = 0; i < 20; i++) clients.push(await connectedClient(a, `sa-${i}`));
    expect(await a.leave()).toEqual({ outcome: 'left', released: 20 });
    for (const { clientId } of clients) expect(await b.get(clientId)).toMatchObject({ state: 'disconnected' });
    expect((await b.nodes()).map((n) => n.node)).toEqual(['b']);
    expect(await b.counts()).toMatchObject({ disconnected: 20, nodes: 1 });
    // a leave whose reply was lost, sent again
    expect(await a.leave()).toEqual({ outcome: 'left', released: 0 });
  });

  it('should give due deadlines a fresh grace period in every partition after an outage the membership found', async () => {
    const options = { ...quiet, handshakeTimeout: 200, outageGap: 1_000 };
    const a = await node('a', options);
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push(registered(await a.register()).clientId);
    await sleep(250);
    // nobody ticked for longer than outageGap, as across a Redis outage
    const membership = await adminFor(context.prefix);
    await membership.hSet(`{${context.prefix}}:meta`, 'lastTick', '0');
    expect(await a.heartbeat()).toMatchObject({ outcome: 'ok', outage: true });
    expect(await sweepAll(a)).toEqual([]);
    for (const clientId of ids) expect((await a.get(clientId))?.expiresAt).toBeGreaterThan(Date.now() + 100);
    // once, not at every sweep: their new deadlines pass and they go
    await sleep(300);
    expect((await sweepAll(a)).map((d) => d.clientId).sort()).toEqual([...ids].sort());
  });

  it('should find a partition that lost its data: UNAVAILABLE at once, a rollback at the next heartbeat, clients written back after the rejoin', async () => {
    const a = await node('a', quiet);
    const { clientId, token } = await connectedClient(a);
    const record = await a.get(clientId);
    const part = partOf(clientId);
    // every key of one partition gone, as a master restarted empty would leave it
    const admin = await adminFor(tag(part).slice(1, -1));
    const keys = await admin.keys(`${tag(part)}:*`);
    expect(keys.length).toBeGreaterThan(3);
    await admin.del(keys);
    await expect(a.claim({ clientId, token, socketId: 'other' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(a.behind).toBe(true);
    expect(await a.heartbeat()).toEqual({ outcome: 'reset', rolledBack: true });
    await a.join();
    expect(a.behind).toBe(false);
    const restored = await a.restore([{ ...record!, tokenHash: hashToken(token) }]);
    expect(restored).toEqual(['restored']);
    expect(await a.writeBack([], true)).toBe(0);
    expect(await a.get(clientId)).toMatchObject({ state: 'connected', node: 'a', incarnation: 2 });
  });

  it('should find a partition whose write counter went back (a replica promoted behind its master): behind at once', async () => {
    const a = await node('a', quiet);
    const { clientId } = await connectedClient(a);
    const part = partOf(clientId);
    const admin = await adminFor(tag(part).slice(1, -1));
    const writes = Number(await admin.hGet(`${tag(part)}:meta`, 'writes'));
    expect(writes).toBeGreaterThan(1);
    await admin.hSet(`${tag(part)}:meta`, 'writes', String(writes - 2));
    expect(a.behind).toBe(false);
    await a.ack(clientId, 0);
    expect(a.behind).toBe(true);
    expect(await a.heartbeat()).toEqual({ outcome: 'reset', rolledBack: true });
  });

  it('should find a write counter gone back where this node writes no more: the heartbeat that reads the versions reports the rollback', async () => {
    const a = await node('a', quiet);
    const b = await node('b', quiet);
    const { clientId } = await connectedClient(a);
    const part = partOf(clientId);
    const admin = await adminFor(tag(part).slice(1, -1));
    // a's partition loses a's last writes (a replica promoted behind its master); a makes no
    // further call there. b wrote there only the copy of its join, before a's client
    const writes = Number(await admin.hGet(`${tag(part)}:meta`, 'writes'));
    await admin.hSet(`${tag(part)}:meta`, 'writes', String(writes - 2));
    // a heartbeat that skips the read cannot see it
    expect(await a.heartbeat({ ownershipVersion: false })).toMatchObject({ outcome: 'ok' });
    expect(a.behind).toBe(false);
    // b reads the versions too: none of its own writes there went back (its last, the join's copy
    // of the membership, is below the counter)
    expect(await b.heartbeat()).toMatchObject({ outcome: 'ok' });
    expect(b.behind).toBe(false);
    // a's next heartbeat that reads the versions reports it at once (and the membership then has
    // every node recover, as after any rollback)
    expect(await a.heartbeat()).toEqual({ outcome: 'reset', rolledBack: true });
    expect(await b.heartbeat()).toEqual({ outcome: 'reset', rolledBack: true });
  });
});
