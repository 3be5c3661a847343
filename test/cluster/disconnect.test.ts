import { describe, expect, it } from 'vitest';
import { claimed, connectedClient, registered } from './fixtures.js';
import { useRedis } from './helpers.js';

describe('disconnect (the disconnect column)', () => {
  const { node, keysOf, adminOf, consistent } = useRedis();

  it('should disconnect the current socket, arming a reconnect deadline and bumping the generation', async () => {
    const a = await node('a', { reconnectTimeout: 3_000 });
    const { clientId, fence, client } = await connectedClient(a);
    const result = await a.disconnect({ clientId, socketId: 'sock-1', fence });
    if (result.outcome !== 'disconnected') throw new Error(result.outcome);
    expect(result.previous).toEqual(client);
    expect(result.client).toMatchObject({ state: 'disconnected', socketId: null, node: 'a', fence });
    expect(result.client.expiresAt).toBe(result.client.disconnectedAt! + 3_000);
    expect(result.client.generation).toBe(client.generation + 1);
    const deadlines = keysOf(clientId).deadlines;
    expect(await (await adminOf(deadlines)).zScore(deadlines, clientId)).toBe(result.client.expiresAt);
    await consistent();
  });

  it('should answer a repeated disconnect of the same socket with replay and change nothing', async () => {
    const a = await node('a');
    const { clientId, fence } = await connectedClient(a);
    const first = await a.disconnect({ clientId, socketId: 'sock-1', fence });
    if (first.outcome !== 'disconnected') throw new Error(first.outcome);
    const again = await a.disconnect({ clientId, socketId: 'sock-1', fence });
    expect(again).toEqual({ outcome: 'replay', client: first.client });
  });

  it('should still recognise a replay after the client reconnected with another socket', async () => {
    const a = await node('a');
    const { clientId, token, fence } = await connectedClient(a);
    await a.disconnect({ clientId, socketId: 'sock-1', fence });
    const back = claimed(await a.claim({ clientId, token, socketId: 'sock-2' }));
    const late = await a.disconnect({ clientId, socketId: 'sock-1', fence });
    expect(late).toEqual({ outcome: 'replay', client: back.client });
  });

  it('should ignore the disconnect of a replaced socket as stale', async () => {
    const a = await node('a');
    const { clientId, token, fence } = await connectedClient(a);
    const swap = claimed(await a.claim({ clientId, token, socketId: 'sock-2' }));
    expect(await a.disconnect({ clientId, socketId: 'sock-1', fence })).toEqual({
      outcome: 'stale-socket',
      client: swap.client,
    });
  });

  it('should ignore a disconnect while handshaking as not connected', async () => {
    const a = await node('a');
    const { clientId, client } = registered(await a.register());
    expect(await a.disconnect({ clientId, socketId: 'sock-1', fence: client.fence })).toEqual({
      outcome: 'not-connected',
      client,
    });
  });

  it('should refuse a disconnect at an old fence or from a node that no longer owns the client', async () => {
    const a = await node('a');
    const b = await node('b');
    const { clientId, token, fence } = await connectedClient(a);
    expect((await a.disconnect({ clientId, socketId: 'sock-1', fence: fence - 1 })).outcome).toBe('fenced');
    // b takes the client over with the same socket id (as a replayed socket would): a is fenced
    const moved = claimed(await b.claim({ clientId, token, socketId: 'sock-1' }));
    expect(moved.outcome).toBe('swapped');
    expect((await a.disconnect({ clientId, socketId: 'sock-1', fence })).outcome).toBe('fenced');
    expect((await a.disconnect({ clientId, socketId: 'sock-1', fence: null })).outcome).toBe('fenced');
    expect(await a.get(clientId)).toEqual(moved.client);
  });

  it('should release a socket without a fence (a claim whose reply was lost) only on its owner', async () => {
    const a = await node('a');
    const { clientId } = await connectedClient(a);
    const result = await a.disconnect({ clientId, socketId: 'sock-1', fence: null });
    expect(result.outcome).toBe('disconnected');
  });

  it('should answer already-deleted and unknown-client', async () => {
    const a = await node('a');
    const { clientId, fence } = await connectedClient(a);
    await a.delete({ clientId, reason: 'kicked' });
    expect(await a.disconnect({ clientId, socketId: 'sock-1', fence })).toEqual({ outcome: 'already-deleted' });
    expect(await a.disconnect({ clientId: 'AAAAAAAAAAAAAAAAAAAAAA', socketId: 's', fence })).toEqual({
      outcome: 'unknown-client',
    });
  });
});
