import { describe, expect, it } from 'vitest';
import { claimed, connectedClient, registered } from './fixtures.js';
import { sleep, useRedis } from './helpers.js';

/**
 * Nodes never look stale by themselves (a long TTL), and no test sees an outage: a node dies when
 * a test ages its heartbeat (`silence`), so no assertion depends on how fast the machine runs.
 */
const fast = { nodeTtl: 60_000, heartbeatInterval: 1_000, outageGap: 600_000 };

describe('node liveness, death, fencing and leave', () => {
  const { context, node, store, adminOf, clientTags, consistent } = useRedis();

  /** The node's last heartbeat is now older than any nodeTtl, as after kill -9 or a long pause. */
  async function silence(nodeId: string): Promise<void> {
    await context.admin.zAdd(`{${context.prefix}}:nodes`, { score: 0, value: nodeId }, { condition: 'XX' });
  }

  /**
   * The time to live of a node's hash: in the membership (`{prefix}`), then (with partitions) of
   * each partition's copy.
   */
  async function nodeTtls(nodeId: string): Promise<number[]> {
    const tags = [`{${context.prefix}}`, ...(context.partitions === 1 ? [] : clientTags())];
    return Promise.all(tags.map(async (tag) => (await adminOf(tag)).pTTL(`${tag}:node:${nodeId}`)));
  }

  async function reapAll(reaper: Awaited<ReturnType<typeof node>>) {
    const all = {
      declaredDead: [] as string[],
      declaredIncarnations: [] as number[],
      released: 0,
      redelivered: [] as unknown[],
    };
    for (;;) {
      const result = await reaper.reap();
      if (result.outcome !== 'reaped') throw new Error(result.outcome);
      all.declaredDead.push(...result.declaredDead);
      all.declaredIncarnations.push(...result.declaredIncarnations);
      all.released += result.released;
      all.redelivered.push(...result.redelivered);
      if (!result.more) return { ...all, redelivered: all.redelivered as typeof result.redelivered };
    }
  }

  it('should list joined nodes with their incarnation and clients, and keep them alive by heartbeat', async () => {
    const a = await node('a', fast);
    const b = await node('b', fast);
    await connectedClient(b);
    expect(a.incarnation).toBe(1);
    const beat = await a.heartbeat();
    expect(beat).toMatchObject({ outcome: 'ok', outage: false });
    // in no promised order (by last heartbeat, and a heartbeat in the same millisecond as b's join ties)
    const nodes = (await a.nodes()).sort((x, y) => x.node.localeCompare(y.node));
    expect(nodes.map(({ node: id, incarnation, state, clients }) => ({ id, incarnation, state, clients }))).toEqual([
      { id: 'a', incarnation: 1, state: 'alive', clients: 0 },
      { id: 'b', incarnation: 1, state: 'alive', clients: 1 },
    ]);
    expect((await a.counts()).nodes).toBe(2);
  });

  it('should declare dead after nodeTtl of real silence, and not before, while the others heartbeat', async () => {
    const options = { nodeTtl: 300, heartbeatInterval: 50, outageGap: 600_000 };
    const a = await node('a', options);
    const b = await node('b', options);
    const quiet = await node('quiet', options);
    expect(await reapAll(a)).toMatchObject({ declaredDead: [] });
    // b heartbeats for longer than nodeTtl; quiet does not
    for (let i = 0; i < 8; i++) {
      await sleep(options.heartbeatInterval);
      await Promise.all([a.heartbeat(), b.heartbeat()]);
    }
    expect(await reapAll(a)).toMatchObject({ declaredDead: ['quiet'] });
    expect(await quiet.heartbeat()).toEqual({ outcome: 'node-fenced' });
    expect(await b.heartbeat()).toMatchObject({ outcome: 'ok' });
  });

  it('should declare a silent node dead and give its connected clients a fresh grace period; the others stay as they were, unowned', async () => {
    const dead = await node('dead', { ...fast, reconnectTimeout: 5_000 });
    const a = await node('a', { ...fast, reconnectTimeout: 5_000 });
    const connected = await connectedClient(dead);
    const handshaking = registered(await dead.register());
    const gone = await connectedClient(dead, 'sock-2');
    const disconnected = await dead.disconnect({ clientId: gone.clientId, socketId: 'sock-2', fence: gone.fence });
    if (disconnected.outcome !== 'disconnected') throw new Error(disconnected.outcome);
    await silence('dead');
    const reaped = await reapAll(a);
    expect(reaped).toMatchObject({
      declaredDead: ['dead'],
      declaredIncarnations: [dead.incarnation],
      released: 3,
      redelivered: [],
    });
    // its node hash expires once its clients are released (a day later), and so do the
    // partitions' copies of it
    for (const ttl of await nodeTtls('dead')) expect(ttl).toBeGreaterThan(3_600_000);

    const after = await a.get(connected.clientId);
    expect(after).toMatchObject({ state: 'disconnected', socketId: null, node: null, incarnation: null });
    expect(after!.expiresAt).toBe(after!.disconnectedAt! + 5_000);
    expect(after!.generation).toBe(connected.client.generation + 1);
    expect(after!.fence).toBeGreaterThan(connected.fence);
    expect(await a.get(handshaking.clientId)).toMatchObject({
      state: 'handshaking',
      node: null,
      expiresAt: handshaking.client.expiresAt,
    });
    expect(await a.get(disconnected.client.clientId)).toMatchObject({
      state: 'disconnected',
      node: null,
      expiresAt: disconnected.client.expiresAt,
      generation: disconnected.client.generation,
    });
    expect((await a.nodes()).map((n) => n.node)).toEqual(['a']);
    await consistent();
  });

  it("should let a dead node's clients reconnect anywhere, and delete once those that do not", async () => {
    const dead = await node('dead', { ...fast, reconnectTimeout: 0 });
    const a = await node('a', { ...fast, reconnectTimeout: 0 });
    const b = await node('b', { ...fast, reconnectTimeout: 0 });
    const clients = await Promise.all(Array.from({ length: 6 }, (_, i) => connectedClient(dead, `s${i}`)));
    await silence('dead');
    await reapAll(a);
    const [back, ...rest] = clients;
    const resumed = claimed(await b.claim({ clientId: back!.clientId, token: back!.token, socketId: 'new' }));
    expect(resumed.outcome).toBe('reconnected');
    await sleep(2);
    const swept = await a.sweep();
    if (swept.outcome !== 'swept') throw new Error(swept.outcome);
    expect(swept.deletions.map((d) => d.clientId).sort()).toEqual(rest.map((c) => c.clientId).sort());
    expect(swept.deletions.every((d) => d.reason === 'reconnect-timeout' && d.previousOwner === null)).toBe(true);
    expect(await b.sweep()).toEqual({ outcome: 'swept', deletions: [], more: false });
    expect(await a.counts()).toMatchObject({ connected: 1, total: 1 });
  });

  it('should redeliver the unfinished deletions of a dead node to the reaper, with the same deletion id', async () => {
    const dead = await node('dead', fast);
    const a = await node('a', fast);
    const { clientId } = await connectedClient(dead);
    const deleted = await dead.delete({ clientId, reason: 'kicked' });
    if (deleted.outcome !== 'deleted') throw new Error(deleted.outcome);
    await silence('dead');
    const { redelivered } = await reapAll(a);
    expect(redelivered).toEqual([{ ...deleted.deletion, redelivered: true, attempts: 2 }]);
    expect(await a.pendingDeletions()).toEqual(redelivered);
    expect(await dead.completeDeletion(deleted.deletion.deletionId, clientId)).toBe('fenced');
    expect(await a.completeDeletion(deleted.deletion.deletionId, clientId)).toBe('completed');
    // redelivered once: the next reap has nothing for anyone
    expect(await reapAll(a)).toMatchObject({ redelivered: [] });
  });

  it('should fence a paused node that comes back: its writes are refused, it owns nothing, and it rejoins as a new incarnation', async () => {
    const paused = await node('p', fast);
    const a = await node('a', fast);
    const { clientId, token, fence } = await connectedClient(paused);
    const handshaking = registered(await paused.register());
    await silence('p');
    await reapAll(a);
    // the paused node wakes up and carries on as if nothing happened
    expect(await paused.heartbeat()).toEqual({ outcome: 'node-fenced' });
    expect(await paused.disconnect({ clientId, socketId: 'sock-1', fence })).toEqual({ outcome: 'node-fenced' });
    expect(await paused.claim({ clientId, token, socketId: 'sock-9' })).toEqual({ outcome: 'node-fenced' });
    expect(await paused.register()).toEqual({ outcome: 'node-fenced' });
    expect(await paused.delete({ clientId, reason: 'kicked' })).toEqual({ outcome: 'node-fenced' });
    expect(await paused.sweep()).toEqual({ outcome: 'node-fenced' });
    expect(await paused.owned([clientId, handshaking.clientId])).toEqual([]);
    expect(await a.get(clientId)).toMatchObject({ state: 'disconnected', node: null });
    const rejoined = await paused.join();
    expect(rejoined.incarnation).toBe(2);
    expect(rejoined.endedIncarnation).toBeNull();
    // as a new incarnation it takes the client back like any node would, at a higher fence
    const back = claimed(await paused.claim({ clientId, token, socketId: 'sock-9' }));
    expect(back.outcome).toBe('reconnected');
    expect(back.client).toMatchObject({ node: 'p', incarnation: 2 });
    expect(back.client.fence).toBeGreaterThan(fence);
    expect(await paused.owned([clientId, handshaking.clientId])).toEqual([
      { clientId, fence: back.client.fence, state: 'connected', socketId: 'sock-9' },
    ]);
    await consistent();
  });

  it('should refuse a node id whose live incarnation heartbeats, and never end it', async () => {
    const first = await node('web', fast);
    const { clientId } = await connectedClient(first);
    const duplicate = await store({ nodeId: 'web', ...fast });
    await expect(duplicate.join()).rejects.toMatchObject({
      name: 'SupervisorError',
      code: 'NODE_ID_IN_USE',
      message: expect.stringMatching(/nodeId "web" .*unique nodeId/),
    });
    expect(await first.heartbeat()).toMatchObject({ outcome: 'ok' });
    expect(await first.get(clientId)).toMatchObject({ state: 'connected', node: 'web', incarnation: 1 });
    // its own process rejoins (after a fencing or a reset) under the same id: its previous incarnation ends
    expect(await first.join()).toMatchObject({ incarnation: 2, endedIncarnation: 1 });
    await consistent();
  });

  it('should end the previous incarnation when a node id joins again after its heartbeat stopped (a crash), before anyone declared it dead', async () => {
    const first = await node('web', fast);
    const { clientId, fence } = await connectedClient(first);
    await silence('web');
    const restarted = await store({ nodeId: 'web', ...fast });
    expect(await restarted.join()).toMatchObject({ incarnation: 2, endedIncarnation: 1 });
    expect(await first.heartbeat()).toEqual({ outcome: 'node-fenced' });
    expect((await reapAll(restarted)).released).toBe(1);
    // the live incarnation's node hash never expires, nor do the partitions' copies of it
    expect(new Set(await nodeTtls('web'))).toEqual(new Set([-1]));
    const after = await restarted.get(clientId);
    expect(after).toMatchObject({ state: 'disconnected', node: null });
    expect(after!.fence).toBeGreaterThan(fence);
    await consistent();
  });

  it('should leave (rolling deploy): clients disconnected with a grace period and unowned, nothing deleted', async () => {
    const leaving = await node('l', { ...fast, reconnectTimeout: 5_000, batchSize: 2 });
    const a = await node('a', fast);
    const clients = await Promise.all(Array.from({ length: 5 }, (_, i) => connectedClient(leaving, `s${i}`)));
    const handshaking = registered(await leaving.register());
    const result = await leaving.leave();
    expect(result).toEqual({ outcome: 'left', released: 6 });
    for (const { clientId, fence } of clients) {
      const after = await a.get(clientId);
      expect(after).toMatchObject({ state: 'disconnected', node: null });
      expect(after!.expiresAt).toBe(after!.disconnectedAt! + 5_000);
      expect(after!.fence).toBeGreaterThan(fence);
    }
    expect(await a.get(handshaking.clientId)).toMatchObject({ state: 'handshaking', node: null });
    expect(await a.counts()).toMatchObject({ disconnected: 5, handshaking: 1, total: 6, nodes: 1 });
    expect(await a.pendingDeletions()).toEqual([]);
    expect(await leaving.heartbeat()).toEqual({ outcome: 'node-fenced' });
    expect(await leaving.leave()).toEqual({ outcome: 'left', released: 0 });
    // the node hash of an incarnation that left with its clients released expires (a day later),
    // in the membership and in every partition
    for (const ttl of await nodeTtls('l')) {
      expect(ttl).toBeGreaterThan(3_600_000);
      expect(ttl).toBeLessThanOrEqual(86_400_000);
    }
    expect(new Set(await nodeTtls('a'))).toEqual(new Set([-1]));
    expect(await leaving.claim({ clientId: clients[1]!.clientId, token: clients[1]!.token, socketId: 'x' })).toEqual({
      outcome: 'node-fenced',
    });
    const resumed = claimed(
      await a.claim({ clientId: clients[0]!.clientId, token: clients[0]!.token, socketId: 'elsewhere' }),
    );
    expect(resumed.outcome).toBe('reconnected');
    await consistent();
  });

  it('should hand a leaving node’s unfinished deletion to another node', async () => {
    const leaving = await node('l', fast);
    const a = await node('a', fast);
    const { clientId } = registered(await leaving.register());
    const deleted = await leaving.delete({ clientId, reason: 'kicked' });
    if (deleted.outcome !== 'deleted') throw new Error(deleted.outcome);
    await leaving.leave();
    const { redelivered, declaredDead } = await reapAll(a);
    expect(declaredDead).toEqual([]);
    expect(redelivered.map((d) => [d.deletionId, d.redelivered])).toEqual([[deleted.deletion.deletionId, true]]);
  });
});
