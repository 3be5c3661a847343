import { describe, expect, it } from 'vitest';
import type { RedisClusterStore } from '../../src/cluster/redis/RedisClusterStore.js';
import { connectedClient, registered } from './fixtures.js';
import { sleep, useRedis } from './helpers.js';

const quiet = { outageGap: 600_000 };

describe('the deadline sweep', () => {
  const { context, node, consistent, idsInPartition } = useRedis();

  /** The number of deletions each sweep answered, sweep after sweep until it says no more. */
  async function batchSizes(sweeper: RedisClusterStore): Promise<number[]> {
    const sizes: number[] = [];
    for (let i = 0; i < 100; i++) {
      const result = await sweeper.sweep();
      if (result.outcome !== 'swept') throw new Error(result.outcome);
      sizes.push(result.deletions.length);
      if (!result.more) return sizes;
    }
    throw new Error('the sweep did not end');
  }

  it('should delete a handshaking client past its handshake deadline with reason handshake-timeout', async () => {
    const a = await node('a', { ...quiet, handshakeTimeout: 0 });
    const { clientId, client } = registered(await a.register());
    await sleep(2);
    const result = await a.sweep();
    if (result.outcome !== 'swept') throw new Error(result.outcome);
    expect(result.deletions).toHaveLength(1);
    expect(result.deletions[0]).toMatchObject({ clientId, reason: 'handshake-timeout', client, redelivered: false });
    expect(result.more).toBe(false);
    expect(await a.pendingDeletions()).toEqual(result.deletions);
    await consistent();
  });

  it('should delete a disconnected client past its reconnect deadline with reason reconnect-timeout', async () => {
    const a = await node('a', { ...quiet, reconnectTimeout: 0 });
    const { clientId, fence } = await connectedClient(a);
    await a.disconnect({ clientId, socketId: 'sock-1', fence });
    await sleep(2);
    const result = await a.sweep();
    if (result.outcome !== 'swept') throw new Error(result.outcome);
    expect(result.deletions.map((d) => [d.clientId, d.reason])).toEqual([[clientId, 'reconnect-timeout']]);
  });

  it('should touch nothing that is not due, nor any connected client', async () => {
    const a = await node('a', { ...quiet, handshakeTimeout: 3_600_000, reconnectTimeout: 3_600_000 });
    registered(await a.register());
    const { clientId, fence } = await connectedClient(a);
    await connectedClient(a, 'sock-2');
    await a.disconnect({ clientId, socketId: 'sock-1', fence });
    const result = await a.sweep();
    expect(result).toEqual({ outcome: 'swept', deletions: [], more: false });
    expect(await a.counts()).toMatchObject({ handshaking: 1, connected: 1, disconnected: 1 });
  });

  it('should not delete a client that reconnected before its deadline was swept', async () => {
    const a = await node('a', { ...quiet, reconnectTimeout: 0 });
    const { clientId, token, fence } = await connectedClient(a);
    await a.disconnect({ clientId, socketId: 'sock-1', fence });
    await sleep(2);
    await a.claim({ clientId, token, socketId: 'sock-2' });
    expect(await a.sweep()).toEqual({ outcome: 'swept', deletions: [], more: false });
  });

  it('should work in batches of batchSize, reporting more until done', async () => {
    const a = await node('a', { ...quiet, handshakeTimeout: 0, batchSize: 4 });
    // batchSize bounds each partition's batch: all ten in one partition
    for (const clientId of idsInPartition(10)) registered(await a.register({ clientId }));
    await sleep(2);
    const sizes = await batchSizes(a);
    expect(sizes).toEqual([4, 4, 2]);
  });

  it('should sweep a batch of batchSize in each partition at once, and go on only where one left more', async () => {
    const a = await node('a', { ...quiet, handshakeTimeout: 0, batchSize: 4 });
    const last = context.partitions - 1;
    // ten in the first partition, three in the last (with one partition: thirteen in it)
    for (const clientId of [...idsInPartition(10), ...idsInPartition(3, last)])
      registered(await a.register({ clientId }));
    await sleep(2);
    const sizes = await batchSizes(a);
    expect(sizes).toEqual(context.partitions === 1 ? [4, 4, 4, 1] : [4 + 3, 4, 2]);
    expect(await a.counts()).toMatchObject({ total: 0 });
    await consistent();
  });

  it('should derive distinct deletion ids, so completing one does not complete another', async () => {
    const a = await node('a', { ...quiet, handshakeTimeout: 0 });
    for (let i = 0; i < 5; i++) registered(await a.register());
    await sleep(2);
    const result = await a.sweep();
    if (result.outcome !== 'swept') throw new Error(result.outcome);
    const ids = result.deletions.map((d) => d.deletionId);
    expect(new Set(ids).size).toBe(5);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{22}$/);
    const [first] = result.deletions;
    expect(await a.completeDeletion(first!.deletionId, first!.clientId)).toBe('completed');
    expect(await a.pendingDeletions()).toHaveLength(4);
  });
});
