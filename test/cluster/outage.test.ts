import { describe, expect, it } from 'vitest';
import { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import { hashToken } from '../../src/core/ids.js';
import { claimed, connectedClient, registered } from './fixtures.js';
import { expectConsistent, sleep, useRedis, whenAvailable } from './helpers.js';
import { freePort } from './redisServer.js';

describe('Redis unreachable, restarted or emptied', () => {
  // appendfsync always: a SIGKILL loses nothing Redis acknowledged
  const { context, node } = useRedis({ appendonly: true, appendfsync: 'always' });
  const options = { commandTimeout: 150, nodeTtl: 100, heartbeatInterval: 20, outageGap: 100 };

  it('should fail to connect with UNAVAILABLE when nothing listens', async () => {
    const port = await freePort();
    await expect(
      RedisClusterStore.connect({ redis: `redis://127.0.0.1:${port}`, commandTimeout: 200 }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('should reject calls UNAVAILABLE while Redis is paused, then release the socket of a claim that ran late', async () => {
    const a = await node('a', options);
    const { clientId, token } = registered(await a.register());
    context.server.pause();
    try {
      await expect(a.claim({ clientId, token, socketId: 'sock-1' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await expect(a.get(clientId)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(a.unansweredClaims).toBe(1);
    } finally {
      context.server.resume();
    }
    // the claim sat in Redis's socket buffer and ran on resume; nobody accepted that socket
    expect(await a.get(clientId)).toMatchObject({ state: 'connected', socketId: 'sock-1' });
    expect(await a.heartbeat()).toMatchObject({ outcome: 'ok' });
    expect(a.unansweredClaims).toBe(0);
    expect(await a.get(clientId)).toMatchObject({ state: 'disconnected', socketId: null, node: 'a' });
    await expectConsistent(context.admin, context.prefix);
  });

  it('should neither reap nor delete across an outage, and give overdue deadlines a fresh grace period after it', async () => {
    // no command is in flight across the pause, so commandTimeout plays no part here: a long one
    // keeps the first heartbeat after SIGCONT from timing out on a loaded machine (a heartbeat that
    // timed out but ran would have used up the outage this test looks for)
    const timeouts = { handshakeTimeout: 50, reconnectTimeout: 50, commandTimeout: 2_000 };
    const a = await node('a', { ...options, ...timeouts });
    const b = await node('b', { ...options, ...timeouts });
    const handshaking = registered(await a.register());
    const gone = await connectedClient(b);
    const disconnected = await b.disconnect({ clientId: gone.clientId, socketId: 'sock-1', fence: gone.fence });
    if (disconnected.outcome !== 'disconnected') throw new Error(disconnected.outcome);
    context.server.pause();
    await sleep(300); // past every deadline, nodeTtl and outageGap
    context.server.resume();

    // the first tick after the outage finds the gap: b keeps its place, nothing is swept
    const beat = await a.heartbeat();
    if (beat.outcome !== 'ok') throw new Error(beat.outcome);
    expect(beat.outage).toBe(true);
    const reaped = await a.reap();
    expect(reaped).toMatchObject({ outcome: 'reaped', declaredDead: [], released: 0 });
    const grace = await a.sweep();
    expect(grace).toEqual({ outcome: 'grace', pushed: 2, more: false });
    const h = await a.get(handshaking.clientId);
    const d = await a.get(gone.clientId);
    expect(h).toMatchObject({ state: 'handshaking' });
    expect(h!.expiresAt).toBeGreaterThanOrEqual(beat.at + 50);
    expect(d).toMatchObject({ state: 'disconnected', generation: disconnected.client.generation + 1 });
    expect(d!.expiresAt).toBeGreaterThanOrEqual(beat.at + 50);
    expect((await a.nodes()).map((n) => n.node).sort()).toEqual(['a', 'b']);
    await expectConsistent(context.admin, context.prefix);
  });

  it('should reject calls UNAVAILABLE while Redis is down, and keep every fence across a restart from its AOF', async () => {
    const a = await node('a', options);
    const b = await node('b', options);
    const { clientId, token, fence } = await connectedClient(a);
    const before = await a.get(clientId);
    await context.server.stop('SIGKILL');
    await expect(b.claim({ clientId, token, socketId: 'sock-2' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await context.server.restart();
    const beat = await whenAvailable(() => a.heartbeat());
    expect(beat).toMatchObject({ outcome: 'ok' });
    expect(await a.get(clientId)).toEqual(before);
    // the scripts were lost with the restart: EVALSHA's NOSCRIPT falls back to EVAL
    const sent = b.roundTrips;
    await whenAvailable(() => b.heartbeat());
    const swap = claimed(await b.claim({ clientId, token, socketId: 'sock-2' }));
    expect(swap.outcome).toBe('swapped');
    expect(swap.client.fence).toBeGreaterThan(fence);
    expect(b.roundTrips - sent).toBeGreaterThanOrEqual(2);
    await expectConsistent(context.admin, context.prefix);
  });

  it('should not resend a command whose connection dropped before its reply (node-redis, not ioredis)', async () => {
    const a = await node('a', { ...options, commandTimeout: 2_000 });
    const { clientId, token, client } = registered(await a.register());
    // hold writes in Redis, send the claim, drop every client connection, then let writes go
    await context.admin.sendCommand(['CLIENT', 'PAUSE', '5000', 'WRITE']);
    const claim = a.claim({ clientId, token, socketId: 'sock-1' }).then(
      (result) => result,
      (error: unknown) => error,
    );
    await sleep(50);
    await context.admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']);
    await context.admin.sendCommand(['CLIENT', 'UNPAUSE']);
    const error = await claim;
    expect(error).toMatchObject({ code: 'UNAVAILABLE' });
    // it was written and waiting for its reply when the connection dropped
    expect(String((error as Error).message)).toContain('may still have run');
    await whenAvailable(() => a.heartbeat());
    // the claim died with its connection and was never sent again
    expect(await a.get(clientId)).toEqual(client);
  });

  it('should let nodes rewrite the clients they hold after Redis lost its data; fences keep rising', async () => {
    const a = await node<{ user: number }>('a', options);
    const b = await node<{ user: number }>('b', options);
    const held = await connectedClient(a);
    const heldByB = await connectedClient(b);
    const orphan = await connectedClient(b, 'sock-3');
    const recordA = (await a.get(held.clientId))!;
    const recordB = (await b.get(heldByB.clientId))!;
    await context.admin.flushAll();

    for (const n of [a, b]) {
      expect(await n.heartbeat()).toEqual({ outcome: 'reset' });
      await n.join();
    }
    expect(await a.restore([{ ...recordA, tokenHash: hashToken(held.token) }])).toEqual(['restored']);
    expect(await b.restore([{ ...recordB, tokenHash: hashToken(heldByB.token) }])).toEqual(['restored']);
    // a stale view of the same client (a lower fence) does not overwrite it
    expect(await a.restore([{ ...recordB, fence: recordB.fence - 1, tokenHash: hashToken(heldByB.token) }])).toEqual([
      'kept',
    ]);
    expect(await a.get(held.clientId)).toEqual({ ...recordA, incarnation: a.incarnation });
    expect(await a.heartbeat()).toMatchObject({ outcome: 'ok' });
    // a restored client resumes anywhere, at a higher fence than any before the loss
    const moved = claimed(await b.claim({ clientId: held.clientId, token: held.token, socketId: 'sock-9' }));
    expect(moved.outcome).toBe('swapped');
    expect(moved.client.fence).toBeGreaterThan(recordA.fence);
    // what was held by no live node is lost: documented
    expect(await a.claim({ clientId: orphan.clientId, token: orphan.token, socketId: 's' })).toEqual({
      outcome: 'rejected',
      code: 'UNKNOWN_CLIENT',
    });
    await expectConsistent(context.admin, context.prefix);
  });
});
