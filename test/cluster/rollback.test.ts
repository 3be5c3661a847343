import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterSupervisorOptions } from '../../src/cluster/index.js';
import type { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import type { ClusterClientRecord, RestoreInput } from '../../src/cluster/redis/records.js';
import { hashToken } from '../../src/core/ids.js';
import { claimed, connectedClient, registered } from './fixtures.js';
import { type Admin, expectConsistent, sleep, useRedis, whenAvailable } from './helpers.js';
import { closeSockets, connect, connected, type HookCall, startNode, type TestNode, waitFor } from './nodes.js';

// Issue 19 (3), at the level of the scripts: Redis going back to an older copy of its data (a
// snapshot restored, an AOF tail lost, a lagging replica promoted) keeps its epoch, so only the
// write counter shows it. The multi-process version is faults.test.ts ("rollback").

const writes = async (admin: Admin, prefix: string) => Number(await admin.hGet(`{${prefix}}:meta`, 'writes'));

/** What a node holding a connected client writes back for it. */
async function held(store: RedisClusterStore, clientId: string, token: string): Promise<RestoreInput> {
  const record = await store.get(clientId);
  if (!record) throw new Error(`no record for ${clientId}`);
  return heldAs(record, token);
}

/** What a node writes back for a client it holds as `record`. */
function heldAs(record: ClusterClientRecord, token: string): RestoreInput {
  const { node: _node, incarnation: _incarnation, ...rest } = record;
  return { ...rest, tokenHash: hashToken(token) };
}

describe('the write counter', () => {
  const { context, node } = useRedis();
  const quiet = { outageGap: 600_000 };

  it('should rise with every script that writes, not with a read, and be stored by each heartbeat', async () => {
    const a = await node('a', quiet);
    const start = await writes(context.admin, context.prefix);
    expect(start).toBeGreaterThan(0);
    await a.counts();
    await a.list();
    await a.nodes();
    await a.owned([]);
    await a.pendingDeletions();
    expect(await writes(context.admin, context.prefix)).toBe(start);
    const { clientId, token } = registered(await a.register());
    await a.claim({ clientId, token, socketId: 'sock-1' });
    await a.sweep();
    expect(await writes(context.admin, context.prefix)).toBe(start + 3);
    expect(await a.heartbeat()).toMatchObject({ outcome: 'ok' });
    const stored = await context.admin.hGet(`{${context.prefix}}:node:a`, 'wseen');
    expect(Number(stored)).toBe(start + 4);
    // a write whose reply was lost only raises it more: never taken for a rollback
    await context.admin.hSet(`{${context.prefix}}:node:a`, 'wseen', String(start + 100));
    expect(await a.heartbeat()).toMatchObject({ outcome: 'ok' });
  });
});

describe('Redis rolled back to an older snapshot', () => {
  const { context, node } = useRedis();
  const quiet = { outageGap: 600_000, nodeTtl: 400, heartbeatInterval: 100 };
  const meta = () => context.admin.hGetAll(`{${context.prefix}}:meta`);
  /** Redis goes back to a snapshot taken between two heartbeats of each store: one acknowledged heartbeat undone. */
  const rollBackOneHeartbeat = async (...stores: RedisClusterStore[]) => {
    for (const store of stores) await store.heartbeat();
    const snapshot = await context.server.snapshot();
    for (const store of stores) await store.heartbeat();
    await context.server.restartFrom(snapshot);
  };

  it('should answer reset (rolledBack) to the heartbeat of a node that saw later writes, then reset to every other node', async () => {
    const a = await node('a', quiet);
    const b = await node('b', quiet);
    await a.heartbeat();
    await b.heartbeat();
    const before = await meta();
    const snapshot = await context.server.snapshot();
    await a.heartbeat();
    await b.heartbeat();
    await context.server.restartFrom(snapshot);
    expect(await whenAvailable(() => a.heartbeat())).toEqual({ outcome: 'reset', rolledBack: true });
    const after = await meta();
    expect(after.epoch).not.toBe(before.epoch);
    expect(after.recovery).toBe(after.epoch);
    // the epoch moved on: every other node rejoins as after a reset, whatever its counter says
    expect(await whenAvailable(() => b.heartbeat())).toEqual({ outcome: 'reset', rolledBack: true });
    // and a node rejoined after it is not told again
    await a.join();
    expect(await a.heartbeat()).toMatchObject({ outcome: 'ok' });
    expect(await a.heartbeat()).toMatchObject({ outcome: 'ok' });
  });

  it('should find a rollback that undid only writes made since the last heartbeat, by the counters their replies carried', async () => {
    const a = await node('a', quiet);
    const b = await node('b', quiet);
    await a.heartbeat();
    await b.heartbeat();
    const snapshot = await context.server.snapshot();
    // after the snapshot no heartbeat, only a client registered, connected and disconnected on a
    const { clientId, fence } = await connectedClient(a);
    await a.disconnect({ clientId, socketId: 'sock-1', fence });
    await context.server.restartFrom(snapshot);
    // b saw none of the lost writes: Redis is as it knows it
    expect(await whenAvailable(() => b.heartbeat())).toMatchObject({ outcome: 'ok' });
    expect(await whenAvailable(() => a.heartbeat())).toEqual({ outcome: 'reset', rolledBack: true });
    expect(await b.heartbeat()).toEqual({ outcome: 'reset', rolledBack: true });
    expect(await a.get(clientId)).toBeUndefined();
  });

  it('should be found by the sweep and the reap too, before they delete, release or redeliver anything', async () => {
    const a = await node('a', { ...quiet, reconnectTimeout: 0 });
    const { clientId, fence } = await connectedClient(a);
    await a.heartbeat();
    const snapshot = await context.server.snapshot();
    await a.heartbeat();
    await a.disconnect({ clientId, socketId: 'sock-1', fence });
    await context.server.restartFrom(snapshot);
    // a sweep or reap on a stale view answers as fenced: the node's heartbeat then tells it reset
    expect(await whenAvailable(() => a.reap())).toEqual({ outcome: 'node-fenced' });
    expect(await a.sweep()).toEqual({ outcome: 'node-fenced' });
    expect(await a.heartbeat()).toEqual({ outcome: 'reset', rolledBack: true });
    expect((await a.get(clientId))?.state).toBe('connected');
  });

  it('should not take a restart that lost nothing for a rollback', async () => {
    const a = await node('a', quiet);
    await a.heartbeat();
    const snapshot = await context.server.snapshot();
    // the snapshot holds every write so far: nothing is lost by going back to it
    await context.server.restartFrom(snapshot);
    expect(await whenAvailable(() => a.heartbeat())).toMatchObject({ outcome: 'ok' });
    expect((await meta()).recovery).toBeUndefined();
  });

  it('should keep a deleted client deleted: its deleter writes back the tombstone, the record goes without a hook, its journal entry is never redelivered', async () => {
    const a = await node('a', quiet);
    const b = await node('b', quiet);
    const kicked = await connectedClient(a);
    const pending = await connectedClient(a, 'sock-2');
    // deleted before the snapshot, onDelete completed after it: Redis goes back to its pending entry
    const first = await b.delete({ clientId: pending.clientId, reason: 'kicked' });
    if (first.outcome !== 'deleted') throw new Error(first.outcome);
    await a.heartbeat();
    await b.heartbeat();
    const snapshot = await context.server.snapshot();
    // after the snapshot: the first deletion completes, the second client is deleted
    expect(await b.completeDeletion(first.deletion.deletionId)).toBe('completed');
    const second = await b.delete({ clientId: kicked.clientId, reason: 'kicked' });
    if (second.outcome !== 'deleted') throw new Error(second.outcome);
    expect(await b.completeDeletion(second.deletion.deletionId)).toBe('completed');
    await a.heartbeat();
    await b.heartbeat();

    await context.server.restartFrom(snapshot);
    expect(await whenAvailable(() => b.heartbeat())).toEqual({ outcome: 'reset', rolledBack: true });
    expect(await whenAvailable(() => a.heartbeat())).toEqual({ outcome: 'reset', rolledBack: true });
    // Redis went back to the kicked client connected on a, and the other's entry pending on b
    expect((await a.get(kicked.clientId))?.state).toBe('connected');
    expect(await a.isDeleted(kicked.clientId)).toBe(false);
    await a.join();
    await b.join();
    // a no longer holds either: it writes back nothing; b writes back the deletions it ran
    expect(await a.writeBack([], true)).toBe(0);
    const ran = [first.deletion, second.deletion].map((d) => ({ ...d, ttl: 60_000 }));
    expect(await b.writeBack(ran, true)).toBe(1);
    expect(await b.writeBack(ran, true)).toBe(0);
    expect(await a.get(kicked.clientId)).toBeUndefined();
    expect(await a.isDeleted(kicked.clientId)).toBe(true);
    const retry = await a.claim({ clientId: kicked.clientId, token: kicked.token, socketId: 'sock-3' });
    expect(retry).toEqual({ outcome: 'rejected', code: 'CLIENT_DELETED', reason: 'kicked' });
    // once the recovery is over (nodeTtl after it began), the reap redelivers nothing
    await sleep(quiet.nodeTtl + 50);
    await Promise.all([a.heartbeat(), b.heartbeat()]);
    const reaped = await a.reap();
    expect(reaped).toMatchObject({ outcome: 'reaped', redelivered: [], dropped: 0 });
    expect((await a.reap()).outcome).toBe('reaped');
    expect((await meta()).recovery).toBeUndefined();
    expect(await context.admin.keys(`{${context.prefix}}:d:*`)).toEqual([]);
    await expectConsistent(context.admin, context.prefix);
  });

  it('should drop what no live node holds, without a hook, only once every live node wrote back and nodeTtl passed', async () => {
    const a = await node('a', { ...quiet, reconnectTimeout: 0 });
    const b = await node('b', { ...quiet, reconnectTimeout: 0 });
    const kept = await connectedClient(a);
    // disconnected and due: a sweep would delete it (onDelete) if it ran during the recovery
    const ghost = await connectedClient(a, 'sock-2');
    await a.disconnect({ clientId: ghost.clientId, socketId: 'sock-2', fence: ghost.fence });
    await rollBackOneHeartbeat(a, b);

    expect(await whenAvailable(() => a.heartbeat())).toEqual({ outcome: 'reset', rolledBack: true });
    await a.join();
    // a holds `kept` at the fence Redis has (its previous incarnation's): it is its own, written back
    const restored = await a.restore([await held(a, kept.clientId, kept.token)]);
    expect(restored).toEqual(['restored']);
    expect(await a.writeBack([], true)).toBe(0);
    // before nodeTtl has passed, a node that has not heard of the rollback may still be serving
    expect(await a.reap()).toMatchObject({ outcome: 'reaped', released: 0, redelivered: [], dropped: 0 });
    expect(await whenAvailable(() => b.heartbeat())).toEqual({ outcome: 'reset', rolledBack: true });
    await b.join();
    // b rejoined but has not written back yet (it stays alive: it heartbeats)
    for (let i = 0; i < 3; i++) {
      await sleep(quiet.nodeTtl / 2);
      expect(await b.heartbeat()).toMatchObject({ outcome: 'ok' });
      expect(await a.heartbeat()).toMatchObject({ outcome: 'ok' });
    }
    // so nothing is swept, released, redelivered or dropped
    expect(await a.sweep()).toEqual({ outcome: 'swept', deletions: [], more: false });
    expect(await a.reap()).toMatchObject({ outcome: 'reaped', released: 0, redelivered: [], dropped: 0 });
    expect(await a.get(ghost.clientId)).toBeDefined();
    expect(await b.writeBack([], true)).toBe(0);
    const reaped = await a.reap();
    expect(reaped).toMatchObject({ outcome: 'reaped', released: 0, redelivered: [], dropped: 1 });
    expect((await meta()).recovery).toBeUndefined();
    expect(await a.get(ghost.clientId)).toBeUndefined();
    expect((await a.get(kept.clientId))?.node).toBe('a');
    expect(await a.counts()).toMatchObject({ total: 1, nodes: 2 });
    // dropped, not deleted: no tombstone, no journal entry (no onDelete anywhere)
    expect(await a.isDeleted(ghost.clientId)).toBe(false);
    expect(await a.pendingDeletions()).toEqual([]);
    expect(await b.pendingDeletions()).toEqual([]);
    await expectConsistent(context.admin, context.prefix);
    // and the cluster works on: the held client reconnects on a
    const again = claimed(await a.claim({ clientId: kept.clientId, token: kept.token, socketId: 'sock-9' }));
    expect(again.outcome).toBe('swapped');
  });
  it('should answer a claim recovering until every live node wrote back, so an older copy never wins it', async () => {
    const a = await node('a', quiet);
    const b = await node('b', quiet);
    const moved = await connectedClient(a);
    const deleted = await connectedClient(a, 'sock-2');
    await a.heartbeat();
    await b.heartbeat();
    const snapshot = await context.server.snapshot();
    // lost with the rollback: the first client moved to b, the second was deleted by b (its onDelete ran)
    const onB = claimed(await b.claim({ clientId: moved.clientId, token: moved.token, socketId: 'sock-3' }));
    const deletion = await b.delete({ clientId: deleted.clientId, reason: 'kicked' });
    if (deletion.outcome !== 'deleted') throw new Error(deletion.outcome);
    expect(await b.completeDeletion(deletion.deletion.deletionId)).toBe('completed');
    await a.heartbeat();
    await b.heartbeat();
    await context.server.restartFrom(snapshot);

    expect(await whenAvailable(() => a.heartbeat())).toEqual({ outcome: 'reset', rolledBack: true });
    await a.join();
    expect(await a.writeBack([], true)).toBe(0);
    // Redis went back to both connected on a's ended incarnation; b, which holds the newer truth,
    // has not written it back: a claim on either must wait (the client's helper retries UNAVAILABLE)
    const claimMoved = () => a.claim({ clientId: moved.clientId, token: moved.token, socketId: 'sock-4' });
    const claimDeleted = () => a.claim({ clientId: deleted.clientId, token: deleted.token, socketId: 'sock-5' });
    expect(await claimMoved()).toEqual({ outcome: 'recovering' });
    expect(await claimDeleted()).toEqual({ outcome: 'recovering' });
    expect(await whenAvailable(() => b.heartbeat())).toEqual({ outcome: 'reset', rolledBack: true });
    await b.join();
    // b rejoined and restored, but has not written back its deletions yet
    expect(await b.restore([heldAs(onB.client, moved.token)])).toEqual(['restored']);
    expect(await claimDeleted()).toEqual({ outcome: 'recovering' });
    expect(await b.writeBack([{ ...deletion.deletion, ttl: 60_000 }], true)).toBe(1);
    // settled: the claims meet what b wrote back
    const taken = claimed(await claimMoved());
    expect(taken).toMatchObject({ outcome: 'swapped', previous: { node: 'b', fence: onB.client.fence } });
    expect(taken.client.fence).toBeGreaterThan(onB.client.fence);
    expect(await claimDeleted()).toEqual({ outcome: 'rejected', code: 'CLIENT_DELETED', reason: 'kicked' });
    await expectConsistent(context.admin, context.prefix);
  });

  it('should keep a client a leave released during the recovery, and delete it with onDelete once its grace ends', async () => {
    const a = await node('a', { ...quiet, reconnectTimeout: 300 });
    const b = await node('b', { ...quiet, reconnectTimeout: 300 });
    const leaving = await connectedClient(a);
    await rollBackOneHeartbeat(a, b);
    expect(await whenAvailable(() => a.heartbeat())).toEqual({ outcome: 'reset', rolledBack: true });
    expect(await whenAvailable(() => b.heartbeat())).toEqual({ outcome: 'reset', rolledBack: true });
    await a.join();
    await b.join();
    expect(await a.restore([await held(a, leaving.clientId, leaving.token)])).toEqual(['restored']);
    expect(await a.writeBack([], true)).toBe(0);
    expect(await b.writeBack([], true)).toBe(0);
    // a rolling deploy during the recovery: `a` leaves, its client waits in its grace period, unowned
    expect(await a.leave()).toEqual({ outcome: 'left', released: 1 });
    expect(await a.get(leaving.clientId)).toMatchObject({ state: 'disconnected', node: null });
    await sleep(quiet.nodeTtl + 50);
    // the recovery ends without dropping it: it was written after the rollback was found
    expect(await b.reap()).toMatchObject({ outcome: 'reaped', dropped: 0 });
    expect((await meta()).recovery).toBeUndefined();
    expect(await b.get(leaving.clientId)).toMatchObject({ state: 'disconnected' });
    // and once its grace period is over, a sweep deletes it (onDelete, on b)
    await sleep(300);
    const swept = await b.sweep();
    expect(swept).toMatchObject({ outcome: 'swept' });
    expect('deletions' in swept && swept.deletions.map((d) => d.clientId)).toEqual([leaving.clientId]);
    await expectConsistent(context.admin, context.prefix);
  });
});

describe('nodes recovering from a rollback', () => {
  const { context, node } = useRedis();
  const nodes: TestNode[] = [];
  const calls: HookCall[] = [];
  afterEach(async () => {
    closeSockets();
    await Promise.all(nodes.splice(0).map((node) => node.close()));
  });
  const start = async (nodeId: string, options: Partial<ClusterSupervisorOptions> = {}) => {
    const started = await startNode(nodeId, calls, {
      redis: context.server.url,
      keyPrefix: context.prefix,
      ...options,
    });
    nodes.push(started);
    return started;
  };

  it('should end the recovery when a node starts in the middle of it, and keep the client a node holds', async () => {
    const [n1, n2] = [await start('n1'), await start('n2')];
    const { clientId, token } = await n1.supervisor.register();
    const socket = connect(n1.url, { clientId, token });
    await connected(socket);
    const beats = async (count: number) => {
      const at = (await context.admin.hGet(`{${context.prefix}}:meta`, 'writes')) ?? '0';
      await waitFor('heartbeats', async () => {
        const now = Number(await context.admin.hGet(`{${context.prefix}}:meta`, 'writes'));
        return now >= Number(at) + count;
      });
    };
    await beats(4);
    const snapshot = await context.server.snapshot();
    await beats(8);
    await context.server.restartFrom(snapshot);
    await waitFor('a recovery', async () => (await meta(context.admin, context.prefix)).recovery !== undefined);
    // a node that joins now holds nothing: it must not hold the recovery up
    const n3 = await start('n3');
    await waitFor('the recovery ended', async () => (await meta(context.admin, context.prefix)).recovery === undefined);
    for (const n of [n1, n2]) {
      expect(n.cluster.filter((e) => e.type === 'written-back')).toMatchObject([{ why: 'rollback' }]);
    }
    expect(n3.cluster.filter((e) => e.type === 'written-back')).toHaveLength(0);
    // the held client is still there, on n1, and its socket still works
    expect(await n3.supervisor.get(clientId)).toMatchObject({ state: 'connected', node: 'n1' });
    expect(socket.connected).toBe(true);
    expect(calls.filter((call) => call.clientId === clientId).map((call) => call.hook)).toEqual(['onConnect']);
  });

  it('should take a record Redis went back to at a lower fence for one it lost: heartbeat at once, write its own copy back', async () => {
    // slow timers: after the rollback, the socket's disconnect is the first thing n1 sends to Redis
    const slow = { heartbeatInterval: 4000, nodeTtl: 12_000, pruneInterval: 60_000, reconnectTimeout: 60_000 };
    const [n1, n2] = [await start('n1', slow), await start('n2', slow)];
    const { clientId, token } = await n2.supervisor.register();
    await connected(connect(n2.url, { clientId, token }));
    const before = await n1.supervisor.get(clientId);
    const snapshot = await context.server.snapshot();
    // after the snapshot, the client moves to n1: a higher fence, which the rollback undoes
    const socket = connect(n1.url, { clientId, token });
    await connected(socket);
    await waitFor('n2 to let it go', () => n2.cluster.some((e) => e.type === 'client-lost' && e.clientId === clientId));
    const moved = await n1.supervisor.get(clientId);
    expect(moved).toMatchObject({ state: 'connected', node: 'n1' });
    // right after n1's heartbeat (and its reap, on the same timer), Redis goes back to the snapshot
    const heartbeatAt = () => context.admin.hGet(`{${context.prefix}}:node:n1`, 'heartbeatAt');
    const last = await heartbeatAt();
    await waitFor("n1's heartbeat", async () => (await heartbeatAt()) !== last);
    await sleep(50);
    await context.server.restartFrom(snapshot);
    expect(await whenAvailable(() => n2.supervisor.get(clientId))).toMatchObject({ node: 'n2', fence: before?.fence });
    // n1's disconnect finds the record at n2's older fence: Redis went back, n1's copy is the newer one
    socket.disconnect();
    await waitFor('n1 written back', () => n1.cluster.some((e) => e.type === 'written-back'));
    expect(n1.cluster.filter((e) => e.type === 'client-lost')).toEqual([]);
    expect(n1.cluster.find((e) => e.type === 'restored')).toMatchObject({ restored: 1, kept: 0, deleted: 0 });
    expect(await n1.supervisor.get(clientId)).toMatchObject({ state: 'disconnected', node: 'n1', fence: moved?.fence });
    expect(calls.filter((call) => call.clientId === clientId).map((call) => `${call.node} ${call.hook}`)).toEqual([
      'n2 onConnect',
      'n1 onDisconnect',
    ]);
  });

  it('should not adopt a socket Redis went back to at the same fence: the node keeps its disconnect and writes it back', async () => {
    const slow = { heartbeatInterval: 4000, nodeTtl: 12_000, pruneInterval: 60_000, reconnectTimeout: 60_000 };
    const n1 = await start('n1', slow);
    const credentials = async () => {
      const { clientId, token } = await n1.supervisor.register();
      return { clientId, token };
    };
    const [a, b] = [await credentials(), await credentials()];
    const first = connect(n1.url, a);
    const other = connect(n1.url, b);
    await Promise.all([connected(first), connected(other)]);
    const fences = [(await n1.supervisor.get(a.clientId))?.fence, (await n1.supervisor.get(b.clientId))?.fence];
    const snapshot = await context.server.snapshot();
    // after the snapshot, on the same node (so at the same fence): a reconnects on a new socket,
    // b's new socket replaces its first one
    first.disconnect();
    await waitFor('a disconnected', async () => (await n1.supervisor.get(a.clientId))?.state === 'disconnected');
    const again = connect(n1.url, a);
    const replacing = connect(n1.url, b);
    await Promise.all([connected(again), connected(replacing)]);
    await waitFor('b swapped', async () => (await n1.supervisor.get(b.clientId))?.socketId === replacing.id);
    const heartbeatAt = () => context.admin.hGet(`{${context.prefix}}:node:n1`, 'heartbeatAt');
    const last = await heartbeatAt();
    await waitFor("n1's heartbeat", async () => (await heartbeatAt()) !== last);
    await sleep(50);
    await context.server.restartFrom(snapshot);
    // Redis went back to both connected on their first sockets, owned by n1 at the fences it knows
    expect(await whenAvailable(() => n1.supervisor.get(a.clientId))).toMatchObject({
      state: 'connected',
      fence: fences[0],
    });
    expect(await n1.supervisor.get(b.clientId)).toMatchObject({ state: 'connected', fence: fences[1] });
    again.disconnect();
    replacing.disconnect();
    await waitFor('n1 written back', () => n1.cluster.some((e) => e.type === 'written-back'));
    expect(n1.cluster.filter((e) => e.type === 'client-lost')).toEqual([]);
    // the sockets Redis went back to are long gone: the clients are disconnected, and their grace runs
    expect(await n1.supervisor.get(a.clientId)).toMatchObject({ state: 'disconnected', node: 'n1', fence: fences[0] });
    expect(await n1.supervisor.get(b.clientId)).toMatchObject({ state: 'disconnected', node: 'n1', fence: fences[1] });
    const hooks = (clientId: string) => calls.filter((c) => c.clientId === clientId).map((c) => c.hook);
    expect(hooks(a.clientId)).toEqual(['onConnect', 'onDisconnect', 'onConnect', 'onDisconnect']);
    expect(hooks(b.clientId)).toEqual(['onConnect', 'onDisconnect']);
  });

  it('should refuse a handshake UNAVAILABLE until every live node wrote back, then admit it', async () => {
    // n1 serves; x is a live node that has not heard of the rollback yet (a store that heartbeats only when told)
    const n1 = await start('n1', { nodeTtl: 10_000 });
    const x = await node('x', { nodeTtl: 10_000 });
    const { clientId, token } = await n1.supervisor.register();
    await connected(connect(n1.url, { clientId, token }));
    const writes = () => context.admin.hGet(`{${context.prefix}}:meta`, 'writes').then(Number);
    const beats = async () => {
      const at = await writes();
      await waitFor("n1's heartbeats", async () => (await writes()) >= at + 6);
    };
    await x.heartbeat();
    await beats();
    const snapshot = await context.server.snapshot();
    await beats();
    await context.server.restartFrom(snapshot);
    await waitFor('n1 written back', () => n1.cluster.some((e) => e.type === 'written-back'));
    // x has not written back: a claim would be decided on what Redis went back to
    const early = connect(n1.url, { clientId, token });
    await expect(connected(early)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(await whenAvailable(() => x.heartbeat())).toEqual({ outcome: 'reset', rolledBack: true });
    await x.join();
    expect(await x.writeBack([], true)).toBe(0);
    // every live node wrote back: the same credentials are admitted, on the client n1 wrote back
    await connected(connect(n1.url, { clientId, token }));
    expect(await n1.supervisor.get(clientId)).toMatchObject({ state: 'connected', node: 'n1' });
  });

  // found by `npm run soak:cluster -- --network-faults --seed 4242`: a page reconnected on the node
  // that had just deleted its client, between Redis going back and the next heartbeat finding it
  it('should refuse a claim of a client this node deleted, between the rollback and the heartbeat that finds it', async () => {
    const slow = { heartbeatInterval: 4000, nodeTtl: 12_000, pruneInterval: 60_000, reconnectTimeout: 60_000 };
    const n1 = await start('n1', slow);
    const { clientId, token } = await n1.supervisor.register();
    const first = connect(n1.url, { clientId, token });
    await connected(first);
    first.disconnect();
    await waitFor('disconnected', async () => (await n1.supervisor.get(clientId))?.state === 'disconnected');
    // right after n1's heartbeat: the snapshot has the client disconnected, then n1 deletes it
    const heartbeatAt = () => context.admin.hGet(`{${context.prefix}}:node:n1`, 'heartbeatAt');
    const last = await heartbeatAt();
    await waitFor("n1's heartbeat", async () => (await heartbeatAt()) !== last);
    const snapshot = await context.server.snapshot();
    await n1.supervisor.delete(clientId, 'kicked');
    await waitFor('onDelete', () => calls.some((call) => call.clientId === clientId && call.hook === 'onDelete'));
    await context.server.restartFrom(snapshot);
    // Redis holds the client again, disconnected; n1's next timed heartbeat is seconds away
    expect(await whenAvailable(() => n1.supervisor.get(clientId))).toMatchObject({ state: 'disconnected' });
    const late = connect(n1.url, { clientId, token });
    await expect(connected(late)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // the refusal asked for a heartbeat: the rollback is found, n1 writes the deletion back
    await waitFor('n1 written back', () => n1.cluster.some((e) => e.type === 'written-back'));
    await expect(connected(connect(n1.url, { clientId, token }))).rejects.toMatchObject({ code: 'CLIENT_DELETED' });
    expect(calls.filter((call) => call.clientId === clientId).map((call) => call.hook)).toEqual([
      'onConnect',
      'onDisconnect',
      'onDelete',
    ]);
  });
});

const meta = (admin: Admin, prefix: string) => admin.hGetAll(`{${prefix}}:meta`);
