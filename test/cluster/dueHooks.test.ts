import { describe, expect, it } from 'vitest';
import type { ClusterNotice } from '../../src/cluster/redis/subscriber.js';
import { claimed, connectedClient } from './fixtures.js';
import { useRedis } from './helpers.js';

// The onConnect due mark (DESIGN.md "Turn 3": a hook that is due is recorded in Redis with the
// transition that makes it due, and cleared when an owner has run it), script by script on a real
// redis-server, and (the `redis-cluster` project) on a 3-master Redis Cluster with 16 partitions,
// where the marks a node clears go in one call per master.

describe('the onConnect due mark (hookDue)', () => {
  const { node, keysOf, adminOf, consistent } = useRedis();
  const due = async (clientId: string) => {
    const record = keysOf(clientId).client(clientId);
    return (await adminOf(record)).hGet(record, 'hookDue');
  };
  const eventually = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 100 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  it('should be written by a connect and a reconnect, kept by a swap, and cleared only for its own socket', async () => {
    const a = await node('a');
    const { clientId, token, fence } = await connectedClient(a, 'sock-1');
    expect(await due(clientId)).toBe('sock-1 0');
    // a swap on the same node runs no hook: the mark stays the connect's
    claimed(await a.claim({ clientId, token, socketId: 'sock-2' }));
    expect(await due(clientId)).toBe('sock-1 0');
    a.connectHookRan(clientId, 'sock-2');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await due(clientId)).toBe('sock-1 0');
    a.connectHookRan(clientId, 'sock-1');
    await eventually(async () => (await due(clientId)) === null);
    expect(await due(clientId)).toBeNull();
    // a reconnect makes onConnect due again, with reconnect true
    await a.disconnect({ clientId, socketId: 'sock-2', fence: fence });
    claimed(await a.claim({ clientId, token, socketId: 'sock-3' }));
    expect(await due(clientId)).toBe('sock-3 1');
    await consistent();
  });

  it("should hand a lost claim's onConnect to the client's new owner when that claim's socket is released", async () => {
    const a = await node('a');
    const b = await node('b');
    const notices: ClusterNotice[] = [];
    const stop = await b.subscribe((notice) => notices.push(notice));
    // a's claim ran, but a never saw its reply (it refused the socket); the page retried on b
    const { clientId, token } = await connectedClient(a, 'sock-a');
    const swap = claimed(await b.claim({ clientId, token, socketId: 'sock-b' }));
    // a is alive: it may still run it, so b is not handed it with the claim
    expect({ outcome: swap.outcome, due: swap.due }).toEqual({ outcome: 'swapped', due: null });
    // a releases its unanswered claim's socket: Redis tells b to run the onConnect of sock-a
    const released = await a.disconnect({ clientId, socketId: 'sock-a', fence: null });
    expect(released.outcome).toBe('stale-socket');
    await eventually(async () => notices.some((n) => n.type === 'hook-due'));
    expect(notices.filter((n) => n.type === 'hook-due')).toEqual([
      { type: 'hook-due', clientId, incarnation: 1, fence: swap.client.fence, socketId: 'sock-a', reconnect: false },
    ]);
    // a disconnect with a fence (the owner's own) never hands anything over
    await a.disconnect({ clientId, socketId: 'sock-a', fence: swap.client.fence });
    expect(notices.filter((n) => n.type === 'hook-due')).toHaveLength(1);
    await stop();
  });

  it('should drop the mark with a released claim that still holds the client (the connect is undone)', async () => {
    const a = await node('a');
    const { clientId } = await connectedClient(a, 'sock-a');
    const released = await a.disconnect({ clientId, socketId: 'sock-a', fence: null });
    expect(released.outcome).toBe('disconnected');
    expect(await due(clientId)).toBeNull();
  });

  it('should hand a mark left by an owner that is no longer alive to the node that swaps the client', async () => {
    const a = await node('a');
    const b = await node('b');
    const { clientId, token } = await connectedClient(a, 'sock-a');
    // a is declared dead before its clients are released (the claim sees it first: with
    // partitions, the copy of a in the client's partition)
    const copy = keysOf(clientId).node('a');
    await (await adminOf(copy)).hSet(copy, 'state', 'dead');
    const swap = claimed(await b.claim({ clientId, token, socketId: 'sock-b' }));
    expect({ outcome: swap.outcome, due: swap.due }).toEqual({
      outcome: 'swapped',
      due: { socketId: 'sock-a', reconnect: false },
    });
    b.connectHookRan(clientId, 'sock-a');
    await eventually(async () => (await due(clientId)) === null);
    expect(await due(clientId)).toBeNull();
  });
});
