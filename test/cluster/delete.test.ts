import { describe, expect, it } from 'vitest';
import type { ClusterNotice } from '../../src/cluster/redis/subscriber.js';
import { connectedClient, registered } from './fixtures.js';
import { useRedis } from './helpers.js';

describe('delete (kick) and the deletion journal', () => {
  const { node, keysOf, adminOf, consistent } = useRedis();

  it('should delete from any state, leave a tombstone and journal the deletion for the deleting node', async () => {
    const a = await node('a', { tombstoneTtl: 60_000 });
    const b = await node('b');
    const { clientId, fence, client } = await connectedClient(a);
    const result = await b.delete({ clientId, reason: 'kicked' });
    if (result.outcome !== 'deleted') throw new Error(result.outcome);
    const { deletion } = result;
    expect(deletion).toMatchObject({
      clientId,
      reason: 'kicked',
      redelivered: false,
      attempts: 1,
      previousOwner: { node: 'a', incarnation: 1 },
      client,
    });
    expect(deletion.deletionId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(deletion.fence).toBeGreaterThan(fence);
    expect(await b.get(clientId)).toBeUndefined();
    const tombstone = keysOf(clientId).tombstone(clientId);
    expect(await (await adminOf(tombstone)).pTTL(tombstone)).toBeGreaterThan(0);
    expect(await b.pendingDeletions()).toEqual([deletion]);
    expect(await a.pendingDeletions()).toEqual([]);
    await consistent();
  });

  it('should delete handshaking and disconnected clients too', async () => {
    const a = await node('a');
    const { clientId: handshaking } = registered(await a.register());
    const { clientId: gone, fence } = await connectedClient(a);
    await a.disconnect({ clientId: gone, socketId: 'sock-1', fence });
    for (const clientId of [handshaking, gone])
      expect((await a.delete({ clientId, reason: 'manual' })).outcome).toBe('deleted');
    expect(await a.counts()).toMatchObject({ total: 0 });
  });

  it('should answer a repeated delete with the same deletion id as a replay, and another one as already-deleted', async () => {
    const a = await node('a');
    const { clientId } = registered(await a.register());
    const first = await a.delete({ clientId, reason: 'kicked', deletionId: 'DDDDDDDDDDDDDDDDDDDDDD' });
    if (first.outcome !== 'deleted') throw new Error(first.outcome);
    expect(await a.delete({ clientId, reason: 'kicked', deletionId: 'DDDDDDDDDDDDDDDDDDDDDD' })).toEqual({
      outcome: 'replay',
      deletion: first.deletion,
    });
    expect(await a.delete({ clientId, reason: 'kicked' })).toEqual({ outcome: 'already-deleted' });
    // the client's id too: with partitions, its partition holds the journal entry
    expect(await a.completeDeletion('DDDDDDDDDDDDDDDDDDDDDD', clientId)).toBe('completed');
    expect(await a.delete({ clientId, reason: 'kicked', deletionId: 'DDDDDDDDDDDDDDDDDDDDDD' })).toEqual({
      outcome: 'replay',
    });
  });

  it('should complete a deletion once, only on the node it is assigned to', async () => {
    const a = await node('a');
    const b = await node('b');
    const { clientId } = registered(await a.register());
    const result = await a.delete({ clientId, reason: 'kicked' });
    if (result.outcome !== 'deleted') throw new Error(result.outcome);
    const { deletionId } = result.deletion;
    expect(await b.completeDeletion(deletionId, clientId)).toBe('fenced');
    expect(await a.completeDeletion(deletionId, clientId)).toBe('completed');
    expect(await a.completeDeletion(deletionId, clientId)).toBe('gone');
    expect(await a.pendingDeletions()).toEqual([]);
  });

  it('should answer unknown-client for an id that never existed', async () => {
    const a = await node('a');
    expect(await a.delete({ clientId: 'AAAAAAAAAAAAAAAAAAAAAA', reason: 'kicked' })).toEqual({
      outcome: 'unknown-client',
    });
  });

  it('should tell the owner that another node deleted its client', async () => {
    const a = await node('a');
    const b = await node('b');
    let deliver: (notice: ClusterNotice) => void = () => {};
    const notice = new Promise<ClusterNotice>((resolve) => {
      deliver = resolve;
    });
    const stop = await a.subscribe((received) => deliver(received));
    const { clientId } = await connectedClient(a);
    const result = await b.delete({ clientId, reason: 'kicked' });
    if (result.outcome !== 'deleted') throw new Error(result.outcome);
    expect(await notice).toEqual({
      type: 'deleted',
      clientId,
      incarnation: 1,
      fence: result.deletion.fence,
      socketId: 'sock-1',
      reason: 'kicked',
    });
    await stop();
  });

  it('should forget the tombstone after tombstoneTtl (Redis expires it), so the id is unknown again', async () => {
    const a = await node('a', { tombstoneTtl: 1 });
    const { clientId, token } = registered(await a.register());
    await a.delete({ clientId, reason: 'kicked' });
    const tombstone = keysOf(clientId).tombstone(clientId);
    const admin = await adminOf(tombstone);
    while ((await admin.exists(tombstone)) === 1) await new Promise((r) => setTimeout(r, 2));
    expect(await a.claim({ clientId, token, socketId: 's' })).toEqual({ outcome: 'rejected', code: 'UNKNOWN_CLIENT' });
  });
});
